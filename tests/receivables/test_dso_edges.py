"""DSO at its edges: receivables and sales of 0, of less than one unit and of exactly one period; the scope
and the options of ``dso`` and ``dso_history`` (each one must change the figures it is meant to change)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dsobridge.receivables import (
    Countback,
    Item,
    SalesLedger,
    SalesPeriod,
    countback_dso,
    dso,
    dso_history,
    standard_dso,
)

D = Decimal
MARCH = SalesPeriod(date(2026, 3, 1), date(2026, 3, 31), D("100.00"))
FEBRUARY = SalesPeriod(date(2026, 2, 1), date(2026, 2, 28), D("0.00"))
JANUARY = SalesPeriod(date(2026, 1, 1), date(2026, 1, 31), D("50.00"))
NOTHING = Countback(days=D("0.00"), exact=D("0"), lower_bound=False, periods_used=0)


@pytest.mark.parametrize("receivables", [D("0"), D("0.00"), D("-10.00")])
def test_no_receivables_is_zero_days_without_walking(receivables: Decimal) -> None:
    assert countback_dso(receivables, [MARCH, JANUARY]) == NOTHING
    assert countback_dso(receivables, []) == NOTHING


def test_less_than_one_unit_of_receivables_counts_a_fraction_of_a_day() -> None:
    result = countback_dso(D("0.50"), [MARCH])
    assert result == Countback(days=D("0.16"), exact=D("0.155"), lower_bound=False, periods_used=1)


def test_receivables_equal_to_a_period_use_exactly_that_period() -> None:
    assert countback_dso(D("100.00"), [MARCH, JANUARY]) == Countback(D("31.00"), D("31"), False, 1)


def test_a_period_without_sales_counts_whole_and_the_walk_goes_on() -> None:
    result = countback_dso(D("125.00"), [MARCH, FEBRUARY, JANUARY])
    assert result == Countback(days=D("74.50"), exact=D("74.5"), lower_bound=False, periods_used=3)


def test_half_a_unit_left_when_the_history_runs_out_is_a_lower_bound() -> None:
    result = countback_dso(D("100.50"), [MARCH])
    assert result == Countback(days=D("31.00"), exact=D("31"), lower_bound=True, periods_used=1)


@pytest.mark.parametrize(
    ("receivables", "sales", "days", "expected"),
    [
        (D("0.25"), D("0.50"), 30, D("15.00")),  # sales of less than one unit are still sales
        (D("0.50"), D("100.00"), 30, D("0.15")),  # receivables of less than one unit
        (D("0.00"), D("100.00"), 30, D("0.00")),
        (D("-5.00"), D("100.00"), 30, D("0.00")),  # in credit: 0 days, as in the countback
        (D("5.00"), D("0.00"), 30, None),
        (D("5.00"), D("-1.00"), 30, None),
    ],
)
def test_standard_dso_edges(
    receivables: Decimal, sales: Decimal, days: int, expected: Decimal | None
) -> None:
    assert standard_dso(receivables, sales, days) == expected


def fac(
    key: str, client: str, issued: date, amount: str, *, group: str | None = None, kind: str = "FAC"
) -> Item:
    return Item(key, client, kind, issued, issued, "DKK", D(amount), group=group)


BOOK = [
    fac("a1", "A", date(2025, 12, 10), "300.00", group="G1"),
    fac("a2", "A", date(2026, 1, 10), "600.00", group="G1"),
    fac("a3", "A", date(2026, 3, 10), "310.00", group="G1"),
    fac("a4", "A", date(2026, 3, 12), "-10.00", group="G1", kind="AVO"),
    fac("b1", "B", date(2026, 2, 10), "280.00", group="G2"),
    fac("b2", "B", date(2026, 3, 20), "62.00", group="G2"),
    Item("e1", "A", "FAC", date(2026, 3, 1), date(2026, 3, 1), "EUR", D("999.00"), group="G1"),
]
AS_OF = date(2026, 3, 31)


def test_a_range_that_ends_before_it_starts_holds_no_sales() -> None:
    ledger = SalesLedger(BOOK, "DKK")
    assert ledger.between(date(2026, 3, 1), date(2026, 3, 31)) == D("362.00")
    assert ledger.between(date(2026, 3, 31), date(2026, 3, 1)) == D("0")
    assert ledger.between(date(2026, 3, 11), date(2026, 3, 11)) == D("0")


def test_group_and_client_scope() -> None:
    g2 = dso(BOOK, AS_OF, "DKK", group="G2")
    assert (g2.currency, g2.receivables, g2.standard_sales, g2.standard_days) == (
        "DKK",
        D("342.00"),
        D("342.00"),
        59,  # February and March: the walk stops with the month of the group's earliest item
    )
    # 62.00 of March's 62.00 (31 days), then 280.00 of February's 280.00 (28 days)
    assert g2.countback == Countback(days=D("59.00"), exact=D("59"), lower_bound=False, periods_used=2)
    assert dso(BOOK, AS_OF, "DKK", client_code="B") == g2
    everyone = dso(BOOK, AS_OF, "DKK")
    assert everyone.receivables == D("1542.00") and everyone.standard_sales == D("1242.00")


def test_sales_types_decide_the_turnover() -> None:
    invoices_only = dso(BOOK, AS_OF, "DKK", client_code="A", sales_types=frozenset({"FAC"}))
    assert invoices_only.standard_sales == D("910.00")  # the credit note is not netted off
    assert dso(BOOK, AS_OF, "DKK", client_code="A").standard_sales == D("900.00")


def test_zero_standard_months_gives_no_standard_dso() -> None:
    figures = dso(BOOK, AS_OF, "DKK", standard_months=0)
    assert (figures.standard, figures.best_standard, figures.standard_sales) == (None, None, D("0.00"))
    assert figures.standard_days == 0 and str(figures.standard_sales) == "0.00"


def test_history_defaults_are_12_points_and_a_quarter() -> None:
    history = dso_history(BOOK, AS_OF, "DKK")
    assert len(history) == 12
    assert [f.as_of for f in history[-3:]] == [date(2026, 1, 31), date(2026, 2, 28), AS_OF]
    assert history[-1].standard_days == 31 + 28 + 31
    assert history[-1] == dso(BOOK, AS_OF, "DKK")


@pytest.mark.parametrize(
    "options",
    [
        {"client_code": "A"},
        {"group": "G2"},
        {"sales_types": frozenset({"FAC"})},
        {"standard_months": 1},
        {"client_code": "A", "group": "G1", "sales_types": frozenset({"AVO", "FAC"}), "standard_months": 2},
    ],
)
def test_each_history_point_is_the_dso_of_that_day(options: dict) -> None:
    history = dso_history(BOOK, AS_OF, "DKK", months=4, **options)
    assert [f.as_of for f in history] == [date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28), AS_OF]
    assert history == [dso(BOOK, point.as_of, "DKK", **options) for point in history]
    assert history != dso_history(BOOK, AS_OF, "DKK", months=4)
