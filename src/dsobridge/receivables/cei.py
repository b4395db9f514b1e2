"""Collection effectiveness index, per month (published variants disagree over longer periods)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dsobridge.receivables.aging import aging
from dsobridge.receivables.dso import SalesLedger
from dsobridge.receivables.models import MEMO_TYPES, SALES_TYPES, Item
from dsobridge.receivables.money import round_percent
from dsobridge.receivables.months import history_points, previous_month_end


def cei(
    beginning_ar: Decimal, sales: Decimal, ending_ar: Decimal, ending_current_ar: Decimal
) -> Decimal | None:
    """(beginning AR + sales − ending AR) / (beginning AR + sales − ending current AR) × 100, 1 decimal.

    None when the denominator is 0 or less (nothing was collectable).
    """
    denominator = beginning_ar + sales - ending_current_ar
    if denominator <= 0:
        return None
    return round_percent((beginning_ar + sales - ending_ar) * 100 / denominator)


@dataclass(frozen=True, slots=True)
class CeiPeriod:
    start: date  # the day after the beginning AR's date
    end: date
    beginning_ar: Decimal
    sales: Decimal
    ending_ar: Decimal
    ending_current_ar: Decimal
    cei: Decimal | None


def cei_between(
    items: Iterable[Item],
    begin: date,
    end: date,
    currency: str,
    *,
    sales_types: frozenset[str] = SALES_TYPES,
) -> CeiPeriod:
    """The CEI of the period after ``begin`` up to ``end`` (AR as of ``begin`` is the beginning AR).

    Current AR = AR − overdue debits, as for the best possible DSO.
    """
    scoped = [i for i in items if i.currency == currency and i.item_type not in MEMO_TYPES]
    ledger = SalesLedger(scoped, currency, sales_types)
    return _period(scoped, ledger, begin, end, currency)


def _period(scoped: list[Item], ledger: SalesLedger, begin: date, end: date, currency: str) -> CeiPeriod:
    start_ag = aging(scoped, begin, currency)
    end_ag = aging(scoped, end, currency)
    sales = ledger.between(date.fromordinal(begin.toordinal() + 1), end)
    current = end_ag.total - end_ag.overdue
    return CeiPeriod(
        start=date.fromordinal(begin.toordinal() + 1),
        end=end,
        beginning_ar=start_ag.total,
        sales=sales,
        ending_ar=end_ag.total,
        ending_current_ar=current,
        cei=cei(start_ag.total, sales, end_ag.total, current),
    )


def cei_by_month(
    items: Iterable[Item],
    as_of: date,
    currency: str,
    *,
    months: int = 12,
    sales_types: frozenset[str] = SALES_TYPES,
) -> list[CeiPeriod]:
    """One CEI per calendar month for the ``months`` months ending with ``as_of``'s month (month to date)."""
    scoped = [i for i in items if i.currency == currency and i.item_type not in MEMO_TYPES]
    ledger = SalesLedger(scoped, currency, sales_types)
    return [
        _period(scoped, ledger, previous_month_end(point), point, currency)
        for point in history_points(as_of, months)
    ]
