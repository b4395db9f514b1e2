"""Accounting logic: numbering, booking, crediting, payments, and the derived open-item columns.

``is_matched``, the hidden ``_remaining`` of every posting, ``debtor.balance`` and ``debtor.due`` are only
ever written by ``recompute`` — called in the same transaction as the postings and matches that change them —
so they always agree with the open-item rule of ``docs/receivables-model.md``. All amounts are integer
hundredths in the document's (= the debtor's) currency; ``dkk`` converts with the posting's rate.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from dsobridge.sandbox.dynaccount.errors import Invalid, NotFound
from dsobridge.sandbox.dynaccount.values import round_half_up

FIRST_DEBTOR_NO = 10001
FIRST_DOCUMENT_NO = 1001
BASE_CURRENCY = "DKK"
# DKK per 100 units, in hundredths: above 100,000.00 a converted 13-digit amount would overflow 64 bits.
MAX_RATE = 10_000_000


def dkk(cents: int, rate_cents: int) -> int:
    """Document-currency hundredths → DKK hundredths (rate = DKK per 100 units, in hundredths)."""
    if rate_cents == 10000:
        return cents
    return round_half_up(Decimal(cents) * rate_cents / 10000)


def currency_rate(c: sqlite3.Connection, name: str) -> int:
    row = c.execute("SELECT rate FROM currency WHERE name=?", (name,)).fetchone()
    if row is None:
        raise Invalid({"currency_name": f"No currency named '{name}'"})
    return int(row[0])


def due_from_terms(kind: str, days: int, issued: dt.date) -> dt.date:
    """NET: issue date + days; CURRENT_MONTH: end of the issue month + days."""
    start = issued
    if kind == "CURRENT_MONTH":
        start = issued.replace(day=calendar.monthrange(issued.year, issued.month)[1])
    return start + dt.timedelta(days=days)


def due_date(c: sqlite3.Connection, payment_name: str, issued: dt.date) -> dt.date:
    """The due date of an invoice issued on ``issued`` with these payment terms (no terms: the issue date)."""
    row = c.execute("SELECT type, days FROM payment WHERE name=?", (payment_name,)).fetchone()
    if row is None:
        return issued
    try:
        return due_from_terms(row[0], int(row[1]), issued)
    except OverflowError:  # a date near 9999-12-31, or absurd days: the due date does not exist
        raise Invalid({"time": "The due date (issue date + payment terms) is past year 9999"}) from None


def _max(c: sqlite3.Connection, sql: str) -> int:
    return int(c.execute(sql).fetchone()[0] or 0)


def next_document_no(c: sqlite3.Connection) -> int:
    """Invoices and credit notes share one number series from 1001."""
    top = max(
        _max(c, "SELECT max(invoice_id_) FROM debtor_invoice"),
        _max(c, "SELECT max(invoice_id_) FROM debtor_creditnote"),
    )
    return max(top + 1, FIRST_DOCUMENT_NO)


def next_enc_no(c: sqlite3.Connection) -> int:
    """One voucher series for vouchers (``enclosure``) and the postings of booked invoices and credit
    notes."""
    top = max(
        _max(c, "SELECT max(enc_id_) FROM debtor_accounting_module"),
        _max(c, "SELECT max(enc_id_) FROM enclosure"),
    )
    return top + 1


def note_voucher_number(c: sqlite3.Connection, enclosure_id: int) -> None:
    row = c.execute("SELECT enc_id_, time FROM enclosure WHERE id=?", (enclosure_id,)).fetchone()
    if row is not None:
        _note_enc(c, row[0], row[1])


def _note_enc(c: sqlite3.Connection, enc_no: int, when: str) -> None:
    """``year.enc_next_id_``: the next voucher number after the highest one used in that year."""
    c.execute(
        "UPDATE year SET enc_next_id_ = max(enc_next_id_, ?) WHERE time_start <= ? AND time_end >= ?",
        (enc_no + 1, when, when),
    )


def next_module_no(c: sqlite3.Connection, table: str = "debtor") -> int:
    return max(_max(c, f"SELECT max(module_id_) FROM {table}") + 1, FIRST_DEBTOR_NO)  # noqa: S608


def debtor_of(c: sqlite3.Connection, module_no: int) -> tuple[int, str]:
    row = c.execute("SELECT id, ref_currency_name FROM debtor WHERE module_id_=?", (module_no,)).fetchone()
    if row is None:
        raise Invalid({"module_id_": f"No debtor with module_id_ {module_no}"})
    return int(row[0]), row[1] or BASE_CURRENCY


def book_invoice(c: sqlite3.Connection, row_id: int, today: dt.date) -> int:
    """Book a draft invoice: number it, post an INVOICE row to the debtor sub-ledger. Returns the number."""
    row = c.execute(
        "SELECT is_booked, module_id_, time, payment_name, currency_name, total_amount, txt "
        "FROM debtor_invoice WHERE id=?",
        (row_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"No debtor_invoice with id {row_id}")
    is_booked, module_no, time, payment_name, currency, total, txt = row
    if is_booked == "YES":
        raise Invalid({"id": f"Invoice {row_id} is already booked"})
    if total <= 0:
        raise Invalid({"id": f"Invoice {row_id} has no lines with a positive amount"})
    issued = dt.date.fromisoformat(time) if time else today
    rate = currency_rate(c, currency)
    number = next_document_no(c)
    due = due_date(c, payment_name, issued)
    c.execute(
        "UPDATE debtor_invoice SET invoice_id_=?, is_booked='YES', time=?, time_due=?, currency_rate=?, "
        "fi_payment_id_=?, public_url=?, sha1_ref=?, accountoff_id=? WHERE id=?",
        (
            number,
            issued.isoformat(),
            due.isoformat(),
            rate,
            fi_payment_id(number, module_no),
            public_url(number),
            sha1_ref("invoice", number),
            group_account_row(c, module_no),
            row_id,
        ),
    )
    _post(c, "INVOICE", module_no, number, issued, due.isoformat(), txt or f"Faktura {number}", total, rate)
    recompute(c, [module_no], today, Touched(invoices=(number,)))
    return number


def fi_payment_id(number: int, module_no: int) -> str:
    """An FI payment id (card 71 style) for a booked invoice."""
    return f"+71<{number:015d}+{module_no:08d}<"


def public_url(number: int) -> str:
    return f"https://dynaccount.sandbox/public/invoice/{number}/"


def sha1_ref(kind: str, number: int) -> str:
    """A document's stable reference (``sha1_ref``): SHA-1 of its kind and number."""
    return hashlib.sha1(f"dynaccount-sandbox:{kind}:{number}".encode(), usedforsecurity=False).hexdigest()


