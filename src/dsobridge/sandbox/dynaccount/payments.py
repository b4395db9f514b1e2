"""A customer payment booked the way real companies book it: in the payments journal, a voucher whose
lines debit the bank account and credit the debtor (naming the invoice it pays), then the voucher is booked.

The same functions as the HTTP API's put ``enclosure``, insert_bulk ``accounting`` and ``book_draft``; used
by ``advance`` and the operator's ``POST /_sandbox/payments``. The seeder writes the same rows directly.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from dsobridge.sandbox.dynaccount import bookkeeping, crud
from dsobridge.sandbox.dynaccount.values import from_cents

PAYMENTS_JOURNAL = "Indbetalinger"
BANK_ACCOUNT = 5820  # Bank (the seeded company's bank account)


def journal_id(c: sqlite3.Connection, name: str = PAYMENTS_JOURNAL) -> int:
    """The row id of the named journal (kassekladde), created when missing."""
    row = c.execute("SELECT id FROM draft WHERE name=?", (name,)).fetchone()
    return (
        int(row[0]) if row else int(c.execute("INSERT INTO draft (name) VALUES (?)", (name,)).lastrowid or 0)
    )


def bank_account(c: sqlite3.Connection) -> int:
    row = c.execute("SELECT account_id_ FROM bank ORDER BY id LIMIT 1").fetchone()
    return int(row[0]) if row and row[0] else BANK_ACCOUNT


def payment_lines(
    bank: int, module_no: int, amount: str, *, invoice_no: int = 0
) -> list[list[tuple[str, str]]]:
    """The two lines of a payment voucher: the bank debited, the debtor credited (the invoice it pays)."""
    return [
        [("type", bookkeeping.LEDGER), ("account_id_", str(bank)), ("amount", amount)],
        [
            ("type", bookkeeping.DEBTOR_INVOICE),
            ("accountoff_id_", str(module_no)),
            ("invoice_id_", str(invoice_no) if invoice_no else ""),
            ("amount", amount),
        ],
    ]


def book_payment(
    c: sqlite3.Connection,
    module_no: int,
    cents: int,
    when: dt.date,
    txt: str,
    today: dt.date,
    *,
    invoice_no: int = 0,
) -> tuple[int, list[int]]:
    """Journal → voucher → lines → book, for one payment of ``cents`` (in the debtor's currency).

    Returns (the voucher's row id, its line ids). Raises ``Invalid`` like the API would.
    """
    voucher, _ = crud.put(
        c,
        "enclosure",
        0,
        [("draft_id", str(journal_id(c))), ("time", when.isoformat()), ("enc_id_", ""), ("txt", txt)],
        today,
    )
    currency = c.execute("SELECT ref_currency_name FROM debtor WHERE module_id_=?", (module_no,)).fetchone()
    lines = payment_lines(bank_account(c), module_no, str(from_cents(cents)), invoice_no=invoice_no)
    for line in lines:
        line.append(("enclosure_id", str(voucher)))
        if currency:
            line.append(("currency_name", currency[0]))
    line_ids = crud.insert_bulk(c, "accounting", lines, today)
    bookkeeping.book_voucher(c, voucher, today)
    return voucher, line_ids
