"""Typed rows for the four import files; attribute names are exactly the column names of spec §3.

Required columns (``*`` in the spec) have no default; everything else defaults to ``None`` (empty cell).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Literal, TypeAlias

__all__ = [
    "COLUMNS",
    "MODELS",
    "REQUIRED",
    "Client",
    "Contact",
    "FileKind",
    "Item",
    "Row",
    "User",
    "column_kinds",
    "kind_of",
]

FileKind: TypeAlias = Literal["clients", "items", "contacts", "users"]
KINDS: tuple[str, ...] = ("clients", "items", "contacts", "users")

Amount: TypeAlias = Decimal | int


@dataclass(frozen=True, slots=True)
class Item:
    """One line of an ``items`` file (invoice, credit note, payment, ...)."""

    client_code: str
    item_number: str
    item_type: str
    item_date_issue: date | str
    item_date_due: date | str
    item_amount_initial_inc_tax: Amount | str
    item_amount_initial: Amount | str | None = None
    item_amount_remaining_inc_tax: Amount | str | None = None
    item_amount_remaining: Amount | str | None = None
    item_currency: str | None = None
    item_date_payment: date | str | None = None
    item_erp_type: str | None = None
    item_order_number: str | None = None
    item_file_number: str | None = None
    item_business_case: str | None = None
    item_sales_manager: str | None = None
    item_unique_key: str | None = None
    item_field_perso1: str | None = None
    item_field_perso2: str | None = None
    item_field_perso3: str | None = None
    item_field_perso4: str | None = None
    item_field_perso5: str | None = None
    item_field_perso6: str | None = None


@dataclass(frozen=True, slots=True)
class Client:
    """One line of a ``clients`` file (a debtor)."""

    client_code: str
    client_business_name: str
    client_id: str | None = None
    client_trading_name: str | None = None
    client_address_street: str | None = None
    client_address_street_number: str | None = None
    client_address_postbox: str | None = None
    client_address_zip: str | None = None
    client_address_city: str | None = None
    client_address_state: str | None = None
    client_address_country: str | None = None
    client_email: str | None = None
    client_phone: str | None = None
    client_url: str | None = None
    client_blocked: bool | None = None
    client_credit_limit: Amount | str | None = None
    client_payment_term: int | str | None = None
    client_comments: str | None = None
    client_order_backlog: Amount | str | None = None
    client_guarantee_insurer: str | None = None
    client_guarantee_score: Decimal | int | str | None = None
    client_commercial_firstname: str | None = None
    client_commercial_lastname: str | None = None
    client_commercial_email: str | None = None
    client_commercial_phone: str | None = None
    client_field_perso1: str | None = None
    client_field_perso2: str | None = None
    client_field_perso3: str | None = None
    client_field_perso4: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    """One line of a ``contacts`` file."""

    client_code: str
    contact_lastname: str
    contact_firstname: str | None = None
    contact_role: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    contact_mobile: str | None = None
    contact_function: str | None = None
    contact_collection: bool | None = None


@dataclass(frozen=True, slots=True)
class User:
    """One line of a ``users`` file: one user x one client of the user's portfolio.

    The user is identified by ``user_email``, or without it by first + last name (spec §3, [ours]).
    """

    user_email: str | None = None
    user_firstname: str | None = None
    user_lastname: str | None = None
    user_role: str | None = None
    client_code: str | None = None


Row: TypeAlias = Item | Client | Contact | User

MODELS: dict[str, type] = {"clients": Client, "items": Item, "contacts": Contact, "users": User}

COLUMNS: dict[str, tuple[str, ...]] = {
    kind: tuple(f.name for f in dataclasses.fields(model)) for kind, model in MODELS.items()
}

REQUIRED: dict[str, frozenset[str]] = {
    kind: frozenset(
        f.name
        for f in dataclasses.fields(model)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    for kind, model in MODELS.items()
}

# How a non-text value is written: "date" ISO, "amount" money, "flag" 1/0, "number" plain. Others are text.
_TYPED: dict[str, str] = {
    "item_date_issue": "date",
    "item_date_due": "date",
    "item_date_payment": "date",
    "item_amount_initial_inc_tax": "amount",
    "item_amount_initial": "amount",
    "item_amount_remaining_inc_tax": "amount",
    "item_amount_remaining": "amount",
    "client_blocked": "flag",
    "client_credit_limit": "amount",
    "client_payment_term": "number",
    "client_order_backlog": "amount",
    "client_guarantee_score": "number",
    "contact_collection": "flag",
}


def column_kinds(kind: str) -> dict[str, str]:
    """Column name -> "text" | "date" | "amount" | "flag" | "number" for a file kind."""
    return {c: _TYPED.get(c, "text") for c in COLUMNS[kind_of(kind)]}


def kind_of(kind: str | Enum) -> str:
    """Normalise a file kind (``"items"`` or an Enum whose value is one); ValueError if unknown."""
    value = kind.value if isinstance(kind, Enum) else kind
    if value not in MODELS:
        raise ValueError(f"unknown file kind {value!r}; expected one of {', '.join(KINDS)}")
    return value