def group_account_row(c: sqlite3.Connection, module_no: int) -> int:
    """``accountoff_id`` of a debtor's documents: the row id of its group's account (0 without one)."""
    row = c.execute(
        "SELECT a.id FROM debtor d JOIN debtor_group g ON g.name = d.module_group_name "
        "JOIN account a ON a.account_id_ = g.account_id_ WHERE d.module_id_=?",
        (module_no,),
    ).fetchone()
    return int(row[0]) if row else 0


def _post(
    c: sqlite3.Connection,
    kind: str,
    module_no: int,
    document_no: int,
    time: dt.date,
    time_due: str,
    txt: str,
    signed_cents: int,
    rate: int,
    enc_no: int | None = None,
) -> int:
    debtor_id, currency = debtor_of(c, module_no)
    enc_no = enc_no or next_enc_no(c)
    _note_enc(c, enc_no, time.isoformat())
    cursor = c.execute(
        "INSERT INTO debtor_accounting_module (module_id, module_id_, type, invoice_id_, enc_id_, time, "
        "time_due, txt, amount, currency_name, currency_amount, currency_rate, is_booked, is_matched, "
        "_remaining) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'YES','NO',?)",
        (
            debtor_id,
            module_no,
            kind,
            document_no,
            enc_no,
            time.isoformat(),
            time_due,
            txt,
            dkk(signed_cents, rate),
            currency,
            signed_cents,
            rate,
            abs(signed_cents),
        ),
    )
    return int(cursor.lastrowid or 0)


def _match(
    c: sqlite3.Connection,
    module_no: int,
    time: dt.date,
    invoice_no: int,
    amount: int,
    rate: int,
    *,
    creditnote_no: int = 0,
    payment_id: int = 0,
) -> None:
    debtor_id, _ = debtor_of(c, module_no)
    c.execute(
        "INSERT INTO debtor_invoice_match (module_id, module_id_, "
        "time, invoice_id_, creditnote_id_, payment_id,"
        " amount, currency_rate, currency_amount, is_creditnote, "
        "is_matched) VALUES (?,?,?,?,?,?,?,?,?,?,'NO')",
        (
            debtor_id,
            module_no,
            time.isoformat(),
            invoice_no,
            creditnote_no,
            payment_id,
            amount,
            rate,
            dkk(amount, rate),
            "YES" if creditnote_no else "NO",
        ),
    )


