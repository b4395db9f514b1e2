"""Aging with credits, countback edge cases, rounding, month helpers, history and CEI per month."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dsobridge.receivables import (
    Event,
    Item,
    SalesPeriod,
    add_months,
    aging,
    cei,
    cei_by_month,
    countback_dso,
    dso,
    dso_history,
    history_points,
    minor_units,
    month_end,
    periods_back,
    round_money,
    round_percent,
    standard_dso,
)

D = Decimal


def mk(key, client, kind, issue, due, amount, *, currency="DKK", group=None, paid=None, events=()):
    return Item(
        key, client, kind, issue, due, currency, D(amount), group=group, payment_date=paid, events=events
    )


AS_OF = date(2026, 3, 31)
ITEMS = [
    mk("1", "A", "FAC", date(2026, 3, 1), date(2026, 3, 31), "1000.00", group="G1"),  # due today: not due
    mk("2", "A", "FAC", date(2026, 1, 1), date(2026, 1, 31), "500.00", group="G1"),  # 59 days
    mk("3", "A", "AVO", date(2025, 10, 1), date(2025, 10, 1), "-200.00", group="G1"),  # credit, 181 days old
    mk("4", "B", "RGL", date(2026, 3, 20), date(2026, 3, 20), "-50.00", group="G2"),  # payment on account
    mk("5", "B", "FAC", date(2025, 11, 1), date(2025, 12, 1), "300.00", group="G2"),  # 120 days
    mk("6", "B", "FAC", date(2026, 2, 1), date(2026, 3, 1), "80.00", currency="EUR", group="G2"),
    mk("7", "B", "DPA", date(2026, 3, 1), date(2026, 3, 1), "999.00", group="G2"),  # memo: ignored
]


def test_aging_credits_in_their_own_column():
    result = aging(ITEMS, AS_OF, "DKK")
    assert result.buckets == {
        "not_due": D("1000.00"),
        "1_30": D("0.00"),
        "31_60": D("500.00"),
        "61_90": D("0.00"),
        "over_90": D("300.00"),
    }
    assert result.unallocated_credits == D("-250.00")
    assert result.total == D("1550.00")
    assert result.overdue == D("800.00")
    assert result.overdue_pct == D("44.4")  # 800 / 1800
    assert result.items == 5


def test_aging_credits_by_their_own_date():
    result = aging(ITEMS, AS_OF, "DKK", credits="by_date")
    assert result.buckets["1_30"] == D("-50.00")  # issued 11 days ago
    assert result.buckets["over_90"] == D("100.00")  # 300 − 200
    assert result.unallocated_credits == D("0.00")
    assert result.total == D("1550.00")


def test_aging_filters_and_per_client_rows():
    assert aging(ITEMS, AS_OF, "DKK", client_code="B").total == D("250.00")
    assert aging(ITEMS, AS_OF, "DKK", group="G1").total == D("1300.00")
    assert aging(ITEMS, AS_OF, "EUR").buckets["1_30"] == D("80.00")
    rows = aging(ITEMS, AS_OF, "DKK", with_clients=True).by_client
    assert list(rows) == ["A", "B"]
    assert rows["B"]["over_90"] == D("300.00") and rows["B"]["unallocated_credits"] == D("-50.00")
    with pytest.raises(ValueError, match="credits must be"):
        aging(ITEMS, AS_OF, "DKK", credits="nowhere")


def test_countback_lower_bound_when_history_runs_out():
    periods = [
        SalesPeriod(date(2026, 3, 1), date(2026, 3, 31), D(100)),
        SalesPeriod(date(2026, 2, 1), date(2026, 2, 28), D(100)),
    ]
    result = countback_dso(D(500), periods)
    assert (result.days, result.lower_bound, result.periods_used) == (D("59.00"), True, 2)


def test_countback_exact_exhaustion_and_zero_receivables():
    periods = [
        SalesPeriod(date(2026, 3, 1), date(2026, 3, 31), D(100)),
        SalesPeriod(date(2026, 2, 1), date(2026, 2, 28), D(0)),
    ]
    assert countback_dso(D(100), periods).days == D("31.00")
    assert countback_dso(D(100), periods).lower_bound is False
    assert countback_dso(D(0), periods).days == D("0.00")
    assert countback_dso(D(-10), periods).days == D("0.00")


def test_countback_month_to_date_period():
    periods = periods_back(date(2026, 3, 15), date(2026, 1, 5))
    assert periods == [
        (date(2026, 3, 1), date(2026, 3, 15)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 1, 1), date(2026, 1, 31)),
    ]
    sp = [SalesPeriod(s, e, D(300)) for s, e in periods]
    assert countback_dso(D(450), sp).days == D("29.00")  # 15 + 150/300 × 28


def test_standard_dso_without_sales():
    assert standard_dso(D(100), D(0), 90) is None


def test_rounding_half_up_per_currency():
    assert round_money(D("2.345"), "DKK") == D("2.35")
    assert round_money(D("-2.345"), "EUR") == D("-2.35")
    assert round_money(D("1234.5"), "JPY") == D("1235")
    assert round_money(D("1.0005"), "KWD") == D("1.001")
    assert minor_units("isk") == 0
    assert round_percent(D("86.4661")) == D("86.5")


def test_month_helpers():
    assert month_end(date(2024, 2, 10)) == date(2024, 2, 29)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)
    assert history_points(date(2026, 3, 15), 3) == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 15)]
    with pytest.raises(ValueError):
        history_points(date(2026, 3, 15), 0)


def _monthly_book():
    """A 1,000 invoice on the 1st of each month since Oct 2025, due after 30 days, paid 45 days late."""
    items = []
    for n in range(6):
        issue = add_months(date(2025, 10, 1), n)
        due = date.fromordinal(issue.toordinal() + 30)
        paid = date.fromordinal(due.toordinal() + 45)
        items.append(mk(f"F{n}", "A", "FAC", issue, due, "1000.00", paid=paid,
                        events=(Event(issue, D("1000.00"), kind="created"),)))  # fmt: skip
    return items


def test_dso_history_points_and_figures():
    history = dso_history(_monthly_book(), date(2026, 3, 31), "DKK", months=3)
    assert [h.as_of for h in history] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    jan = history[0]
    # Open on 31 Jan: Dec (due 31 Dec, +45 → paid 14 Feb) and Jan. Nov paid 16 Jan.
    assert jan.receivables == D("2000.00")
    assert jan.countback.days == D("62.00") and jan.countback.lower_bound is False
    assert jan.current_receivables == D("1000.00") and jan.best_countback.days == D("31.00")
    assert history[-1].overdue_pct == D("50.0")


def test_dso_per_client_and_lower_bound_on_short_history():
    # An ODI (not turnover) makes the receivables exceed every sale on record: the DSO is a lower bound.
    items = [mk("X", "Z", "FAC", date(2026, 3, 1), date(2026, 3, 10), "100.00"),
             mk("Y", "Z", "ODI", date(2026, 3, 2), date(2026, 3, 31), "50.00"),
             mk("W", "Z", "AVO", date(2026, 3, 5), date(2026, 3, 5), "-120.00",
                paid=date(2026, 3, 6))]  # fmt: skip
    figures = dso([*items, *_monthly_book()], date(2026, 3, 31), "DKK", client_code="Z")
    assert figures.receivables == D("150.00")
    assert figures.standard_sales == D("-20.00") and figures.standard is None
    assert figures.countback.days == D("31.00") and figures.countback.lower_bound is True
    # Credits larger than what is not due: the current receivables are negative, best possible DSO is 0.
    credit = mk("V", "Z", "RGL", date(2026, 3, 20), date(2026, 3, 20), "-80.00")
    figures = dso([*items, credit], date(2026, 3, 31), "DKK", client_code="Z")
    assert figures.current_receivables == D("-30.00")
    assert figures.best_countback.days == D("0.00")
    assert dso([*items[:2], credit], date(2026, 3, 31), "DKK").best_standard == D("0.00")


def test_cei_by_month():
    periods = cei_by_month(_monthly_book(), date(2026, 2, 28), "DKK", months=2)
    assert [(p.start, p.end) for p in periods] == [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
    ]
    jan = periods[0]
    # 31 Dec: Nov + Dec open (2000); Jan sales 1000; 31 Jan: Dec + Jan open (2000), Jan not due (1000).
    assert (jan.beginning_ar, jan.sales, jan.ending_ar, jan.ending_current_ar) == (
        D("2000.00"),
        D("1000.00"),
        D("2000.00"),
        D("1000.00"),
    )
    assert jan.cei == D("50.0")
    assert cei(D(0), D(0), D(0), D(0)) is None
