"""Property tests: invariants that must hold for any ledger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dsobridge.receivables import (
    BUCKETS,
    Event,
    Item,
    SalesPeriod,
    aging,
    balance,
    countback_dso,
    dso,
    open_amount,
    periods_back,
)

settings.register_profile("dsobridge", max_examples=150, deadline=None)
settings.load_profile("dsobridge")

START = date(2025, 1, 1)
money = st.integers(min_value=-500_000, max_value=2_000_000).map(lambda c: Decimal(c).scaleb(-2))
positive_money = st.integers(min_value=1, max_value=2_000_000).map(lambda c: Decimal(c).scaleb(-2))
day = st.integers(min_value=0, max_value=500).map(lambda n: START + timedelta(days=n))


@st.composite
def items(draw, key: int = 0):
    issue = draw(day)
    due = issue + timedelta(days=draw(st.integers(0, 90)))
    amount = draw(money)
    kind = draw(st.sampled_from(["FAC", "FAC", "AVO", "RGL", "ODI", "DPA"]))
    events = [Event(issue + timedelta(days=draw(st.integers(0, 5))), amount, kind="created")]
    for _ in range(draw(st.integers(0, 3))):
        events.append(
            Event(events[-1].effective_date + timedelta(days=draw(st.integers(0, 60))), draw(money))
        )
    paid = None
    if draw(st.booleans()):
        paid = issue + timedelta(days=draw(st.integers(0, 200)))
        events.append(
            Event(max(paid, events[-1].effective_date), Decimal("0.00"), payment_date=paid, kind="cleared")
        )
    return Item(
        key=str(key),
        client_code=draw(st.sampled_from(["A", "B", "C"])),
        item_type=kind,
        issue_date=issue,
        due_date=due,
        currency=draw(st.sampled_from(["DKK", "DKK", "EUR"])),
        amount_initial=amount,
        group=draw(st.sampled_from([None, "G"])),
        payment_date=paid,
        events=tuple(events),
    )


ledgers = st.lists(items(), max_size=25)


@given(ledgers, day, st.sampled_from(["column", "by_date"]))
def test_buckets_and_credits_sum_to_the_balance(book, as_of, credits):
    result = aging(book, as_of, "DKK", credits=credits, with_clients=True)
    assert result.total == balance(book, as_of, "DKK")
    assert set(result.buckets) == set(BUCKETS)
    for column in [*BUCKETS, "unallocated_credits"]:
        per_client = sum((row[column] for row in result.by_client.values()), Decimal(0))
        assert per_client == (result.buckets.get(column, result.unallocated_credits))
    if credits == "column":
        assert result.unallocated_credits <= 0
        assert all(v >= 0 for v in result.buckets.values())


@given(items(), day)
def test_open_amount_is_a_known_amount_and_zero_once_paid(item, as_of):
    amount = open_amount(item, as_of)
    known = {Decimal(0), item.amount_initial, *(e.amount_remaining for e in item.events)}
    assert amount in known
    if as_of < item.issue_date or (item.payment_date is not None and as_of >= item.payment_date):
        assert amount == 0


sales_periods = st.lists(positive_money, min_size=1, max_size=24)


@given(money, sales_periods)
def test_countback_never_exceeds_the_days_covered(receivables, sales):
    periods = [
        SalesPeriod(s, e, amount)
        for (s, e), amount in zip(periods_back(date(2026, 12, 31), START), sales, strict=False)
    ]
    result = countback_dso(receivables, periods)
    covered = sum(p.days for p in periods[: result.periods_used])
    assert 0 <= result.exact <= covered
    assert result.lower_bound == (receivables > sum(p.sales for p in periods))
    if result.lower_bound:
        assert result.exact == sum(p.days for p in periods)


@given(money, money, sales_periods)
def test_countback_is_monotonic_in_receivables(a, b, sales):
    periods = [
        SalesPeriod(s, e, amount)
        for (s, e), amount in zip(periods_back(date(2026, 12, 31), START), sales, strict=False)
    ]
    low, high = sorted([a, b])
    assert countback_dso(low, periods).exact <= countback_dso(high, periods).exact


@given(ledgers, day)
def test_best_possible_dso_never_exceeds_dso(book, as_of):
    figures = dso(book, as_of, "DKK")
    assert figures.best_countback.exact <= figures.countback.exact
    assert figures.add_countback >= 0
    assert figures.current_receivables <= figures.receivables