_ADDRESS = ("attention", "address", "zip", "city", "lang")


def _booked_invoice(c: sqlite3.Connection, invoice_no: int, field: str) -> dict:
    row = c.execute(
        "SELECT id, module_id_, total_amount, vat_amount, _remaining, _credited, currency_rate, attention, "
        "address, zip, city, lang FROM debtor_invoice WHERE invoice_id_=? AND is_booked='YES'",
        (invoice_no,),
    ).fetchone()
    if row is None:
        raise Invalid({field: f"No booked debtor invoice number {invoice_no}"})
    keys = ("id", "module_id_", "total", "vat", "remaining", "credited", "rate", *_ADDRESS)
    return dict(zip(keys, row, strict=True))


def credit_invoice(
    c: sqlite3.Connection,
    invoice_no: int,
    amount: int | None,
    time: dt.date,
    txt: str,
    today: dt.date,
) -> int:
    """Create a booked credit note against an invoice; match it up to the invoice's remaining amount.

    ``amount`` (incl. VAT) defaults to the invoice's remaining; it may not exceed what is not yet credited.
    Returns the credit note's row id.
    """
    invoice = _booked_invoice(c, invoice_no, "invoice_id")
    creditable = invoice["total"] - invoice["credited"]
    if amount is None:
        amount = min(invoice["remaining"], creditable)
        if amount <= 0:
            raise Invalid(
                {"amount": f"Invoice {invoice_no} has no remaining amount; give an explicit amount"}
            )
    if amount <= 0:
        raise Invalid({"amount": "Must be greater than 0"})
    if amount > creditable:
        raise Invalid({"amount": f"Exceeds what can still be credited on invoice {invoice_no}"})
    module_no = invoice["module_id_"]
    debtor_id, currency = debtor_of(c, module_no)
    rate = currency_rate(c, currency)
    number = next_document_no(c)
    vat = round_half_up(Decimal(amount) * invoice["vat"] / invoice["total"])
    text = txt or f"Kreditnota til faktura {invoice_no}"
    cursor = c.execute(
        "INSERT INTO debtor_creditnote (module_id, module_id_, invoice_id_, credit_invoice_id_, time, "  # noqa: S608
        "is_booked, is_matched, currency_name, currency_rate, vat_amount, total_amount, txt, sha1_ref, "
        f"{', '.join(_ADDRESS)}, _remaining) VALUES (?,?,?,?,?,'YES','NO',?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            debtor_id,
            module_no,
            number,
            invoice_no,
            time.isoformat(),
            currency,
            rate,
            vat,
            amount,
            text,
            sha1_ref("creditnote", number),
            *(invoice[k] for k in _ADDRESS),
            amount,
        ),
    )
    note_id = int(cursor.lastrowid or 0)
    c.execute(
        "INSERT INTO debtor_creditnote_product (creditnote_id, name, txt, qty, qty_credited, price, "
        "vatcode_name, total_amount, vat_amount) VALUES (?,?,?,100,100,?,?,?,?)",
        (note_id, text, text, amount - vat, "U25" if vat else "", amount, vat),
    )
    _post(c, "CREDITNOTE", module_no, number, time, "", text, -amount, rate)
    allocated = min(amount, invoice["remaining"])
    if allocated > 0:
        _match(c, module_no, time, invoice_no, allocated, rate, creditnote_no=number)
    recompute(c, [module_no], today, Touched(invoices=(invoice_no,), creditnotes=(number,)))
    return note_id


def book_payment(
    c: sqlite3.Connection,
    module_no: int,
    amount: int,
    time: dt.date,
    txt: str,
    today: dt.date,
    *,
    invoice_no: int = 0,
    currency: str = "",
    rate: int = 0,
    enc_no: int | None = None,
) -> int:
    """Post a PAYMENT (amount > 0 received) at ``rate`` (default: the currency's); settle ``invoice_no`` up to
    its remaining. Returns the posting id."""
    _, debtor_currency = debtor_of(c, module_no)
    if currency and currency != debtor_currency:
        raise Invalid({"currency_name": f"Must be the debtor's currency ({debtor_currency})"})
    if amount <= 0:
        raise Invalid({"amount": "Must be greater than 0 (a payment received)"})
    invoice = None
    if invoice_no:
        invoice = _booked_invoice(c, invoice_no, "invoice_id_")
        if invoice["module_id_"] != module_no:
            raise Invalid({"invoice_id_": f"Invoice {invoice_no} belongs to another debtor"})
    rate = rate or currency_rate(c, debtor_currency)
    posting = _post(c, "PAYMENT", module_no, 0, time, "", txt or "Indbetaling", -amount, rate, enc_no)
    if invoice is not None:
        allocated = min(amount, invoice["remaining"])
        if allocated > 0:
            _match(c, module_no, time, invoice_no, allocated, rate, payment_id=posting)
    recompute(
        c, [module_no], today, Touched(invoices=(invoice_no,) if invoice_no else (), payments=(posting,))
    )
    return posting


