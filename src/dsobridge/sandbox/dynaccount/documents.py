"""Lines and totals of documents: invoices, orders, quotes (debtor and creditor) and subscriptions.

A line's ``total_amount`` is its amount **including VAT** and ``vat_amount`` the VAT in it, like a document's
own ``total_amount``/``vat_amount``, so a document's totals are the sums of its lines'. The net amount is qty
× price, less the line discount (``discount_type`` PERCENT: ``discount_value`` %, AMOUNT: ``discount_value``
off the line) and the document's ``discount_percent``; VAT is the net × the VAT code's percent, per line,
rounded half-up to øre. ``profit_amount`` = net − qty × the product's ``price_cost``; ``total_weight`` = qty ×
the product's ``weight``. All amounts are integer hundredths.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from dsobridge.sandbox.dynaccount.errors import Invalid
from dsobridge.sandbox.dynaccount.schema import TABLES
from dsobridge.sandbox.dynaccount.values import round_half_up

# The largest amount the wire accepts (13 integer digits, values.py), in hundredths. Computed amounts (line
# amounts, document totals) are held to it too, so nothing overflows SQLite's 64-bit integers (→ a 500).
MAX_AMOUNT = 10**15 - 1
MAX_AMOUNT_TEXT = "9999999999999.99"


@dataclass(frozen=True)
class LineTable:
    """A table of lines: the document table it belongs to, the column naming the document, and the
    document's column that column holds (its row id, or its name for subscription groups)."""

    document: str
    fk: str
    document_key: str = "id"
    totals: bool = True  # the document carries total_amount/vat_amount/… of its lines
    lockable: bool = False  # the document can be booked, and its lines are then locked


LINES: dict[str, LineTable] = {
    "debtor_invoice_product": LineTable("debtor_invoice", "invoice_id", lockable=True),
    "debtor_order_product": LineTable("debtor_order", "order_id"),
    "debtor_quote_product": LineTable("debtor_quote", "quote_id"),
    "creditor_invoice_product": LineTable("creditor_invoice", "invoice_id", lockable=True),
    "creditor_order_product": LineTable("creditor_order", "order_id"),
    "debtor_subscription_group_product": LineTable(
        "debtor_subscription_group", "debtor_subscription_group_name", "name"
    ),
    "debtor_subscription_product": LineTable("debtor_subscription", "debtor_subscription_id", totals=False),
}


def percent_of(cents: int, percent_cents: int) -> int:
    return round_half_up(Decimal(cents) * percent_cents / 10000)


def line_amount(
    qty: int, price: int, discount_type: str = "", discount_value: int = 0, extra: int = 0
) -> int:
    """Net line amount in hundredths: qty × price, less the line discount and ``extra`` % (the document's)."""
    value = Decimal(qty) * price / 100
    if discount_type == "PERCENT":
        value = value * (10000 - discount_value) / 10000
    elif discount_type == "AMOUNT":
        value -= discount_value
    value = value * (10000 - extra) / 10000
    return round_half_up(value)


@dataclass(frozen=True)
class LineTotals:
    net: int
    vat: int
    profit: int
    weight: int

    @property
    def total(self) -> int:
        return self.net + self.vat


def line_totals(
    qty: int,
    price: int,
    discount_type: str,
    discount_value: int,
    document_discount: int,
    vat_percent: int,
    cost: int,
    weight: int,
) -> LineTotals:
    net = line_amount(qty, price, discount_type, discount_value, document_discount)
    if abs(net) > MAX_AMOUNT:
        raise Invalid({"total_amount": f"qty × price (less discount) exceeds {MAX_AMOUNT_TEXT}"})
    return LineTotals(
        net,
        percent_of(net, vat_percent),
        net - round_half_up(Decimal(qty) * cost / 100),
        round_half_up(Decimal(qty) * weight / 100),
    )


def refresh(c: sqlite3.Connection, line_table: str, document_ref: object) -> None:
    """Recompute every line of one document, then the document's totals (sums of its lines)."""
    spec = LINES[line_table]
    discount = 0
    if spec.totals and spec.document != "debtor_subscription_group":
        row = c.execute(
            f"SELECT discount_percent FROM {spec.document} WHERE {spec.document_key}=?",  # noqa: S608
            (document_ref,),
        ).fetchone()
        discount = int(row[0]) if row else 0
    lines = c.execute(
        f"SELECT l.id, l.qty, l.price, l.discount_type, l.discount_value, coalesce(v.percent, 0), "  # noqa: S608
        f"coalesce(p.price_cost, 0), coalesce(p.weight, 0) FROM {line_table} l "
        "LEFT JOIN vatcode v ON v.name = l.vatcode_name LEFT JOIN product p ON p.product_id_ = l.product_id_ "
        f"WHERE l.{spec.fk}=?",
        (document_ref,),
    ).fetchall()
    sums = [0, 0, 0, 0]
    has_profit = "profit_amount" in _columns(line_table)
    for line_id, *args in lines:
        totals = line_totals(args[0], args[1], args[2], args[3], discount, args[4], args[5], args[6])
        profit = ", profit_amount=?" if has_profit else ""
        c.execute(
            f"UPDATE {line_table} SET total_amount=?, vat_amount=?, total_weight=?{profit} WHERE id=?",  # noqa: S608
            (totals.total, totals.vat, totals.weight, *((totals.profit,) if has_profit else ()), line_id),
        )
        for i, value in enumerate((totals.total, totals.vat, totals.profit, totals.weight)):
            sums[i] += value
    if not spec.totals:
        return
    if abs(sums[0]) > MAX_AMOUNT:
        raise Invalid({"total_amount": f"The document total would exceed {MAX_AMOUNT_TEXT}"})
    columns = _columns(spec.document)
    sets = ["total_amount=?", "vat_amount=?", "total_weight=?"]
    params = [sums[0], sums[1], sums[3]]
    if "profit_amount" in columns:
        sets.append("profit_amount=?")
        params.append(sums[2])
    if "_remaining" in columns:  # a draft invoice's remaining is its total (booking keeps it so)
        sets.append("_remaining=?")
        params.append(sums[0])
    c.execute(
        f"UPDATE {spec.document} SET {', '.join(sets)} WHERE {spec.document_key}=?",  # noqa: S608
        (*params, document_ref),
    )


def _columns(table: str) -> set[str]:
    return {*TABLES[table].fields, *TABLES[table].internal}
