"""The source-wipe backstop: facts about what Dynaccount returned, per currency, never open amounts."""

from __future__ import annotations

from decimal import Decimal

from dsobridge.sync.guards import drop_share, wipe_signs

MAX = Decimal("0.30")


def test_drop_share():
    assert drop_share(100, 60) == Decimal("0.4")
    assert drop_share(100, 120) == 0 and drop_share(0, 5) == 0


def test_debtors_falling_in_one_currency_is_a_wipe_sign_and_the_message_states_facts():
    before = {"debtors": {"DKK": 4310, "EUR": 12}, "newest": {"debtor_invoice": 90211}}
    now = {"debtors": {"DKK": 3, "EUR": 12}, "newest": {"debtor_invoice": 90214}}
    (problem,) = wipe_signs(before, now, MAX)
    assert problem == (
        "Dynaccount returned 3 DKK debtor(s), 4310 at the last run (−100%, more than [sync] max_drop 30%)"
    )


def test_ordinary_changes_are_not_wipe_signs():
    before = {"debtors": {"DKK": 100, "EUR": 3}, "newest": {"debtor_invoice": 500}}
    assert (
        wipe_signs(before, {"debtors": {"DKK": 71, "EUR": 3}, "newest": {"debtor_invoice": 500}}, MAX) == []
    )
    # a currency with few debtors is not compared: one deleted EUR debtor of three is −33 %
    assert wipe_signs(before, {"debtors": {"DKK": 100, "EUR": 2}}, MAX) == []
    assert wipe_signs({}, {"debtors": {"DKK": 1}}, MAX) == []


def test_a_document_number_going_down_is_a_wipe_sign():
    before = {"debtors": {}, "newest": {"debtor_invoice": 500, "debtor_creditnote": 40}}
    now = {"debtors": {}, "newest": {"debtor_invoice": 12, "debtor_creditnote": 40}}
    assert wipe_signs(before, now, MAX) == [
        "the newest booked debtor_invoice number went down from 500 to 12"
    ]