_RECOMPUTE = [  # (table, statement): each derived column from the postings and matches, in dependency order
    (
        "debtor_invoice",
        """UPDATE debtor_invoice SET
         _remaining = CASE WHEN is_booked='YES' THEN total_amount - coalesce((SELECT sum(m.amount)
             FROM debtor_invoice_match m WHERE m.invoice_id_ = debtor_invoice.invoice_id_), 0)
             ELSE total_amount END,
         _credited = CASE WHEN invoice_id_ > 0 THEN coalesce((SELECT sum(n.total_amount)
             FROM debtor_creditnote n WHERE n.credit_invoice_id_ = debtor_invoice.invoice_id_), 0) ELSE 0 END
       WHERE {f}""",
    ),
    (
        "debtor_invoice",
        """UPDATE debtor_invoice SET
         is_matched = CASE WHEN is_booked='YES' AND _remaining=0 THEN 'YES' ELSE 'NO' END,
         is_credited = CASE WHEN _credited > 0 THEN 'YES' ELSE 'NO' END,
         is_credited_complete = CASE WHEN _credited > 0 AND _credited >= total_amount THEN 'YES' ELSE 'NO' END
       WHERE {f}""",
    ),
    (
        "debtor_creditnote",
        """UPDATE debtor_creditnote SET _remaining = total_amount - coalesce((SELECT sum(m.amount)
         FROM debtor_invoice_match m WHERE m.creditnote_id_ = debtor_creditnote.invoice_id_
         AND m.is_creditnote='YES'), 0) WHERE {f}""",
    ),
    (
        "debtor_creditnote",
        "UPDATE debtor_creditnote SET is_matched = CASE WHEN _remaining=0 THEN 'YES' ELSE 'NO' END WHERE {f}",
    ),
    (
        "debtor_accounting_module",
        """UPDATE debtor_accounting_module SET _remaining = CASE type
         WHEN 'PAYMENT' THEN -currency_amount - coalesce((SELECT sum(m.amount) FROM debtor_invoice_match m
             WHERE m.payment_id = debtor_accounting_module.id AND m.is_creditnote='NO'), 0)
         WHEN 'INVOICE' THEN coalesce((SELECT i._remaining FROM debtor_invoice i
             WHERE i.invoice_id_ = debtor_accounting_module.invoice_id_), 0)
         ELSE coalesce((SELECT n._remaining FROM debtor_creditnote n
             WHERE n.invoice_id_ = debtor_accounting_module.invoice_id_), 0) END
       WHERE {f}""",
    ),
    (
        "debtor_accounting_module",
        "UPDATE debtor_accounting_module SET is_matched = CASE WHEN "
        "_remaining=0 THEN 'YES' ELSE 'NO' END WHERE {f}",
    ),
    (
        "debtor_invoice_match",
        """UPDATE debtor_invoice_match SET is_matched = CASE WHEN
         coalesce((SELECT i._remaining FROM debtor_invoice i
             WHERE i.invoice_id_ = debtor_invoice_match.invoice_id_), 0) = 0
         AND (CASE WHEN is_creditnote='YES' THEN coalesce((SELECT n._remaining FROM debtor_creditnote n
                 WHERE n.invoice_id_ = debtor_invoice_match.creditnote_id_), 0)
             ELSE coalesce((SELECT p._remaining FROM debtor_accounting_module p
                 WHERE p.id = debtor_invoice_match.payment_id), 0) END) = 0
         THEN 'YES' ELSE 'NO' END
       WHERE {f}""",
    ),
    (
        "debtor",
        """UPDATE debtor SET
         balance = coalesce((SELECT sum(i._remaining) FROM debtor_invoice i INDEXED BY ix_inv_debtor_open
                 WHERE i.module_id_ = debtor.module_id_ AND i.is_booked='YES' AND i._remaining <> 0), 0)
             - coalesce((SELECT sum(n._remaining) FROM debtor_creditnote n
                 WHERE n.module_id_ = debtor.module_id_ AND n.is_booked='YES'), 0)
             - coalesce((SELECT sum(p._remaining) FROM debtor_accounting_module p
                 INDEXED BY ix_dam_debtor_open
                 WHERE p.module_id_ = debtor.module_id_ AND p.type='PAYMENT' AND p._remaining <> 0), 0),
         due = coalesce((SELECT sum(i._remaining) FROM debtor_invoice i INDEXED BY ix_inv_debtor_open
                 WHERE i.module_id_ = debtor.module_id_
                 AND i.is_booked='YES' AND i._remaining <> 0 AND i._remaining > 0 AND i.time_due < :today), 0)
       WHERE {f}""",  # `_remaining <> 0`: only open items count; store.py's partial indexes hold just those
    ),
]


