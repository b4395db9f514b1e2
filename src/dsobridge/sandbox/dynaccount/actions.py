"""The actions of the seed. Those with real effects are emulated; every other one of the 38 answers 400
"not supported by the sandbox" (never a fake success); a name outside the seed's list is 404.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dsobridge.sandbox.dynaccount import ledger, pdf
from dsobridge.sandbox.dynaccount.errors import Invalid, NotFound, Unsupported
from dsobridge.sandbox.dynaccount.store import Store
from dsobridge.sandbox.dynaccount.values import from_cents, parse_date, to_cents
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
        raise Invalid({name: "Must be a date (YYYY-MM-DD, m-d-Y or a Unix timestamp)"}) from None


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

    def book_debtor_invoice(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        row_id = _int(params, "id")
        ledger.book_invoice(c, row_id, today)
        return [self._row(c, "debtor_invoice", row_id)]

    def credit_debtor_invoice(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        invoice_no = _int(params, "invoice_id")
        amount = _money(params, "amount")
        note = ledger.credit_invoice(
            c, invoice_no, amount, _date(params, "time", today), params.get("txt", ""), today
        )
        return [self._row(c, "debtor_creditnote", note)]

    def send_debtor_invoice(self, c: sqlite3.Connection, params: Params, today: dt.date) -> list[Any]:
        invoice_no = _int(params, "invoice_id")
        row = c.execute(
            "SELECT i.id, d.email_invoice, d.email FROM debtor_invoice i JOIN debtor d ON d.id = i.module_id "
            "WHERE i.invoice_id_=? AND i.is_booked='YES'",
            (invoice_no,),
        ).fetchone()
        if row is None:
            raise Invalid({"invoice_id": f"No booked debtor invoice number {invoice_no}"})
        email = params.get("email", "").strip() or row[1] or row[2]
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
                "invoice_id": invoice_no,
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
        removed = c.execute("DELETE FROM draft").rowcount
        return [{"deleted": removed}]

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
        """Book the draft's lines (or those of one ``enc_id_``): DEBTOR lines post PAYMENT rows."""
        only = _int(params, "enc_id_", required=False)
        cursor = c.execute(
            "SELECT * FROM draft" + (" WHERE enc_id_=?" if only else "") + " ORDER BY id",  # noqa: S608
            (only,) if only else (),
        )
        names = [d[0] for d in cursor.description]
        lines = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if not lines:
            raise Invalid({"draft": "The draft has no lines to book"})
        errors: dict[str, dict[str, str]] = {}
        for line in lines:
            problem: dict[str, str] = {}
            if line["type"] == "DEBTOR":
                if line["amount"] <= 0:
                    problem["amount"] = "A DEBTOR line must be a payment received (amount > 0)"
                if line["invoice_id_"]:
                    owner = c.execute(
                        "SELECT module_id_ FROM debtor_invoice WHERE invoice_id_=? AND is_booked='YES'",
                        (line["invoice_id_"],),
                    ).fetchone()
                    if owner is None:
                        problem["invoice_id_"] = f"No booked debtor invoice number {line['invoice_id_']}"
                    elif owner[0] != line["module_id_"]:
                        problem["invoice_id_"] = f"Invoice {line['invoice_id_']} belongs to another debtor"
            elif line["type"] == "CREDITOR":
                problem["type"] = "CREDITOR lines are not supported by the sandbox"
            elif not line["account_id_"]:
                problem["account_id_"] = "Required for a FINANCE line"
            if problem:
                errors[str(line["id"])] = problem
        if errors:
            raise Invalid(errors)
        result: list[Any] = []
        for line in lines:
            enc = line["enc_id_"] or ledger.next_enc_no(c)
            time = dt.date.fromisoformat(line["time"]) if line["time"] else today
            if line["type"] == "DEBTOR":
                posting = ledger.book_payment(
                    c,
                    line["module_id_"],
                    line["amount"],
                    time,
                    line["txt"],
                    today,
                    invoice_no=line["invoice_id_"],
                    enc_no=enc,
                )
                result.append(self._row(c, "debtor_accounting_module", posting))
            c.execute(
                "INSERT INTO enclosure (enc_id_, time, txt, amount, type) VALUES (?,?,?,?,?)",
                (enc, time.isoformat(), line["txt"], line["amount"], line["type"]),
            )
            if line["type"] != "DEBTOR":
                result.append(
                    self._row(c, "enclosure", int(c.execute("SELECT last_insert_rowid()").fetchone()[0]))
                )
            c.execute("DELETE FROM draft WHERE id=?", (line["id"],))
        return result
