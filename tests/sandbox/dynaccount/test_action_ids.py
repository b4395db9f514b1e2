"""Actions read ids by the naming rule: ``invoice_id`` is the invoice's ROW id (a trailing ``_`` would be its
number). The reported bug: given row id 2001, ``send_debtor_invoice`` e-mailed invoice NUMBER 2001 of another
debtor and answered success. An unknown id is a 404, a draft a 400 — never another document."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sandbox_dynaccount_kit import inprocess_client, seeded

from dsobridge.dynaccount import DynaccountClient, NotFound, ValidationError
from dsobridge.sandbox.dynaccount import DynaccountSandbox


@pytest.fixture(scope="module")
def big() -> Iterator[DynaccountSandbox]:
    """Enough invoices that row ids and invoice numbers overlap (ids 1…1203, numbers 1001…)."""
    with seeded(debtors=20, invoices=1200, seed=3) as sandbox:
        yield sandbox


@pytest.fixture
def big_client(big: DynaccountSandbox) -> Iterator[DynaccountClient]:
    with inprocess_client(big) as client:
        yield client


def _confusable(client: DynaccountClient) -> tuple[dict, dict]:
    """(the invoice with row id R, the invoice with NUMBER R) — of two different debtors."""
    for row_id in range(1100, 1200):
        by_row = client.get("debtor_invoice", row_id)[0]
        by_number = client.get("debtor_invoice", where={"invoice_id_": row_id})
        if by_number and by_number[0]["module_id_"] != by_row["module_id_"] and by_row["is_booked"] == "YES":
            return by_row, by_number[0]
    raise AssertionError("no confusable pair in the seeded company")


def test_send_debtor_invoice_sends_the_row_it_names(
    big_client: DynaccountClient, big: DynaccountSandbox
) -> None:
    by_row, by_number = _confusable(big_client)
    sent = big_client.action("send_debtor_invoice", {"invoice_id": by_row["id"], "email": "kunde@firma.dk"})[
        0
    ]
    assert (sent["invoice_id"], sent["invoice_id_"]) == (by_row["id"], by_row["invoice_id_"])
    with big.store.lock:
        outbox = big.store.conn.execute("SELECT invoice_id_ FROM _outbox").fetchall()
    assert outbox == [(by_row["invoice_id_"],)] and by_row["invoice_id_"] != by_number["invoice_id_"]


def test_credit_debtor_invoice_credits_the_row_it_names(big_client: DynaccountClient) -> None:
    by_row, _ = _confusable(big_client)
    note = big_client.action("credit_debtor_invoice", {"invoice_id": by_row["id"], "amount": "1.00"})[0]
    assert (note["credit_invoice_id_"], note["module_id_"]) == (by_row["invoice_id_"], by_row["module_id_"])


@pytest.mark.parametrize("action", ["send_debtor_invoice", "credit_debtor_invoice"])
def test_unknown_and_draft_invoices_are_refused(big_client: DynaccountClient, action: str) -> None:
    with pytest.raises(NotFound) as missing:
        big_client.action(action, {"invoice_id": 999999, "email": "a@b.dk"})
    assert "999999" in str(missing.value.error)
    draft = big_client.get("debtor_invoice", where={"is_booked": False}, select=["id"], limit=(0, 1))[0]
    with pytest.raises(ValidationError) as err:
        big_client.action(action, {"invoice_id": draft["id"], "email": "a@b.dk"})
    assert err.value.errors == {"invoice_id": f"Invoice {draft['id']} is a draft: book it first"}


def test_follow_ups_and_opportunities_by_row_id(client: DynaccountClient, sb: DynaccountSandbox) -> None:
    followup = client.get("followup", limit=(0, 1))[0]
    done = client.action("complete_followup", {"id": followup["id"]})[0]
    assert done["is_finished"] == "YES"
    card = client.get("contact", followup["contact_id"], select=["time_last_followup", "time_next_followup"])[
        0
    ]
    assert card == {"time_last_followup": followup["time"], "time_next_followup": ""}
    assert client.action("incomplete_followup", {"id": followup["id"]})[0]["is_finished"] == "NO"
    opportunity = client.get("opportunity", limit=(0, 1))[0]
    won = client.action("set_opportunity_status", {"id": opportunity["id"], "status": "WON"})[0]
    assert (won["status"], won["is_ended_time"]) == ("WON", sb.today.isoformat())
    for action, params in (
        ("complete_followup", {"id": 999999}),
        ("set_opportunity_status", {"id": 999999, "status": "LOST"}),
    ):
        with pytest.raises(NotFound):
            client.action(action, params)
    with pytest.raises(ValidationError):
        client.action("set_opportunity_status", {"id": opportunity["id"], "status": "MAYBE"})


def test_book_debtor_invoice_takes_the_row_id(client: DynaccountClient) -> None:
    draft = client.put("debtor_invoice", 0, {"module_id_": 10001, "time": dt.date(2026, 11, 19)})
    client.put("debtor_invoice_product", 0, {"invoice_id": draft["id"], "product_id_": 101})
    booked = client.action("book_debtor_invoice", {"id": draft["id"]})[0]
    assert (booked["id"], booked["is_booked"]) == (draft["id"], "YES")
    with pytest.raises(NotFound):
        client.action("book_debtor_invoice", {"id": 999999})
