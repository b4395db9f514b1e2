"""A deterministic, realistic Danish company (``build``), and the days that follow (``advance``).

``build`` writes the reference data and the debtors, plans 18 months of invoices, credit notes and customer
payments from the random stream (``history.Plan``: compact arrays, the stream consumed as it always has been,
so a seed keeps giving the same company) and writes them day by day (``history.History``) with every derived
column computed by the open-item rule; secondary indexes are rebuilt once at the end. Customer payments are
written as the bookkeeping path makes them: a booked voucher in the ``Indbetalinger`` journal with a bank line
and a ``DEBTOR_INVOICE`` line naming the invoice, a ``PAYMENT`` posting and its match. ``advance`` lives the
following days through that very path (``payments.book_payment``: put enclosure, insert accounting lines,
book), as an API client would.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3

from dsobridge.sandbox.dynaccount import crud, ledger, payments, rules
from dsobridge.sandbox.dynaccount.behaviour import PARTIAL, daily_payment_chance
from dsobridge.sandbox.dynaccount.history import HISTORY_DAYS, Customer, History, Plan, write_debtors
from dsobridge.sandbox.dynaccount.seeddata import cvr_number, ean_number, reference_data
from dsobridge.sandbox.dynaccount.store import Store

__all__ = ["advance", "build", "cvr_number", "daily_payment_chance", "ean_number"]


def build(
    store: Store, today: dt.date, *, debtors: int, invoices: int, seed: int, open_share: float | None = None
) -> dict[str, int]:
    """Replace the data of an empty store with a deterministic company. Returns row counts.

    ``open_share`` (0..1): the share of invoices still open at ``today`` (in full or in part); None lets the
    payment behaviour model decide (about 10 % of 18 months of invoices).
    """
    if debtors < 1 or invoices < 0:
        raise ValueError("need at least one debtor and a non-negative number of invoices")
    if open_share is not None and not 0 <= open_share <= 1:
        raise ValueError("open_share must be between 0 and 1")
    rng = random.Random(seed)
    with store.tx() as c:
        store.drop_indexes(c)
        reference_data(c, today)
        customers = write_debtors(c, rng, debtors, today)
        plan = Plan(rng, customers, today, invoices, open_share)
        history = History(c, plan, payments.journal_id(c), payments.bank_account(c))
        written = history.write()
        del plan
        c.executemany("UPDATE debtor SET balance=?, due=? WHERE id=?", history.debtor_totals())
        c.executemany(
            "UPDATE year SET enc_next_id_=? WHERE name=?",
            [(enc + 1, year) for year, enc in history.enc_by_year.items()],
        )
        store.create_indexes(c)
        _day_to_day(c, rng, customers, today)
    return {
        "debtor": debtors,
        "contact": debtors,
        "debtor_invoice": written["debtor_invoice"],
        "debtor_invoice_product": written["debtor_invoice_product"],
        "debtor_creditnote": written["debtor_creditnote"],
        "payments": written["enclosure"],
        "debtor_invoice_match": written["debtor_invoice_match"],
        "debtor_accounting_module": written["debtor_accounting_module"],
        "accounting": written["accounting"],
    }


def _day_to_day(c: sqlite3.Connection, rng: random.Random, customers: list[Customer], today: dt.date) -> None:
    """What an SME has besides its booked invoices, made through the API's own rules: three draft invoices,
    open orders, a quote, follow-ups and an opportunity, a product list, prices in EUR."""
    pick = [customers[rng.randrange(len(customers))] for _ in range(6)]
    for customer in pick[: min(3, len(customers))]:  # three draft invoices (fewer in a tiny company)
        row_id, _ = crud.put(
            c, "debtor_invoice", 0, [("module_id_", str(customer.module_no)), ("txt", "Kladde")], today
        )
        crud.put(
            c,
            "debtor_invoice_product",
            0,
            [("invoice_id", str(row_id)), ("product_id_", "101"), ("qty", "2")],
            today,
        )
    for table, line_table, fk, customer in (
        ("debtor_order", "debtor_order_product", "order_id", pick[3]),
        ("debtor_order", "debtor_order_product", "order_id", pick[4]),
        ("debtor_quote", "debtor_quote_product", "quote_id", pick[5]),
    ):
        row_id, _ = crud.put(
            c, table, 0, [("module_id_", str(customer.module_no)), ("requisition", "PO-1")], today
        )
        for product in (108, 110):
            crud.put(
                c, line_table, 0, [(fk, str(row_id)), ("product_id_", str(product)), ("qty", "2")], today
            )
    contact = c.execute("SELECT id FROM contact WHERE module_id=?", (pick[0].row_id,)).fetchone()[0]
    crud.put(
        c,
        "followup",
        0,
        [("contact_id", str(contact)), ("time", today.isoformat()), ("txt", "Ring op")],
        today,
    )
    crud.put(
        c,
        "opportunity",
        0,
        [("module_id_", str(pick[0].module_no)), ("name", "Rammeaftale"), ("amount", "250000")],
        today,
    )
    crud.put(c, "product_list", 0, [("name", "Kontorpakke"), ("txt", "Stol, bord og skærm")], today)
    for product in (108, 109, 110):
        crud.put(
            c,
            "product_list_product",
            0,
            [("product_list_name", "Kontorpakke"), ("product_id_", str(product)), ("qty", "1")],
            today,
        )
    for product, price in ((101, "127.00"), (108, "442.00")):
        crud.put(
            c,
            "product_currency",
            0,
            [("product_id_", str(product)), ("currency_name", "EUR"), ("price", price)],
            today,
        )
    rules.refresh_products(c)


# -- advance: the next days, through the API's own functions
# ----------------------------------------------------
def _new_invoice(c: sqlite3.Connection, rng: random.Random, module_no: int, day: dt.date) -> None:
    row_id, _ = crud.put(
        c, "debtor_invoice", 0, [("module_id_", str(module_no)), ("time", day.isoformat())], day
    )
    for _line_no in range(rng.randint(1, 3)):
        line = [
            ("invoice_id", str(row_id)),
            ("product_id_", str(rng.randint(101, 120))),
            ("qty", str(rng.randint(1, 10))),
        ]
        crud.put(c, "debtor_invoice_product", 0, line, day)
    ledger.book_invoice(c, row_id, day)


def _open_invoice(c: sqlite3.Connection, *, uncredited: bool = False) -> tuple[int, int, int] | None:
    return c.execute(
        "SELECT invoice_id_, module_id_, _remaining FROM debtor_invoice WHERE is_booked='YES' "
        "AND is_matched='NO' AND _remaining > 100 AND (_credited = 0 OR NOT ?) "
        "ORDER BY time DESC, id DESC LIMIT 1",
        (uncredited,),
    ).fetchone()


def _pay(c: sqlite3.Connection, module_no: int, cents: int, day: dt.date, number: int, text: str) -> None:
    payments.book_payment(c, module_no, cents, day, f"{text} faktura {number}", day, invoice_no=number)


def advance(store: Store, today: dt.date, *, days: int, seed: int) -> dict[str, int]:
    """Live ``days`` days: new invoices, partial and full payments (booked as vouchers of the payments
    journal: ``payments.book_payment``), credit notes; each kind at least once."""
    rng = random.Random(seed * 1_000_003 + today.toordinal())
    counts = {"invoices": 0, "payments": 0, "partial_payments": 0, "creditnotes": 0}
    with store.tx() as c:
        debtor_numbers = [r[0] for r in c.execute("SELECT module_id_ FROM debtor ORDER BY module_id_")]
        if not debtor_numbers:
            return counts
        booked = c.execute("SELECT count(*) FROM debtor_invoice WHERE is_booked='YES'").fetchone()[0]
        per_day = max(1, min(40, round(booked / HISTORY_DAYS)))
        day = today
        for offset in range(1, days + 1):
            day = today + dt.timedelta(days=offset)
            for _ in range(rng.randint(max(1, per_day // 2), per_day + per_day // 2)):
                _new_invoice(c, rng, rng.choice(debtor_numbers), day)
                counts["invoices"] += 1
            # each open invoice has the daily chance of HAZARD of being paid (in full, or in part)
            horizon = (day + dt.timedelta(days=10)).isoformat()
            due = c.execute(
                "SELECT invoice_id_, module_id_, _remaining, time_due FROM debtor_invoice "
                "WHERE is_booked='YES' AND is_matched='NO' AND time_due <= ? ORDER BY time_due, id",
                (horizon,),
            ).fetchall()
            for number, module_no, remaining, time_due in due:
                chance = daily_payment_chance((day - dt.date.fromisoformat(time_due)).days)
                r = rng.random()
                if r < chance:
                    _pay(c, module_no, remaining, day, number, "Indbetaling")
                    counts["payments"] += 1
                elif r < chance * (1 + PARTIAL) and remaining > 100:
                    _pay(c, module_no, remaining // 2, day, number, "Delbetaling")
                    counts["partial_payments"] += 1
            if rng.random() < 0.15:
                row = _open_invoice(c, uncredited=True)
                if row:
                    ledger.credit_invoice(c, row[0], max(1, row[2] // 4), day, "", day)
                    counts["creditnotes"] += 1
        _at_least_one_of_each(c, rng, debtor_numbers, day, counts)
    return counts


def _at_least_one_of_each(
    c: sqlite3.Connection, rng: random.Random, debtor_numbers: list[int], day: dt.date, counts: dict[str, int]
) -> None:
    """Each kind of event at least once (on the last day), on the newest open invoice."""
    for kind in ("creditnotes", "partial_payments", "payments"):
        if counts[kind]:
            continue
        row = _open_invoice(c, uncredited=kind == "creditnotes")
        if row is None:
            _new_invoice(c, rng, rng.choice(debtor_numbers), day)
            counts["invoices"] += 1
            row = _open_invoice(c, uncredited=kind == "creditnotes")
        number, module_no, remaining = row
        if kind == "creditnotes":
            ledger.credit_invoice(c, number, max(1, remaining // 4), day, "", day)
        elif kind == "partial_payments":
            _pay(c, module_no, remaining // 2, day, number, "Delbetaling")
        else:
            _pay(c, module_no, remaining, day, number, "Indbetaling")
        counts[kind] += 1
