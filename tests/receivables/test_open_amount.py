"""The as-of open amount rule, case by case."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from dsobridge.receivables import Event, Item, balance, balances_by_currency, cleared_on, days_late, is_open
from dsobridge.receivables import open_amount as oa

D = Decimal


def item(*events, paid=None, amount="1000.00", currency="DKK", item_type="FAC"):
    return Item(
        key="k",
        client_code="C",
        item_type=item_type,
        issue_date=date(2026, 1, 10),
        due_date=date(2026, 2, 9),
        currency=currency,
        amount_initial=D(amount),
        payment_date=paid,
        events=tuple(events),
    )


def test_zero_before_issue_date():
    assert oa(item(Event(date(2026, 1, 12), D("1000.00"), kind="created")), date(2026, 1, 9)) == 0


def test_before_first_event_uses_first_event_amount():
    it = item(Event(date(2026, 1, 20), D("800.00"), kind="created"))
    assert oa(it, date(2026, 1, 15)) == D("800.00")


def test_latest_non_clearing_event_wins():
    it = item(
        Event(date(2026, 1, 10), D("1000.00"), kind="created"),
        Event(date(2026, 1, 25), D("400.00")),
        Event(date(2026, 2, 5), D("150.00")),
    )
    assert [oa(it, date(2026, 1, d)) for d in (10, 24, 25, 31)] == [
        D("1000.00"),
        D("1000.00"),
        D("400.00"),
        D("400.00"),
    ]
    assert oa(it, date(2026, 2, 5)) == D("150.00")


def test_events_are_sorted_on_construction():
    late, early = Event(date(2026, 2, 5), D("150.00")), Event(date(2026, 1, 10), D("1000.00"), kind="created")
    assert item(late, early).events == (early, late)


def test_cleared_from_payment_date_even_when_learnt_later():
    # DELTA import on 2026-03-01 says it was paid on 2026-02-20.
    it = item(
        Event(date(2026, 1, 10), D("1000.00"), kind="created"),
        Event(date(2026, 3, 1), D("0.00"), payment_date=date(2026, 2, 20), kind="cleared"),
        paid=date(2026, 2, 20),
    )
    assert oa(it, date(2026, 2, 19)) == D("1000.00")
    assert oa(it, date(2026, 2, 20)) == 0
    assert cleared_on(it, date(2026, 2, 19)) is None
    assert cleared_on(it, date(2026, 2, 20)) == date(2026, 2, 20)
    assert days_late(it, date(2026, 5, 1)) == 11
    assert days_late(it, date(2026, 2, 15)) == 6


def test_history_item_is_open_for_initial_amount_before_its_payment():
    it = item(
        Event(date(2026, 6, 1), D("0.00"), payment_date=date(2026, 3, 1), kind="created"),
        paid=date(2026, 3, 1),
    )
    assert oa(it, date(2026, 2, 28)) == D("1000.00")
    assert oa(it, date(2026, 3, 1)) == 0
    assert oa(it, date(2026, 7, 1)) == 0
    assert is_open(it, date(2026, 2, 28)) is True
    assert is_open(it, date(2026, 3, 1)) is False


def test_reopened_item_was_cleared_in_between():
    it = item(
        Event(date(2026, 1, 10), D("1000.00"), kind="created"),
        Event(date(2026, 2, 1), D("0.00"), payment_date=date(2026, 2, 1), kind="cleared"),
        Event(date(2026, 2, 15), D("300.00"), kind="reopened"),
    )
    assert [oa(it, date(2026, 1, 31)), oa(it, date(2026, 2, 1)), oa(it, date(2026, 2, 14))] == [
        D("1000.00"),
        0,
        0,
    ]
    assert oa(it, date(2026, 2, 15)) == D("300.00")
    assert cleared_on(it, date(2026, 2, 10)) == date(2026, 2, 1)
    assert cleared_on(it, date(2026, 2, 15)) is None


def test_item_without_events_is_open_for_its_initial_amount():
    it = item(paid=date(2026, 3, 1), amount="-250.00", item_type="AVO")
    assert oa(it, date(2026, 1, 10)) == D("-250.00")
    assert oa(it, date(2026, 3, 1)) == 0


def test_balances_leave_memo_items_out_and_keep_currencies_apart():
    items = [
        item(amount="100.00"),
        item(amount="-30.00", item_type="AVO"),
        item(amount="999.00", item_type="DPA"),
        item(amount="50.00", currency="EUR"),
    ]
    as_of = date(2026, 1, 31)
    assert balance(items, as_of, "DKK") == D("70.00")
    assert balance(items, as_of) == D("120.00")
    assert balances_by_currency(items, as_of) == {"DKK": D("70.00"), "EUR": D("50.00")}
