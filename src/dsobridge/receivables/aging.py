"""Aging balance by due date: not due, 1–30, 31–60, 61–90, > 90 days past due, plus unallocated credits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from dsobridge.receivables.models import MEMO_TYPES, Item
from dsobridge.receivables.money import round_money, round_percent
from dsobridge.receivables.openamount import open_amount

ZERO = Decimal("0")
NOT_DUE, D1_30, D31_60, D61_90, OVER_90 = "not_due", "1_30", "31_60", "61_90", "over_90"
BUCKETS: tuple[str, ...] = (NOT_DUE, D1_30, D31_60, D61_90, OVER_90)
OVERDUE_BUCKETS: tuple[str, ...] = BUCKETS[1:]
BUCKET_LABELS: dict[str, str] = {
    NOT_DUE: "Not due",
    D1_30: "1–30",
    D31_60: "31–60",
    D61_90: "61–90",
    OVER_90: "> 90",
}
#: How credits (items whose open amount is negative) are shown.
CREDITS_COLUMN = "column"  # in the "unallocated credits" column (default)
CREDITS_BY_DATE = "by_date"  # aged by their own (issue) date, netted into the buckets


def bucket_for(days_past_due: int) -> str:
    """The bucket of a number of days past due; 0 or less is not due (due today is not overdue)."""
    if days_past_due <= 0:
        return NOT_DUE
    if days_past_due <= 30:
        return D1_30
    if days_past_due <= 60:
        return D31_60
    if days_past_due <= 90:
        return D61_90
    return OVER_90


def bucket_of(item: Item, as_of: date) -> str:
    """The bucket of a (debit) item as of ``as_of``, by its due date."""
    return bucket_for((as_of - item.due_date).days)


@dataclass(frozen=True, slots=True)
class Aging:
    """The aging balance of one currency. Amounts rounded to the currency's precision."""

    as_of: date
    currency: str
    buckets: dict[str, Decimal]
    unallocated_credits: Decimal
    items: int
    credits: str = CREDITS_COLUMN
    by_client: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        """Net open receivables: the buckets plus the (negative) unallocated credits."""
        return sum(self.buckets.values(), ZERO) + self.unallocated_credits

    @property
    def overdue(self) -> Decimal:
        return sum((self.buckets[b] for b in OVERDUE_BUCKETS), ZERO)

    @property
    def overdue_pct(self) -> Decimal | None:
        """Overdue as a % of the aged buckets (credits in their column are not netted); None when ≤ 0."""
        aged = sum(self.buckets.values(), ZERO)
        if aged <= 0:
            return None
        return round_percent(self.overdue * 100 / aged)


def _rounded(row: dict[str, Decimal], currency: str) -> dict[str, Decimal]:
    return {k: round_money(v, currency) for k, v in row.items()}


def _empty() -> dict[str, Decimal]:
    return dict.fromkeys(BUCKETS, ZERO)


def aging(
    items: Iterable[Item],
    as_of: date,
    currency: str,
    *,
    credits: str = CREDITS_COLUMN,
    client_code: str | None = None,
    group: str | None = None,
    with_clients: bool = False,
) -> Aging:
    """The aging balance of ``currency`` as of ``as_of``, for the account or one client or group.

    A debit open amount goes to the bucket of its due date. A credit (negative open amount: credit note,
    payment on account, negative ODI) goes to ``unallocated_credits`` or, with ``credits="by_date"``, to the
    bucket of its own issue date. With ``with_clients`` the same columns are given per client (the last key
    of each row is ``unallocated_credits``).
    """
    if credits not in (CREDITS_COLUMN, CREDITS_BY_DATE):
        raise ValueError(f"credits must be {CREDITS_COLUMN!r} or {CREDITS_BY_DATE!r}")
    buckets = _empty()
    unallocated = ZERO
    count = 0
    per_client: dict[str, dict[str, Decimal]] = {}
    for item in items:
        if item.currency != currency or item.item_type in MEMO_TYPES:
            continue
        if client_code is not None and item.client_code != client_code:
            continue
        if group is not None and item.group != group:
            continue
        amount = open_amount(item, as_of)
        if amount == 0:
            continue
        count += 1
        if amount > 0:
            column = bucket_of(item, as_of)
        elif credits == CREDITS_COLUMN:
            column = "unallocated_credits"
        else:
            column = bucket_for((as_of - item.issue_date).days)
        if column == "unallocated_credits":
            unallocated += amount
        else:
            buckets[column] += amount
        if with_clients:
            row = per_client.setdefault(item.client_code, {**_empty(), "unallocated_credits": ZERO})
            row[column] += amount
    return Aging(
        as_of=as_of,
        currency=currency,
        buckets=_rounded(buckets, currency),
        unallocated_credits=round_money(unallocated, currency),
        items=count,
        credits=credits,
        by_client={code: _rounded(row, currency) for code, row in sorted(per_client.items())},
    )
