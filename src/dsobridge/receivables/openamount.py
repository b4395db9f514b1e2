"""The as-of open amount rule — implemented once, used by the sandbox ledger and the sync reports."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from dsobridge.receivables.models import MEMO_TYPES, Item

ZERO = Decimal("0")


def open_amount(item: Item, as_of: date) -> Decimal:
    """The item's open amount (signed, incl. VAT) at the end of ``as_of``.

    0 before the issue date, or from the payment date on; else the remaining amount of the latest non-clearing
    event effective on or before ``as_of``; before the first event: the initial amount when the item was
    imported as history (its first event carries a payment date), else the first event's remaining amount.
    """
    if as_of < item.issue_date:
        return ZERO
    if item.payment_date is not None and as_of >= item.payment_date:
        return ZERO
    events = item.events
    if not events:
        return item.amount_initial
    if cleared_on(item, as_of) is not None:
        return ZERO  # between a clearing and a later reopening: the clearing held for those dates
    latest = None
    for event in events:
        if event.effective_date > as_of:
            break
        if not event.is_clearing:
            latest = event
    if latest is not None:
        return latest.amount_remaining
    first = events[0]
    return item.amount_initial if first.payment_date is not None else first.amount_remaining


def cleared_on(item: Item, as_of: date) -> date | None:
    """The date the item was cleared, as known for ``as_of``; None when it was still open (or not issued)."""
    if as_of < item.issue_date:
        return None
    if item.payment_date is not None and as_of >= item.payment_date:
        return item.payment_date
    clearing: date | None = None
    for event in item.events:
        if event.is_clearing:
            clearing = event.payment_date or event.effective_date
        elif event.kind == "reopened" and clearing is not None:
            if clearing <= as_of < event.effective_date:
                return clearing
            clearing = None
    return None


def is_open(item: Item, as_of: date) -> bool:
    """Issued on or before ``as_of`` and not cleared then (an open item may have an open amount of 0)."""
    return as_of >= item.issue_date and cleared_on(item, as_of) is None


def days_late(item: Item, as_of: date) -> int:
    """Days past due: for an open item ``as_of − due_date``; for a cleared one ``payment date − due_date``.

    Negative or zero means not late (due today is not overdue).
    """
    paid = cleared_on(item, as_of)
    return ((paid or as_of) - item.due_date).days


def balance(items: Iterable[Item], as_of: date, currency: str | None = None) -> Decimal:
    """Σ open amounts as of ``as_of`` (memo items left out), optionally of one currency only."""
    total = ZERO
    for item in items:
        if item.item_type in MEMO_TYPES or (currency is not None and item.currency != currency):
            continue
        total += open_amount(item, as_of)
    return total


def balances_by_currency(items: Iterable[Item], as_of: date) -> dict[str, Decimal]:
    """Σ open amounts per currency, currencies sorted; a currency whose items are all cleared shows 0."""
    out: dict[str, Decimal] = {}
    for item in items:
        if item.item_type in MEMO_TYPES:
            continue
        out[item.currency] = out.get(item.currency, ZERO) + open_amount(item, as_of)
    return dict(sorted(out.items()))