@dataclass(frozen=True)
class Touched:
    """The documents a booking changed: invoice and credit-note numbers, payment posting ids."""

    invoices: tuple[int, ...] = ()
    creditnotes: tuple[int, ...] = ()
    payments: tuple[int, ...] = ()


_EACH = "SELECT value FROM json_each(:{})"
# Only these rows' derived columns can change when the touched documents gain matches (a match's flag depends
# on its invoice and its source; a posting's on its document or its own matches), so only they are
# re-derived.
_TOUCHED = {
    "debtor_invoice": f"invoice_id_ IN ({_EACH.format('invoices')})",
    "debtor_creditnote": f"invoice_id_ IN ({_EACH.format('creditnotes')})",
    "debtor_accounting_module": (
        "id IN (SELECT id FROM debtor_accounting_module WHERE type <> 'PAYMENT' AND invoice_id_ IN "  # noqa: S608
        f"({_EACH.format('documents')}) UNION ALL {_EACH.format('payments')})"
    ),
    "debtor_invoice_match": (
        f"id IN (SELECT id FROM debtor_invoice_match WHERE invoice_id_ IN ({_EACH.format('invoices')}) "  # noqa: S608
        f"UNION SELECT id FROM debtor_invoice_match WHERE creditnote_id_ IN ({_EACH.format('creditnotes')}) "
        f"UNION SELECT id FROM debtor_invoice_match WHERE payment_id IN ({_EACH.format('payments')}))"
    ),
}


def recompute(
    c: sqlite3.Connection, module_nos: Iterable[int] | None, today: dt.date, touched: Touched | None = None
) -> None:
    """Re-derive every computed column for these debtors (all when None), from postings and matches.

    With ``touched``, only those documents (and their postings and matches) are re-derived, then the debtors'
    balance and due: a payment to a debtor with 100,000 invoices costs what it costs for one with ten.
    """
    params: dict[str, str] = {"today": today.isoformat()}
    if module_nos is None:
        debtors = "1"
    else:
        debtors = f"module_id_ IN ({_EACH.format('debtors')})"
        params["debtors"] = json.dumps(sorted(set(module_nos)))
    if touched is not None:
        params.update(
            invoices=json.dumps(touched.invoices),
            creditnotes=json.dumps(touched.creditnotes),
            documents=json.dumps([*touched.invoices, *touched.creditnotes]),
            payments=json.dumps(touched.payments),
        )
    for table, sql in _RECOMPUTE:
        scope = _TOUCHED[table] if touched is not None and table in _TOUCHED else debtors
        statement = sql.format(f=scope)
        c.execute(statement, {k: v for k, v in params.items() if f":{k}" in statement})


def recompute_due(c: sqlite3.Connection, today: dt.date) -> None:
    """After the clock moved: only ``due`` depends on the date (balance is re-derived with it, cheaply)."""
    _table, sql = _RECOMPUTE[-1]
    c.execute(sql.format(f="1"), {"today": today.isoformat()})


def open_balance(c: sqlite3.Connection, module_no: int) -> int:
    """The open-item rule spelled out row by row (used by the operator check and tests)."""
    inv = c.execute(
        "SELECT coalesce(sum(_remaining),0) FROM debtor_invoice WHERE module_id_=? AND is_booked='YES'",
        (module_no,),
    ).fetchone()[0]
    cn = c.execute(
        "SELECT coalesce(sum(_remaining),0) FROM debtor_creditnote WHERE module_id_=? AND is_booked='YES'",
        (module_no,),
    ).fetchone()[0]
    pay = c.execute(
        "SELECT coalesce(sum(_remaining),0) FROM "
        "debtor_accounting_module WHERE module_id_=? AND type='PAYMENT'",
        (module_no,),
    ).fetchone()[0]
    return int(inv) - int(cn) - int(pay)
