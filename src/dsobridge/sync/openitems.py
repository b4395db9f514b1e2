"""THE open-item rule (``docs/receivables-model.md``), in one function, and the balance invariant.

For one debtor, all amounts in the debtor's (= the document's) currency:

- invoice open when ``is_booked=YES`` and ``is_matched=NO``; remaining = ``total_amount`` − Σ match.amount
  with ``match.invoice_id_`` = its number; positive;
- credit note open when ``is_booked=YES`` and ``is_matched=NO``; remaining = ``total_amount`` − Σ match.amount
  with ``match.creditnote_id_`` = its number; negative;
- payment posting (``type=PAYMENT``) open when ``is_matched=NO``; remaining = |``currency_amount``| − Σ
  match.amount with ``match.payment_id`` = its id; negative (unallocated payment on account);
- ``debtor.balance`` = Σ of the signed remainings.

Rows are read as the real API writes them: ``''`` for "no value" in amounts, ids, order numbers and dates,
``0000-00-00`` for no date, numbers as strings or ints. A missing amount is 0, a missing number or id is 0
(which matches nothing), a missing due date falls back to the issue date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

Row = Mapping[str, Any]
ZERO = Decimal("0.00")


class OpenItem(NamedTuple):
    """One open (or, with ``payment_date``, settled) posting of the debtor sub-ledger (a named tuple: one
    is built for every extracted document)."""

    kind: str  # INVOICE | CREDITNOTE | PAYMENT
    debtor: str  # Dynaccount debtor number (module_id_) as text
    number: int  # invoice / credit-note number, or the payment's voucher number (enc_id_)
    source_id: int  # row id in its table (the posting id for payments)
    issue_date: date
    due_date: date
    currency: str
    initial: Decimal  # signed: invoices positive, credit notes and payments negative
    remaining: Decimal  # signed like initial
    vat: Decimal | None = None  # signed like initial, when known
    order_number: str = ""
    text: str = ""
    payment_date: date | None = None
    row: Row | None = None  # the source row, for configurable field overrides

    @property
    def unique_key(self) -> str:
        """Stable key, independent of number formatting: ``INVOICE-1001``, ``PAYMENT-<posting id>``."""
        if self.kind == "PAYMENT":
            return f"PAYMENT-{self.source_id}"
        return f"{self.kind}-{self.number}"


def money(value: Any) -> Decimal:
    """Decimal from a JSON value parsed with ``parse_float=Decimal`` (ints and strings accepted too);
    ``''`` and ``None`` are zero."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):  # never expected; keep the printed value rather than binary noise
        return Decimal(repr(value))
    text = _text(value)
    return Decimal(text) if text else ZERO


def to_date(value: Any) -> date | None:
    """A date from ``YYYY-MM-DD`` (a time after it is ignored); ``''``, ``None``, ``0000-00-00``: none."""
    if value.__class__ is str:  # the common case: the same few hundred dates on every page
        known = _DATES.get(value)
        if known is not None:
            return known
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text or text.startswith("0000"):
        return None
    day = date.fromisoformat(text[:10])
    if value.__class__ is str:
        if len(_DATES) >= _DATES_KEPT:
            _DATES.clear()
        _DATES[value] = day
    return day


_DATES: dict[str, date] = {}  # text → date, a bounded memo of to_date
_DATES_KEPT = 4096


def _text(value: Any) -> str:
    """A code (debtor number, currency, number) as stripped text; ``None`` is ``''``."""
    if value.__class__ is str:
        return value.strip()
    return "" if value is None else str(value).strip()


def _number(value: Any) -> int:
    """A number or row id; ``''`` and ``None`` are 0, which matches nothing."""
    if value.__class__ is int:
        return value
    text = _text(value)
    return int(text) if text else 0


def _yes(value: Any) -> bool:
    if value.__class__ is str and (value == "YES" or value == "NO"):  # what the API writes
        return value == "YES"
    return value is True or _text(value).upper() == "YES"


def _present(value: Any) -> bool:
    """A value is given: not ``None``, not ``''`` (nor blanks)."""
    if value.__class__ is Decimal or value.__class__ is int:
        return True
    return _text(value) != ""


def _signed(amount: Decimal, negative: bool) -> Decimal:
    """``amount`` with the item's sign, never a negative zero (it would be written as ``-0.00``)."""
    value = -amount if negative else amount
    return value if value else abs(value)


@dataclass
class MatchSums:
    """Σ match.amount per invoice number, credit-note number and payment posting id."""

    invoice: dict[int, Decimal]
    creditnote: dict[int, Decimal]
    payment: dict[int, Decimal]

    @classmethod
    def of(cls, matches: Iterable[Row]) -> MatchSums:
        sums = cls(defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal))
        for m in matches:
            amount = money(m.get("amount"))
            invoice, creditnote, payment = match_targets(m)
            if invoice:
                sums.invoice[invoice] += amount
            if creditnote:
                sums.creditnote[creditnote] += amount
            if payment:
                sums.payment[payment] += amount
        return sums


