"""The inputs of every measure: immutable open items and their dated events.

These are plain dataclasses, not rows of any store: the My DSO Manager sandbox builds them from its SQLite
ledger and the sync engine from Dynaccount data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

#: My DSO Manager item types (spec mydso-import §3).
FAC, AVO, RGL, ODI, TRT, DPA = "FAC", "AVO", "RGL", "ODI", "TRT", "DPA"
ITEM_TYPES = (FAC, AVO, RGL, ODI, TRT, DPA)
#: Types that make up turnover incl. VAT (credit notes net it). ODI is left out: see docs/receivables.md.
SALES_TYPES: frozenset[str] = frozenset({FAC, AVO})
#: Memo types: a down-payment request is not a receivable, it is left out of every balance.
MEMO_TYPES: frozenset[str] = frozenset({DPA})


@dataclass(frozen=True, slots=True)
class Event:
    """One change of an item's open amount, known from ``effective_date`` on.

    An event with a ``payment_date`` (or of kind ``cleared``) is a clearing.
    """

    effective_date: date
    amount_remaining: Decimal
    payment_date: date | None = None
    kind: str = "updated"  # 'created' | 'updated' | 'cleared' | 'reopened'

    @property
    def is_clearing(self) -> bool:
        return self.payment_date is not None or self.kind == "cleared"


@dataclass(frozen=True, slots=True)
class Item:
    """An open item (invoice, credit note, payment on account …), amounts incl. VAT and signed.

    ``payment_date`` is the item's current clearing date (``None`` while open). ``events`` are its dated
    changes; they are sorted by effective date on construction. An item without events is open for its
    initial amount from its issue date until ``payment_date``.
    """

    key: str
    client_code: str
    item_type: str
    issue_date: date
    due_date: date
    currency: str
    amount_initial: Decimal
    group: str | None = None
    item_number: str = ""
    payment_date: date | None = None
    events: tuple[Event, ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.amount_initial, Decimal):
            raise TypeError("amount_initial must be a Decimal")
        ordered = tuple(sorted(self.events, key=lambda e: e.effective_date))
        if ordered != self.events:
            object.__setattr__(self, "events", ordered)
