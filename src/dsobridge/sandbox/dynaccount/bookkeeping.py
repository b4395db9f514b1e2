"""The bookkeeping tables as the real API has them (``dynaccount-fields.md`` §B).

``draft`` is a named journal (kassekladde); ``enclosure`` a voucher in it (bilag: date, number, text);
``accounting`` the voucher's posting lines. A line posts ``amount`` to ``account_id_`` and −``amount`` to
``accountoff_id_`` (either may be empty). ``type`` says what ``accountoff_id_`` is: a ledger account
(``LEDGER``) or a debtor NUMBER (``DEBTOR_INVOICE``; ``account_id_`` then empty or a ledger account).

So a customer payment is a voucher that credits the debtor — a ``DEBTOR_INVOICE`` line with the debtor in
``accountoff_id_``, a positive ``amount`` and the ``invoice_id_`` it pays — and debits the bank (a ``LEDGER``
line on the bank account, or the bank in the same line's ``account_id_``). ``book_draft`` books the journal's
vouchers: each must balance (in DKK); each ``DEBTOR_INVOICE`` line becomes a ``PAYMENT`` posting in the
debtor sub-ledger, matched to its invoice up to the invoice's remaining amount (the excess, or a payment
without ``invoice_id_``, stays open on account), all in one transaction with the derived columns.
Amounts are in the line's ``currency_name`` at ``currency_rate`` (DKK per 100); ``currency_amount`` is the
DKK value.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from typing import Any

from dsobridge.sandbox.dynaccount import ledger
from dsobridge.sandbox.dynaccount.documents import MAX_AMOUNT, MAX_AMOUNT_TEXT
from dsobridge.sandbox.dynaccount.errors import Invalid, NotFound
from dsobridge.sandbox.dynaccount.store import fetch_all, fetch_one
from dsobridge.sandbox.dynaccount.values import from_cents, round_half_up

LEDGER, DEBTOR_INVOICE = "LEDGER", "DEBTOR_INVOICE"
PAYMENT_TEXT = "Indbetaling"


def _voucher(c: sqlite3.Connection, enclosure_id: int, field: str) -> dict[str, Any]:
    voucher = fetch_one(c, "SELECT * FROM enclosure WHERE id=?", (enclosure_id,))
    if voucher is None:
        raise Invalid({field: f"No enclosure with id {enclosure_id}"})
    return voucher


def _unbooked(voucher: dict[str, Any], field: str) -> None:
    if voucher["is_booked"] == "YES":
        raise Invalid({field: f"Voucher {voucher['enc_id_']} is booked; its lines cannot change"})


# -- enclosure (the voucher) ------------------------------------------------------------------------------
def voucher_before_write(
    c: sqlite3.Connection, values: dict[str, Any], existing: dict[str, Any] | None, today: dt.date
) -> None:
    if existing is not None and existing["is_booked"] == "YES":
        raise Invalid(dict.fromkeys(values, "A booked voucher cannot be changed"))
    if (
        "draft_id" in values
        and not c.execute("SELECT 1 FROM draft WHERE id=?", (values["draft_id"],)).fetchone()
    ):
        raise Invalid({"draft_id": f"No draft with id {values['draft_id']}"})
    if existing is None:
        values.setdefault("time", today.isoformat())
        if not values.get("enc_id_"):
            values["enc_id_"] = ledger.next_enc_no(c)
    if "enc_id_" in values:
        if values["enc_id_"] <= 0:
            raise Invalid({"enc_id_": "Must be a positive voucher number"})
        clash = c.execute(
            "SELECT 1 FROM enclosure WHERE enc_id_=? AND id<>?",
            (values["enc_id_"], existing and existing["id"]),
        ).fetchone()
        if clash:
            raise Invalid({"enc_id_": f"A voucher with enc_id_ '{values['enc_id_']}' already exists"})
    if "dimension_name" in values:
        found = c.execute("SELECT id FROM dimension WHERE name=?", (values["dimension_name"],)).fetchone()
        values["dimension_id"] = found[0] if found else 0


def voucher_after_write(c: sqlite3.Connection, row_id: int, values: dict[str, Any]) -> None:
    if "time" in values:
        c.execute("UPDATE accounting SET time=? WHERE enclosure_id=?", (values["time"], row_id))
    ledger.note_voucher_number(c, row_id)


def voucher_before_delete(c: sqlite3.Connection, existing: dict[str, Any]) -> None:
    if existing["is_booked"] == "YES":
        raise Invalid({"id": f"Voucher {existing['enc_id_']} is booked and cannot be deleted"})
    c.execute("DELETE FROM accounting WHERE enclosure_id=?", (existing["id"],))


def refresh_voucher(c: sqlite3.Connection, enclosure_id: int) -> None:
    """A voucher's balance (Σ debits − Σ credits, DKK: 0 when it balances), VAT and profit, from its lines."""
    balance = vat = profit = 0
    for account, accountoff, dkk, percent, account_type, off_type in c.execute(
        "SELECT l.account_id_, l.accountoff_id_, l.currency_amount, coalesce(v.percent, 0), "
        "coalesce(a.type, ''), coalesce(o.type, '') FROM accounting l "
        "LEFT JOIN vatcode v ON v.name = l.vatcode_name LEFT JOIN account a ON a.account_id_ = l.account_id_ "
        "LEFT JOIN account o ON o.account_id_ = l.accountoff_id_ AND l.type = 'LEDGER' WHERE "
        "l.enclosure_id=?",
        (enclosure_id,),
    ):
        balance += (dkk if account else 0) - (dkk if accountoff else 0)
        vat += round_half_up(Decimal(dkk) * percent / (10000 + percent))
        profit += (-dkk if account_type == "PROFIT" else 0) + (dkk if off_type == "PROFIT" else 0)
    if max(abs(balance), abs(profit)) > MAX_AMOUNT:
        raise Invalid({"amount": f"The voucher's totals would exceed {MAX_AMOUNT_TEXT} DKK"})
    c.execute(
        "UPDATE enclosure SET balance_amount=?, vat_amount=?, profit_amount=? WHERE id=?",
        (balance, vat, profit, enclosure_id),
    )


