"""DSO: countback (exhaustion) and standard, best possible DSO, ADD, and a monthly history.

The number functions (``countback_dso``, ``standard_dso``) take plain Decimals; the item functions (``dso``,
``dso_history``) derive receivables and turnover incl. VAT from items, per currency.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dsobridge.receivables.aging import aging
from dsobridge.receivables.models import MEMO_TYPES, SALES_TYPES, Item
from dsobridge.receivables.money import round_days, round_money
from dsobridge.receivables.months import history_points, periods_back

ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class SalesPeriod:
    """Turnover incl. VAT (net of credit notes) issued from ``start`` to ``end``, both included."""

    start: date
    end: date
    sales: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True, slots=True)
class Countback:
    """A countback DSO. ``days`` is rounded to 2 decimals; ``exact`` is not.

    ``lower_bound`` is True when the sales history ran out before the receivables were exhausted: the true
    DSO is at least ``days``.
    """

    days: Decimal
    exact: Decimal
    lower_bound: bool
    periods_used: int


def countback_dso(receivables: Decimal, periods: Sequence[SalesPeriod]) -> Countback:
    """Walk back over ``periods`` (most recent first) until the receivables are exhausted.

    While the balance left is at least the period's sales, subtract them and count the period's days; for the
    period that exhausts it, count ``days × left / sales``. The walk stops as soon as nothing is left.
    Receivables of 0 or less give 0 days.
    """
    left = receivables
    total = ZERO
    used = 0
    if left <= 0:
        return Countback(days=round_days(ZERO), exact=ZERO, lower_bound=False, periods_used=0)
    for period in periods:
        used += 1
        if left >= period.sales:
            left -= period.sales
            total += period.days
            if left == 0:
                break
        else:
            total += Decimal(period.days) * left / period.sales
            left = ZERO
            break
    return Countback(days=round_days(total), exact=total, lower_bound=left > 0, periods_used=used)


def standard_dso(receivables: Decimal, sales: Decimal, days: int) -> Decimal | None:
    """``receivables / sales × days``, rounded to 2 decimals; None when there were no (positive) sales.

    Receivables of 0 or less (a customer in credit) give 0 days, as in the countback.
    """
    if sales <= 0:
        return None
    if receivables <= 0:
        return round_days(Decimal(0))
    return round_days(receivables / sales * days)


class SalesLedger:
    """Turnover incl. VAT of a set of items, summed over any date range in O(log n)."""

    def __init__(self, items: Iterable[Item], currency: str, sales_types: frozenset[str] = SALES_TYPES):
        pairs = sorted(
            (i.issue_date, i.amount_initial)
            for i in items
            if i.currency == currency and i.item_type in sales_types
        )
        self.dates = [d for d, _ in pairs]
        self.prefix = [ZERO]
        for _, amount in pairs:
            self.prefix.append(self.prefix[-1] + amount)

    def between(self, start: date, end: date) -> Decimal:
        lo = bisect.bisect_left(self.dates, start)
        hi = bisect.bisect_right(self.dates, end)
        return self.prefix[hi] - self.prefix[lo] if hi > lo else ZERO

    def periods(self, as_of: date, earliest: date) -> list[SalesPeriod]:
        return [SalesPeriod(s, e, self.between(s, e)) for s, e in periods_back(as_of, earliest)]


@dataclass(frozen=True, slots=True)
class DsoFigures:
    """Every DSO figure of one currency as of one date. Amounts rounded to the currency, days to 2 decimals.

    ``current_receivables`` = receivables − overdue debits (so unallocated credits reduce it);
    the ADDs are differences of the rounded figures, so that the displayed numbers add up.
    """

    as_of: date
    currency: str
    receivables: Decimal
    current_receivables: Decimal
    countback: Countback
    best_countback: Countback
    standard: Decimal | None
    best_standard: Decimal | None
    standard_days: int
    standard_sales: Decimal
    overdue_pct: Decimal | None

    @property
    def add_countback(self) -> Decimal:
        return self.countback.days - self.best_countback.days

    @property
    def add_standard(self) -> Decimal | None:
        if self.standard is None or self.best_standard is None:
            return None
        return self.standard - self.best_standard


def _scope(items: Iterable[Item], currency: str, client_code: str | None, group: str | None) -> list[Item]:
    return [
        i
        for i in items
        if i.currency == currency
        and i.item_type not in MEMO_TYPES
        and (client_code is None or i.client_code == client_code)
        and (group is None or i.group == group)
    ]


def _figures(
    scoped: list[Item], ledger: SalesLedger, as_of: date, currency: str, standard_months: int
) -> DsoFigures:
    earliest = min((i.issue_date for i in scoped), default=as_of)
    ag = aging(scoped, as_of, currency)
    receivables = ag.total
    current = receivables - ag.overdue
    periods = ledger.periods(as_of, min(earliest, as_of))
    window = periods[:standard_months]
    std_sales = sum((p.sales for p in window), ZERO)
    std_days = sum(p.days for p in window)
    return DsoFigures(
        as_of=as_of,
        currency=currency,
        receivables=round_money(receivables, currency),
        current_receivables=round_money(current, currency),
        countback=countback_dso(receivables, periods),
        best_countback=countback_dso(current, periods),
        standard=standard_dso(receivables, std_sales, std_days),
        best_standard=standard_dso(current, std_sales, std_days),
        standard_days=std_days,
        standard_sales=round_money(std_sales, currency),
        overdue_pct=ag.overdue_pct,
    )


def dso(
    items: Iterable[Item],
    as_of: date,
    currency: str,
    *,
    client_code: str | None = None,
    group: str | None = None,
    standard_months: int = 3,
    sales_types: frozenset[str] = SALES_TYPES,
) -> DsoFigures:
    """All DSO figures of ``currency`` as of ``as_of`` for the account, a client or a group.

    Turnover = Σ ``amount_initial`` of ``sales_types`` items by issue date. The countback walks back month by
    month (the first period is ``as_of``'s month to date) down to the month of the earliest item in scope;
    the standard DSO uses the same first ``standard_months`` periods (a quarter by default).
    """
    scoped = _scope(items, currency, client_code, group)
    ledger = SalesLedger(scoped, currency, sales_types)
    return _figures(scoped, ledger, as_of, currency, standard_months)


def dso_history(
    items: Iterable[Item],
    as_of: date,
    currency: str,
    *,
    months: int = 12,
    client_code: str | None = None,
    group: str | None = None,
    standard_months: int = 3,
    sales_types: frozenset[str] = SALES_TYPES,
) -> list[DsoFigures]:
    """``dso`` at each point of ``history_points(as_of, months)``: past month ends, then ``as_of``."""
    scoped = _scope(items, currency, client_code, group)
    ledger = SalesLedger(scoped, currency, sales_types)
    points = history_points(as_of, months)
    return [_figures(scoped, ledger, point, currency, standard_months) for point in points]
