"""Dynaccount rows → My DSO Manager rows (plain dicts keyed by the spec column names).

Configurable without code (``[mapping]``, ``[filters]``, ``[contacts]``, ``[[users]]`` in ``dsobridge.toml``):
column overrides as ``"{field}"`` templates over the source row, item-type mapping, number and date formats,
excluded debtor groups / numbers, zero-balance filter, collection-contact choice.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from dsobridge.sync.config import MappingConfig, UserMapping
from dsobridge.sync.openitems import OpenItem, money
from dsobridge.sync.state import ItemState

Row = dict[str, Any]

CLIENT_COLUMNS = (
    "client_code",
    "client_business_name",
    "client_id",
    "client_address_street",
    "client_address_zip",
    "client_address_city",
    "client_address_country",
    "client_email",
    "client_phone",
    "client_blocked",
    "client_credit_limit",
    "client_payment_term",
    "client_field_perso1",
)
CONTACT_COLUMNS = (
    "client_code",
    "contact_lastname",
    "contact_firstname",
    "contact_role",
    "contact_email",
    "contact_phone",
    "contact_mobile",
    "contact_function",
    "contact_collection",
)
USER_COLUMNS = ("user_email", "user_firstname", "user_lastname", "user_role", "client_code")
ITEM_COLUMNS = (
    "client_code",
    "item_number",
    "item_type",
    "item_date_issue",
    "item_date_due",
    "item_amount_initial_inc_tax",
    "item_amount_initial",
    "item_amount_remaining_inc_tax",
    "item_currency",
    "item_date_payment",
    "item_erp_type",
    "item_order_number",
    "item_unique_key",
)
# a settlement (an item that left the open set) is sent with the required columns only: the columns it does
# not carry (overrides, order number, amount excl. VAT) stay as they are at My DSO Manager
SETTLEMENT_COLUMNS = (
    "client_code",
    "item_number",
    "item_type",
    "item_date_issue",
    "item_date_due",
    "item_amount_initial_inc_tax",
    "item_amount_remaining_inc_tax",
    "item_currency",
    "item_date_payment",
    "item_erp_type",
    "item_unique_key",
)
_DATE_COLUMNS = frozenset({"item_date_issue", "item_date_due", "item_date_payment"})


@dataclass(frozen=True, slots=True)
class DebtorInfo:
    """What the item and user mapping need to know about a debtor (kept for every debtor: small)."""

    number: str
    client_code: str
    group: str
    currency: str
    balance: Decimal
    exclusion: str = ""  # why the [filters] leave this debtor out ("" = included)

    @property
    def excluded(self) -> bool:
        return bool(self.exclusion)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _render(template: str, row: Mapping[str, Any]) -> str:
    values = _Blank({k: "" if v is None else v for k, v in row.items()})
    return string.Formatter().vformat(template, (), values)


def _text(value: Any) -> str | None:
    if value.__class__ is str:  # the common case, first
        return value.strip() or None
    if value is None:
        return None
    return str(value).strip() or None


class Mapper:
    """Maps debtors, contacts, users and items according to a ``MappingConfig``."""

    def __init__(self, config: MappingConfig | None = None, users: tuple[UserMapping, ...] = ()) -> None:
        self.config = config or MappingConfig()
        self.users = users
        self._excluded_groups = {g.casefold() for g in self.config.exclude_groups}
        self._excluded_debtors = {str(d) for d in self.config.exclude_debtors}

    # --- columns ------------------------------------------------------------------------------------------
    def columns(self, kind: str) -> tuple[str, ...]:
        """The header of a file kind: the base columns, then the configured overrides."""
        base = {"clients": CLIENT_COLUMNS, "contacts": CONTACT_COLUMNS, "users": USER_COLUMNS}.get(
            kind, ITEM_COLUMNS
        )
        extra = {"clients": self.config.client_fields, "contacts": self.config.contact_fields}.get(
            kind, self.config.item_fields if kind == "items" else {}
        )
        return base + tuple(c for c in extra if c not in base)

    # --- clients ------------------------------------------------------------------------------------------
    def client_code(self, number: Any) -> str:
        text = str(number).strip()
        if not text.isdigit():
            return text
        code = self.config.client_code_format.format(number=int(text))
        return text if code == text else code  # one string, not two, per debtor kept in memory

    def debtor_info(self, debtor: Mapping[str, Any]) -> DebtorInfo:
        number = str(debtor.get("module_id_"))
        group = str(debtor.get("module_group_name") or "")
        balance = money(debtor.get("balance"))
        if number in self._excluded_debtors:
            exclusion = "its number is in [filters] exclude_debtors"
        elif group.casefold() in self._excluded_groups:
            exclusion = f"its group {group!r} is in [filters] exclude_groups"
        elif self.config.exclude_zero_balance and balance == 0:
            exclusion = "its balance is 0 ([filters] exclude_zero_balance)"
        else:
            exclusion = ""
        return DebtorInfo(
            number=number,
            client_code=self.client_code(number),
            group=sys.intern(group),  # a few distinct values, a hundred thousand debtors
            currency=sys.intern(str(debtor.get("ref_currency_name") or "DKK")),
            balance=balance,
            exclusion=exclusion,
        )

    def client(self, debtor: Mapping[str, Any], code: str | None = None) -> Row:
        """The clients row of a debtor (``code``: its ``client_code``, when already known)."""
        credit = money(debtor.get("credit_max"))
        row: Row = {
            "client_code": code if code is not None else self.client_code(debtor.get("module_id_")),
            "client_business_name": _text(debtor.get("name")),
            "client_id": _text(debtor.get("vatno")),
            "client_address_street": _text(debtor.get("address")),
            "client_address_zip": _text(debtor.get("zip")),
            "client_address_city": _text(debtor.get("city")),
            "client_address_country": _text(debtor.get("ref_country_name")),
            "client_email": _text(debtor.get("email")),
            "client_phone": _text(debtor.get("phone")),
            "client_blocked": str(debtor.get("is_blocked", "NO")).upper() == "YES",
            "client_credit_limit": credit if credit else None,  # 0 = no limit set in Dynaccount
            "client_payment_term": _text(debtor.get("payment_name")),
            "client_field_perso1": _text(debtor.get("module_group_name")),
        }
        for column, template in self.config.client_fields.items():
            row[column] = _text(_render(template, debtor))
        return row

    # --- contacts -----------------------------------------------------------------------------------------
    def debtor_contacts(self, debtor: Mapping[str, Any], code: str | None = None) -> list[Row]:
        """The attention person and the statement e-mail, the collection flag set on one per config."""
        if code is None:
            code = self.client_code(debtor.get("module_id_"))
        out: list[Row] = []
        attention_email = _text(debtor.get("attention_email"))
        name = _text(debtor.get("attention_name"))
        attention: Row | None = None
        if name:
            first, _, last = name.rpartition(" ")
            attention = self._contact(
                debtor,
                code,
                last=last,
                first=first or None,
                role="attention",
                email=attention_email,
                phone=_text(debtor.get("attention_phone")),
                function=_text(debtor.get("attention_position")),
            )
        statement_email = _text(debtor.get("email_statement"))
        statement: Row | None = None
        if statement_email and (attention_email or "").casefold() != statement_email.casefold():
            statement = self._contact(
                debtor,
                code,
                last=self.config.statement_contact_name,
                first=None,
                role="statement",
                email=statement_email,
                phone=None,
                function=None,
            )
        elif statement_email and attention is not None:
            attention["contact_role"] = "attention, statement"
        order = (
            (statement, attention)
            if self.config.collection_contact == "statement"
            else (attention, statement)
        )
        if self.config.collection_contact in ("statement", "attention"):
            chosen = next((c for c in order if c is not None), None)
            if chosen is not None:
                chosen["contact_collection"] = True
        out = [c for c in (attention, statement) if c is not None]
        return out

    def _contact(self, source: Mapping[str, Any], code: str, **values: Any) -> Row:
        row: Row = {
            "client_code": code,
            "contact_lastname": values["last"],
            "contact_firstname": values["first"],
            "contact_role": values["role"],
            "contact_email": values["email"],
            "contact_phone": values["phone"],
            "contact_mobile": values.get("mobile"),
            "contact_function": values["function"],
            "contact_collection": False,
        }
        for column, template in self.config.contact_fields.items():
            row[column] = _text(_render(template, source))
        return row

    def contact_row(self, contact: Mapping[str, Any], code: str) -> Row | None:
        """A ``contact`` table row; ``None`` when it has no name to use as the (required) last name."""
        first = _text(contact.get("first_name") or contact.get("firstname"))
        last = _text(contact.get("last_name") or contact.get("lastname"))
        if not last:
            name = _text(contact.get("name"))
            if not name:
                return None
            first, _, last = name.rpartition(" ")
            first = first or None
        return self._contact(
            contact,
            code,
            last=last,
            first=first,
            role="contact",
            email=_text(contact.get("email")),
            phone=_text(contact.get("phone")),
            mobile=_text(contact.get("mobile") or contact.get("cellphone")),
            function=_text(contact.get("position") or contact.get("title")),
        )

    @staticmethod
    def contact_key(row: Mapping[str, Any]) -> str:
        """Spec [ours]: (client_code, lower-cased e-mail, or else first + last name)."""
        email = (row.get("contact_email") or "").casefold()
        who = (
            email
            or f"{row.get('contact_firstname') or ''} {row.get('contact_lastname') or ''}".strip().casefold()
        )
        return f"{row['client_code']}|{who}"

    # --- users --------------------------------------------------------------------------------------------
    def user_rows(self, debtors: Mapping[str, DebtorInfo]) -> Iterator[Row]:
        for user in self.users:
            groups = {g.casefold() for g in user.groups}
            numbers = set(user.debtors)
            codes = [
                d.client_code
                for d in debtors.values()
                if not d.excluded and (d.number in numbers or (d.group and d.group.casefold() in groups))
            ]
            base = {
                "user_email": user.email,
                "user_firstname": user.firstname or None,
                "user_lastname": user.lastname or None,
                "user_role": user.role or None,
            }
            if not codes:
                yield {**base, "client_code": None}
            for code in codes:
                yield {**base, "client_code": code}

    @staticmethod
    def user_key(row: Mapping[str, Any]) -> str:
        return f"{row['user_email'].casefold()}|{row.get('client_code') or ''}"

    # --- items --------------------------------------------------------------------------------------------
    def _date(self, value: date | None) -> date | str | None:
        if value is None or self.config.date_format == "%Y-%m-%d":
            return value
        return value.strftime(self.config.date_format)

    def item(self, item: OpenItem, debtor: DebtorInfo | None) -> Row:
        code = debtor.client_code if debtor is not None else self.client_code(item.debtor)
        currency = item.currency or (debtor.currency if debtor is not None else "")
        row: Row = {
            "client_code": code,
            "item_number": self.config.item_number_format.format(number=item.number),
            "item_type": self.config.item_types.get(item.kind, item.kind),
            "item_date_issue": self._date(item.issue_date),
            "item_date_due": self._date(item.due_date),
            "item_amount_initial_inc_tax": item.initial,
            "item_amount_initial": item.initial - item.vat if item.vat is not None else None,
            "item_amount_remaining_inc_tax": item.remaining,
            "item_currency": currency or None,
            "item_date_payment": self._date(item.payment_date),
            "item_erp_type": item.kind,
            "item_order_number": item.order_number or None,
            "item_unique_key": item.unique_key,
        }
        if self.config.item_fields:
            source = dict(item.row or {})
            for column, template in self.config.item_fields.items():
                row[column] = _text(_render(template, source))
        return row

    @staticmethod
    def item_key(row: Mapping[str, Any]) -> str:
        return str(row["item_unique_key"])

    def settlement(self, state: ItemState, paid: date) -> Row:
        """The row that settles a delivered item (remaining 0, its payment date), from what the state kept."""
        kind = state.kind
        return {
            "client_code": state.client,
            "item_number": self.config.item_number_format.format(number=state.number),  # as delivered
            "item_type": self.config.item_types.get(kind, kind),
            "item_date_issue": self._date(state.issued),
            "item_date_due": self._date(state.due),
            "item_amount_initial_inc_tax": state.initial,
            "item_amount_remaining_inc_tax": Decimal("0.00"),
            "item_currency": state.currency or None,
            "item_date_payment": self._date(paid),
            "item_erp_type": kind,
            "item_unique_key": state.unique_key,
        }