# -- accounting (the voucher's lines) ---------------------------------------------------------------------
def _ledger_account(c: sqlite3.Connection, number: int, field: str) -> None:
    if not c.execute("SELECT 1 FROM account WHERE account_id_=?", (number,)).fetchone():
        raise Invalid({field: f"No account with account_id_ '{number}'"})


def line_before_write(
    c: sqlite3.Connection, values: dict[str, Any], existing: dict[str, Any] | None, today: dt.date
) -> None:
    merged = {**(existing or {}), **values}
    if existing is not None:
        _unbooked(_voucher(c, existing["enclosure_id"], "enclosure_id"), "enclosure_id")
    voucher = _voucher(c, merged["enclosure_id"], "enclosure_id")
    _unbooked(voucher, "enclosure_id")
    kind = merged.get("type") or LEDGER
    errors: dict[str, str] = {}
    if not merged.get("amount"):
        errors["amount"] = "Required field (a non-zero amount)"
    if kind == LEDGER:
        if not merged.get("account_id_"):
            errors["account_id_"] = "Required for a LEDGER line (a ledger account number)"
        if merged.get("accountoff_id_"):
            _ledger_account(c, merged["accountoff_id_"], "accountoff_id_")
        if merged.get("invoice_id_"):
            errors["invoice_id_"] = "Only a DEBTOR_INVOICE line names an invoice"
        currency = merged.get("currency_name") or ledger.BASE_CURRENCY
    else:
        debtor = fetch_one(
            c,
            "SELECT module_id_, ref_currency_name FROM debtor WHERE module_id_=?",
            (merged.get("accountoff_id_") or 0,),
        )
        if debtor is None:
            errors["accountoff_id_"] = (
                f"No debtor with module_id_ '{merged.get('accountoff_id_') or ''}' "
                "(a DEBTOR_INVOICE line has the debtor's number in accountoff_id_)"
            )
            currency = ledger.BASE_CURRENCY
        else:
            currency = debtor["ref_currency_name"] or ledger.BASE_CURRENCY
            if merged.get("currency_name") and merged["currency_name"] != currency:
                errors["currency_name"] = f"Must be the debtor's currency ({currency})"
            if merged.get("invoice_id_"):
                problem = payable_invoice(c, merged["invoice_id_"], debtor["module_id_"])
                if problem:
                    errors["invoice_id_"] = problem
        if (merged.get("amount") or 0) < 0:
            errors["amount"] = (
                "A DEBTOR_INVOICE line credits the debtor: a payment received has amount > 0 (debiting a "
                "debtor, an invoice or a refund, is not emulated: book invoices with book_debtor_invoice)"
            )
    if errors:
        raise Invalid(errors)
    if existing is None:
        values.setdefault("type", kind)
    same_currency = existing is not None and existing["currency_name"] == currency
    values["currency_name"] = currency
    rate = values.get("currency_rate") or (existing["currency_rate"] if same_currency else 0)
    rate = rate or ledger.currency_rate(c, currency)
    if not 0 < rate <= ledger.MAX_RATE:
        raise Invalid({"currency_rate": "Must be greater than 0 and at most 100000.00 (DKK per 100 units)"})
    values["currency_rate"] = rate
    values["currency_amount"] = ledger.dkk(merged["amount"], rate)
    if abs(values["currency_amount"]) > MAX_AMOUNT:
        raise Invalid({"amount": f"amount × currency_rate exceeds {MAX_AMOUNT_TEXT} DKK"})
    values["time"] = voucher["time"]


