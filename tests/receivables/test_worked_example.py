"""The worked example of shared/spec/receivables.md, exactly — from plain numbers and from items."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from dsobridge.receivables import (
    Event,
    Item,
    SalesPeriod,
    aging,
    bucket_for,
    cei,
    cei_between,
    countback_dso,
    dso,
    standard_dso,
)

D = Decimal
JUNE = SalesPeriod(date(2025, 6, 1), date(2025, 6, 30), D(500000))
MAY = SalesPeriod(date(2025, 5, 1), date(2025, 5, 31), D(350000))
APRIL = SalesPeriod(date(2025, 4, 1), date(2025, 4, 30), D(400000))
AS_OF = date(2025, 6, 30)


def test_standard_dso_quarter():
    assert standard_dso(D(700000), D(1250000), 91) == D("50.96")


def test_countback_dso():
    result = countback_dso(D(700000), [JUNE, MAY, APRIL])
    assert result.days == D("47.71")
    assert result.lower_bound is False
    assert result.periods_used == 2


def test_best_possible_dso_both_methods():
    assert standard_dso(D(520000), D(1250000), 91) == D("37.86")
    assert countback_dso(D(520000), [JUNE, MAY, APRIL]).days == D("31.77")


def test_add_countback():
    assert countback_dso(D(700000), [JUNE, MAY]).days - countback_dso(D(520000), [JUNE, MAY]).days == D(
        "15.94"
    )


def test_cei_quarter():
    assert cei(D(600000), D(1250000), D(700000), D(520000)) == D("86.5")


def test_six_aging_dates():
    expected = {
        date(2025, 7, 15): "not_due",
        date(2025, 6, 30): "not_due",
        date(2025, 6, 20): "1_30",
        date(2025, 5, 10): "31_60",
        date(2025, 4, 15): "61_90",
        date(2025, 2, 28): "over_90",
    }
    assert {due: bucket_for((AS_OF - due).days) for due in expected} == expected


def _fac(key, issue, due, amount, *events, paid=None):
    return Item(
        key=key,
        client_code="C1" if key < "C" else "C2",
        item_type="FAC",
        issue_date=issue,
        due_date=due,
        currency="DKK",
        amount_initial=D(amount),
        group="NORTH" if key < "C" else "SOUTH",
        payment_date=paid,
        events=(Event(issue, D(amount), kind="created"), *events),
    )


# A ledger built so that every figure of the example falls out of items and events:
# AR 31 March 600,000; sales April 400,000, May 350,000, June 500,000; AR 30 June 700,000 of which
# 520,000 not yet due; one open item per due date of the aging example.
ITEMS = [
    _fac("A1", date(2025, 1, 29), date(2025, 2, 28), "30000"),
    _fac("A2", date(2025, 3, 16), date(2025, 4, 15), "570000", Event(date(2025, 4, 20), D("40000"))),
    _fac("B", date(2025, 4, 10), date(2025, 5, 10), "400000", Event(date(2025, 5, 25), D("50000"))),
    _fac("C1", date(2025, 5, 21), date(2025, 6, 20), "330000", Event(date(2025, 6, 25), D("60000"))),
    _fac("C2", date(2025, 5, 15), date(2025, 7, 15), "20000"),
    _fac("D1", date(2025, 6, 10), date(2025, 7, 10), "480000"),
    _fac("D2", date(2025, 6, 1), date(2025, 6, 30), "20000"),
]


def test_example_from_items_aging():
    result = aging(ITEMS, AS_OF, "DKK")
    assert result.buckets == {
        "not_due": D("520000.00"),
        "1_30": D("60000.00"),
        "31_60": D("50000.00"),
        "61_90": D("40000.00"),
        "over_90": D("30000.00"),
    }
    assert result.total == D("700000.00")
    assert result.overdue_pct == D("25.7")
    assert result.items == 7
    assert aging(ITEMS, date(2025, 3, 31), "DKK").total == D("600000.00")


def test_example_from_items_dso():
    figures = dso(ITEMS, AS_OF, "DKK")
    assert figures.receivables == D("700000.00")
    assert figures.current_receivables == D("520000.00")
    assert figures.standard == D("50.96")
    assert figures.standard_days == 91
    assert figures.standard_sales == D("1250000.00")
    assert figures.countback.days == D("47.71")
    assert figures.countback.lower_bound is False
    assert figures.best_standard == D("37.86")
    assert figures.best_countback.days == D("31.77")
    assert figures.add_countback == D("15.94")
    assert figures.add_standard == D("13.10")


def test_example_from_items_cei():
    period = cei_between(ITEMS, date(2025, 3, 31), AS_OF, "DKK")
    assert (period.beginning_ar, period.sales, period.ending_ar, period.ending_current_ar) == (
        D("600000"),
        D("1250000"),
        D("700000"),
        D("520000"),
    )
    assert period.cei == D("86.5")
