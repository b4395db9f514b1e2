"""The actions of the seed. Those with real effects are emulated; every other one of the 38 answers 400
"not supported by the sandbox" (never a fake success); a name outside the seed's list is 404.

Parameters follow the naming rule: ``id`` and ``<table>_id`` are row ids (``invoice_id`` of
``send_debtor_invoice`` and ``credit_debtor_invoice`` is the invoice's ROW id, ``draft_id`` of ``book_draft``
the journal's), a trailing ``_`` is a human number. An id that names no row is a 404, one that names a row
the action cannot use (a draft invoice to send) a 400 — never another document.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dsobridge.sandbox.dynaccount import bookkeeping, ledger, pdf, rules
from dsobridge.sandbox.dynaccount.errors import Invalid, NotFound, Unsupported
from dsobridge.sandbox.dynaccount.store import Store
from dsobridge.sandbox.dynaccount.values import DATE_MESSAGE, from_cents, parse_date, to_cents
from dsobridge.sandbox.dynaccount.wire import RawJSON

SEED_ACTIONS = [
    "activate_debtor_subscription",
    "activate_debtor_subscription_group",
    "approve_creditor_order",
    "approve_debtor_order",
    "attach_transaction",
    "attach_voucher",
    "book_creditor_invoice",
    "book_debtor_invoice",
    "book_draft",
    "charge_subscription_group",
    "close_year",
    "complete_followup",
    "convert_currency",
    "credit_debtor_invoice",
    "deactivate_debtor_subscription",
    "deactivate_debtor_subscription_group",
    "delete_reminder",
    "detach_voucher",
    "disapprove_creditor_order",
    "disapprove_debtor_order",
    "empty_draft",
    "get_next_enc_id_",
    "get_next_module_id_",
    "incomplete_followup",
    "invoice_creditor_order",
    "invoice_debtor_order",
    "reopen_year",
    "send_creditor_order",
    "send_debtor_account_statements",
    "send_debtor_creditnote",
    "send_debtor_creditnote_ean",
    "send_debtor_invoice",
    "send_debtor_invoice_ean",
    "send_debtor_order",
    "send_debtor_quote",
    "send_debtor_reminder",
    "set_opportunity_status",
    "transfer_quote_order",
]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Params = dict[str, str]
_DIGITS = re.compile(r"^[0-9]{1,18}$")


def _int(params: Params, name: str, *, required: bool = True, default: int = 0) -> int:
    text = params.get(name, "").strip()
    if not text:
        if required:
            raise Invalid({name: "Required parameter"})
        return default
    if not _DIGITS.match(text):  # ASCII only (str.isdigit takes '²'), and within SQLite's 64 bits
        raise Invalid({name: "Must be a positive integer"})
    return int(text)


def _money(params: Params, name: str) -> int | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    if not re.fullmatch(r"-?\d{1,13}(\.\d{1,2})?", text):
        raise Invalid({name: "Must be an amount with at most two decimals"})
    return to_cents(text)


def _date(params: Params, name: str, today: dt.date) -> dt.date:
    text = params.get(name, "").strip()
    if not text:
        return today
    try:
        return parse_date(text)
    except (ValueError, OverflowError, OSError):
        raise Invalid({name: DATE_MESSAGE}) from None


class Actions:
    """Dispatch of action names to handlers working inside one transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.handlers: dict[str, Callable[[sqlite3.Connection, Params, dt.date], list[Any]]] = {
            "book_debtor_invoice": self.book_debtor_invoice,
            "credit_debtor_invoice": self.credit_debtor_invoice,
            "send_debtor_invoice": self.send_debtor_invoice,
            "get_next_module_id_": self.get_next_module_id_,
            "get_next_enc_id_": self.get_next_enc_id_,
            "book_draft": self.book_draft,
            "empty_draft": self.empty_draft,
            "convert_currency": self.convert_currency,
            "complete_followup": self.complete_followup,
            "incomplete_followup": self.incomplete_followup,
            "set_opportunity_status": self.set_opportunity_status,
        }

    def run(self, c: sqlite3.Connection, name: str, params: Params, today: dt.date) -> list[Any]:
        handler = self.handlers.get(name)
        if handler is None:
            if name in SEED_ACTIONS:
                raise Unsupported(name)
            raise NotFound(f"Unknown action '{name}'")
        return handler(c, params, today)

    def _row(self, c: sqlite3.Connection, table: str, row_id: int) -> RawJSON:
        return RawJSON(self.store.row_json(c, table, row_id) or "null")

    @staticmethod
    def _booked_invoice(c: sqlite3.Connection, params: Params) -> tuple[int, int]:
        """(row id, number) of the booked invoice ``invoice_id`` (a ROW id) names."""
        row_id = _int(params, "invoice_id")
        row = c.execute("SELECT invoice_id_, is_booked FROM debtor_invoice WHERE id=?", (row_id,)).fetchone()
        if row is None:
            raise NotFound(f"No debtor_invoice with id {row_id} (invoice_id is the invoice's row id)")
        if row[1] != "YES":
            raise Invalid({"invoice_id": f"Invoice {row_id} is a draft: book it first"})
        return row_id, int(row[0])

    def book_debtor_invoice(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        row_id = _int(params, "id")
        ledger.book_invoice(c, row_id, today)
        return [self._row(c, "debtor_invoice", row_id)]

    def credit_debtor_invoice(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        _, invoice_no = self._booked_invoice(c, params)
        amount = _money(params, "amount")
        note = ledger.credit_invoice(
            c, invoice_no, amount, _date(params, "time", today), params.get("txt", ""), today
        )
        return [self._row(c, "debtor_creditnote", note)]

    def send_debtor_invoice(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        row_id, invoice_no = self._booked_invoice(c, params)
        row = c.execute(
            "SELECT d.email_invoice, d.email FROM debtor_invoice i JOIN debtor d ON d.module_id_ = "
            "i.module_id_ "
            "WHERE i.id=?",
            (row_id,),
        ).fetchone() or ("", "")
        email = params.get("email", "").strip() or row[0] or row[1]
        if not email or not _EMAIL.match(email):
            raise Invalid({"email": "A valid e-mail address is required (none on the debtor either)"})
        attached = params.get("is_attached", "YES") or "YES"
        if attached not in ("YES", "NO"):
            raise Invalid({"is_attached": "Must be YES or NO"})
        document = pdf.document_pdf(c, "invoice", invoice_no)
        cursor = c.execute(
            "INSERT INTO _outbox (time, invoice_id_, email, msg, is_attached, pdf) VALUES (?,?,?,?,?,?)",
            (today.isoformat(), invoice_no, email, params.get("msg", ""), attached, document),
        )
        return [
            {
                "invoice_id": row_id,
                "invoice_id_": invoice_no,
                "email": email,
                "is_attached": attached,
                "is_sent": "YES",
                "outbox_id": int(cursor.lastrowid or 0),
            }
        ]

    def get_next_module_id_(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        kind = params.get("type", "debtor") or "debtor"
        if kind not in ("debtor", "creditor"):
            raise Invalid({"type": "Must be debtor or creditor"})
        return [{"module_id_": ledger.next_module_no(c, kind)}]

    def get_next_enc_id_(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        return [{"enc_id_": ledger.next_enc_no(c)}]

    def empty_draft(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        """Delete the journal's unbooked vouchers (and their lines): ``{draft_id}``."""
        draft_id = _draft_id(params)
        return [{"draft_id": draft_id, "deleted": bookkeeping.empty(c, draft_id)}]

    def complete_followup(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        return self._finish_followup(c, params, "YES")

    def incomplete_followup(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        return self._finish_followup(c, params, "NO")

    def _finish_followup(self, c: sqlite3.Connection, params: Params, finished: str) -> list[Any]:
        row_id = _int(params, "id")
        row = c.execute("SELECT contact_id FROM followup WHERE id=?", (row_id,)).fetchone()
        if row is None:
            raise NotFound(f"No followup with id {row_id}")
        c.execute("UPDATE followup SET is_finished=? WHERE id=?", (finished, row_id))
        rules.refresh_followups(c, row[0])
        return [self._row(c, "followup", row_id)]

    def set_opportunity_status(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        """``{id, status}``: OPEN, WON or LOST; a WON or LOST opportunity ends today (``is_ended_time``)."""
        row_id = _int(params, "id")
        status = params.get("status", "").strip().upper()
        if status not in ("OPEN", "WON", "LOST"):
            raise Invalid({"status": "Must be one of OPEN, WON, LOST"})
        if not c.execute("SELECT 1 FROM opportunity WHERE id=?", (row_id,)).fetchone():
            raise NotFound(f"No opportunity with id {row_id}")
        ended = "" if status == "OPEN" else today.isoformat()
        c.execute("UPDATE opportunity SET status=?, is_ended_time=? WHERE id=?", (status, ended, row_id))
        return [self._row(c, "opportunity", row_id)]

    def convert_currency(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        source = params.get("from_currency") or params.get("currency_name") or ""
        target = params.get("to_currency") or "DKK"
        if not source:
            raise Invalid({"currency_name": "Required parameter"})
        amount = _money(params, "amount")
        amount = 10000 if amount is None else amount
        rate_from = ledger.currency_rate(c, source)
        try:
            rate_to = ledger.currency_rate(c, target)
        except Invalid:
            raise Invalid({"to_currency": f"No currency named '{target}'"}) from None
        if rate_from <= 0 or rate_to <= 0:  # only a database written before rates were validated
            raise Invalid({"currency_name": "The currency has no exchange rate"})
        converted = (Decimal(amount) * rate_from / rate_to / 100).quantize(Decimal("0.01"))
        rate = (Decimal(rate_from) / rate_to * 100).quantize(Decimal("0.000001"))
        return [
            {
                "from_currency": source,
                "to_currency": target,
                "time": _date(params, "time", today).isoformat(),
                "rate": rate,
                "amount": from_cents(amount),
                "converted_amount": converted,
            }
        ]

    def book_draft(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        """Book the journal's vouchers (``{draft_id}``, or ``{id}``): one result row per booked voucher, the
        voucher as get returns it with its posted lines under ``lines`` (a ``DEBTOR_INVOICE`` line names the
        debtor in ``accountoff_id_`` and the invoice it pays in ``invoice_id_``)."""
        booked = bookkeeping.book(c, _draft_id(params), today)
        return [voucher_json(self.store, c, enclosure_id, line_ids) for enclosure_id, line_ids in booked]


def voucher_json(store: Store, c: sqlite3.Connection, enclosure_id: int, line_ids: list[int]) -> RawJSON:
    """A booked voucher as ``book_draft`` answers it: the enclosure row with its lines under ``lines``."""
    voucher = store.row_json(c, "enclosure", enclosure_id) or "{}"
    lines = ",".join(store.row_json(c, "accounting", i) or "null" for i in line_ids)
    return RawJSON(f'{voucher[:-1]},"lines":[{lines}]}}')


def _draft_id(params: Params) -> int:
    """The journal's row id: ``draft_id``, or ``id`` (both accepted; they must agree when both are given)."""
    if params.get("draft_id", "").strip() and params.get("id", "").strip():
        draft_id, same = _int(params, "draft_id"), _int(params, "id")
        if draft_id != same:
            raise Invalid({"id": "Give the journal's row id once (draft_id or id)"})
        return draft_id
    if params.get("id", "").strip():
        return _int(params, "id")
    return _int(params, "draft_id")