def match_targets(match: Row) -> tuple[int, int, int]:
    """The documents a ``debtor_invoice_match`` row counts for: ``(invoice number, credit-note number,
    payment posting id)``, 0 for none. Its invoice by ``invoice_id_``; then its credit note
    (``is_creditnote=YES``, by ``creditnote_id_``) or else its payment posting (``payment_id``). A number
    that is ``''`` or 0 matches nothing."""
    invoice = _number(match.get("invoice_id_"))
    if _yes(match.get("is_creditnote")):
        return invoice, _number(match.get("creditnote_id_")), 0
    return invoice, 0, _number(match.get("payment_id"))


def open_items(
    *,
    invoices: Iterable[Row],
    creditnotes: Iterable[Row],
    payments: Iterable[Row],
    matches: Iterable[Row],
) -> Iterator[OpenItem]:
    """The open items, with their remaining amount, from the four open-set extracts.

    ``matches`` (the ``is_matched=NO`` matches) is consumed first; the other three are streamed. Rows that are
    not open by the rule (not booked, matched, zero remaining) are skipped, so unfiltered input is safe too.
    """
    sums = MatchSums.of(matches)
    for kind, rows, matched in (
        ("INVOICE", invoices, sums.invoice),
        ("CREDITNOTE", creditnotes, sums.creditnote),
    ):
        for row in rows:
            item = _open_document(kind, row, matched)
            if item is not None:
                yield item
    for row in payments:
        if str(row.get("type", "PAYMENT")).upper() != "PAYMENT" or _yes(row.get("is_matched")):
            continue
        posting_id = _number(row.get("id"))
        total = abs(money(row.get("currency_amount")))
        remaining = total - sums.payment.get(posting_id, ZERO)
        if remaining == 0:
            continue
        issued = _issued(row, "payment posting", posting_id)
        yield OpenItem(
            kind="PAYMENT",
            debtor=_text(row.get("module_id_")),
            number=_number(row.get("enc_id_")),
            source_id=posting_id,
            issue_date=issued,
            due_date=issued,
            currency=_text(row.get("currency_name")),
            initial=_signed(total, negative=True),
            remaining=_signed(remaining, negative=True),
            text=str(row.get("txt") or ""),
            row=row,
        )


def _open_document(kind: str, row: Row, matched: Mapping[int, Decimal]) -> OpenItem | None:
    """An invoice (positive) or credit note (negative) with its remaining amount; None when not open."""
    if not _yes(row.get("is_booked")) or _yes(row.get("is_matched")):
        return None
    number = _number(row.get("invoice_id_"))
    total = money(row.get("total_amount"))
    remaining = total - matched.get(number, ZERO)
    if remaining == 0:
        return None
    invoice = kind == "INVOICE"
    issued = _issued(row, "invoice" if invoice else "credit note", number)
    vat = row.get("vat_amount")
    return OpenItem(
        kind=kind,
        debtor=_text(row.get("module_id_")),
        number=number,
        source_id=_number(row.get("id")),
        issue_date=issued,
        due_date=(to_date(row.get("time_due")) or issued) if invoice else issued,
        currency=_text(row.get("currency_name")),
        initial=_signed(total, negative=not invoice),
        remaining=_signed(remaining, negative=not invoice),
        vat=_signed(money(vat), negative=not invoice) if _present(vat) else None,
        order_number=order_text(row.get("order_id_")) if invoice else "",
        text=str(row.get("txt") or ""),
        row=row,
    )


def _issued(row: Row, what: str, number: int) -> date:
    issued = to_date(row.get("time"))
    if issued is None:
        raise ValueError(f"booked {what} {number} has no date")
    return issued


def order_text(value: Any) -> str:
    """An order / reference number as text; ``0`` and empty mean none."""
    text = _text(value)
    return "" if text in ("0", "") else text


def payment_date(matches: Iterable[Row]) -> date | None:
    """The date a settled item was paid: the latest ``time`` of the matches that settled it."""
    dates = [d for d in (to_date(m.get("time")) for m in matches) if d is not None]
    return max(dates) if dates else None


@dataclass(frozen=True, slots=True)
class Mismatch:
    debtor: str
    balance: Decimal
    open_items: Decimal

    @property
    def difference(self) -> Decimal:
        return self.balance - self.open_items


def check_balances(open_sums: Mapping[str, Decimal], balances: Mapping[str, Decimal]) -> list[Mismatch]:
    """The invariant: Σ open items per debtor == the debtor's ``balance``; the debtors that disagree."""
    out = []
    for debtor in _debtor_order(set(open_sums) | set(balances)):
        balance = balances.get(debtor, ZERO)
        total = open_sums.get(debtor, ZERO)
        if balance != total:
            out.append(Mismatch(debtor, balance, total))
    return out


def _debtor_order(debtors: set[str]) -> list[str]:
    """Debtor numbers in numeric order, then any other debtor codes by name."""
    numbers = sorted((d for d in debtors if d.isdigit()), key=lambda d: (int(d), d))
    return numbers + sorted(d for d in debtors if not d.isdigit())