def payable_invoice(c: sqlite3.Connection, invoice_no: int, module_no: int) -> str:
    """Why a payment of debtor ``module_no`` cannot name invoice ``invoice_no`` ('' when it can)."""
    owner = c.execute(
        "SELECT module_id_ FROM debtor_invoice WHERE invoice_id_=? AND is_booked='YES'", (invoice_no,)
    ).fetchone()
    if owner is None:
        return f"No booked debtor invoice number {invoice_no}"
    if owner[0] != module_no:
        return f"Invoice {invoice_no} belongs to another debtor"
    return ""


# -- book_draft ---------------------------------------------------------------------------------------------
def _problems(c: sqlite3.Connection, voucher: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, str]:
    problems: dict[str, str] = {}
    if voucher["balance_amount"]:
        difference = from_cents(voucher["balance_amount"])
        problems["balance_amount"] = (
            f"Voucher {voucher['enc_id_']} does not balance (difference {difference} DKK)"
        )
    for line in lines:
        if line["type"] == DEBTOR_INVOICE and line["invoice_id_"]:
            problem = payable_invoice(c, line["invoice_id_"], line["accountoff_id_"])
            if problem:
                problems[f"accounting {line['id']}"] = problem
    return problems


def _lines(c: sqlite3.Connection, enclosure_id: int) -> list[dict[str, Any]]:
    return fetch_all(c, "SELECT * FROM accounting WHERE enclosure_id=? ORDER BY id", (enclosure_id,))


def book(c: sqlite3.Connection, draft_id: int, today: dt.date) -> list[tuple[int, list[int]]]:
    """Book every voucher of journal ``draft_id`` that has lines: [(enclosure id, [accounting ids])].

    All or nothing: a voucher that does not balance, or a payment naming an invoice it cannot pay, refuses
    the whole booking (errors keyed by the voucher's row id). Vouchers without lines stay in the journal.
    """
    if not c.execute("SELECT 1 FROM draft WHERE id=?", (draft_id,)).fetchone():
        raise NotFound(f"No draft with id {draft_id}")
    plan: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    errors: dict[str, dict[str, str]] = {}
    vouchers = fetch_all(
        c, "SELECT * FROM enclosure WHERE draft_id=? AND is_booked='NO' ORDER BY enc_id_, id", (draft_id,)
    )
    for voucher in vouchers:
        lines = _lines(c, voucher["id"])
        if not lines:
            continue
        problems = _problems(c, voucher, lines)
        if problems:
            errors[str(voucher["id"])] = problems
        plan.append((voucher, lines))
    if errors:
        raise Invalid(errors)
    if not plan:
        raise Invalid({"draft_id": "The journal has no vouchers with lines to book"})
    for voucher, lines in plan:
        post_voucher(c, voucher, lines, today)
    return [(voucher["id"], [line["id"] for line in lines]) for voucher, lines in plan]


def book_voucher(c: sqlite3.Connection, enclosure_id: int, today: dt.date) -> list[int]:
    """Book one voucher (what ``book`` does for each voucher of a journal); returns its line ids."""
    voucher = _voucher(c, enclosure_id, "enclosure_id")
    _unbooked(voucher, "enclosure_id")
    lines = _lines(c, enclosure_id)
    if not lines:
        raise Invalid({"enclosure_id": f"Voucher {voucher['enc_id_']} has no lines"})
    problems = _problems(c, voucher, lines)
    if problems:
        raise Invalid({str(enclosure_id): problems})
    post_voucher(c, voucher, lines, today)
    return [line["id"] for line in lines]


def post_voucher(
    c: sqlite3.Connection, voucher: dict[str, Any], lines: list[dict[str, Any]], today: dt.date
) -> None:
    """Make the postings of one checked voucher and lock it."""
    when = dt.date.fromisoformat(voucher["time"]) if voucher["time"] else today
    for line in lines:
        if line["type"] != DEBTOR_INVOICE:
            continue
        ledger.book_payment(
            c,
            line["accountoff_id_"],
            line["amount"],
            when,
            voucher["txt"] or PAYMENT_TEXT,
            today,
            invoice_no=line["invoice_id_"],
            currency=line["currency_name"],
            rate=line["currency_rate"],
            enc_no=voucher["enc_id_"],
        )
    c.execute("UPDATE accounting SET is_readonly='YES' WHERE enclosure_id=?", (voucher["id"],))
    c.execute("UPDATE enclosure SET is_booked='YES' WHERE id=?", (voucher["id"],))


def empty(c: sqlite3.Connection, draft_id: int) -> int:
    """Delete the journal's unbooked vouchers and their lines; returns how many vouchers went."""
    if not c.execute("SELECT 1 FROM draft WHERE id=?", (draft_id,)).fetchone():
        raise Invalid({"draft_id": f"No draft with id {draft_id}"})
    c.execute(
        "DELETE FROM accounting WHERE enclosure_id IN "
        "(SELECT id FROM enclosure WHERE draft_id=? AND is_booked='NO')",
        (draft_id,),
    )
    return c.execute("DELETE FROM enclosure WHERE draft_id=? AND is_booked='NO'", (draft_id,)).rowcount
