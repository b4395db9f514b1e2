"""The rules of each table on put and delete: defaults, checks, and the derived read-only fields.

``crud`` calls ``before_write`` with the values that really change (after parsing), then writes, then
``after_write``; likewise ``before_delete`` / ``after_delete``. Each hook works inside the caller's
transaction. Receivables (booking, matching, balances) live in ``ledger``, vouchers in ``bookkeeping``, line
and document totals in ``documents``.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from typing import Any

from dsobridge.sandbox.dynaccount import bookkeeping, documents, ledger
from dsobridge.sandbox.dynaccount.documents import LINES, MAX_AMOUNT, MAX_AMOUNT_TEXT
from dsobridge.sandbox.dynaccount.errors import Invalid
from dsobridge.sandbox.dynaccount.schema import TABLES
from dsobridge.sandbox.dynaccount.store import fetch_one
from dsobridge.sandbox.dynaccount.values import cvr_valid

Row = dict[str, Any]
_NAMED = [
    "currency",
    "payment",
    "vatcode",
    "debtor_group",
    "creditor_group",
    "unit",
    "product_group",
    "dimension",
    "location",
    "bank",
    "product_list",
    "debtor_subscription_group",
    "year",
    "draft",
]
REQUIRED: dict[str, tuple[str, ...]] = {
    **{table: ("name",) for table in _NAMED},
    "account": ("account_id_", "name"),
    "product": ("product_id_", "name"),
    "debtor": ("name",),
    "creditor": ("name",),
    "debtor_invoice": ("module_id_",),
    "debtor_order": ("module_id_",),
    "debtor_quote": ("module_id_",),
    "creditor_invoice": ("module_id_",),
    "creditor_order": ("module_id_",),
    "currency": ("name", "rate"),
    "payment": ("name", "type"),
    "vatcode": ("name", "percent"),
    "enclosure": ("draft_id",),
    "accounting": ("enclosure_id", "amount"),
    "contact_user": ("contact_id",),
    "followup": ("contact_id",),
    "debtor_order_product_serialno": ("order_product_id",),
    "creditor_order_product_serialno": ("order_product_id",),
    "stock_adjustment": ("product_id_",),
    **{line: (spec.fk,) for line, spec in LINES.items()},
}
DOCUMENTS = ("debtor_invoice", "debtor_order", "debtor_quote", "creditor_invoice", "creditor_order")
_DOCUMENT_NUMBERS = {"debtor_order": "order_id_", "debtor_quote": "quote_id_", "creditor_order": "order_id_"}
MAX_TERM_DAYS = 3650
_YEAR = re.compile(r"^\d{4}$")


def _row_id(c: sqlite3.Connection, table: str, column: str, value: Any) -> int:
    row = c.execute(f"SELECT id FROM {table} WHERE {column}=?", (value,)).fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def _exists(c: sqlite3.Connection, table: str, row_id: Any, field: str) -> None:
    if not c.execute(f"SELECT 1 FROM {table} WHERE id=?", (row_id,)).fetchone():  # noqa: S608
        raise Invalid({field: f"No {table} with id {row_id}"})


def vatno_validation(vatno: str, country: str) -> str:
    """``VALID``/``INVALID`` for a Danish CVR number (mod 11), ``''`` when none or not checkable here."""
    digits = vatno.upper().removeprefix("DK").replace(" ", "")
    if not vatno or (country not in ("", "DK") and not vatno.upper().startswith("DK")):
        return ""
    return "VALID" if cvr_valid(digits) else "INVALID"


def _vatno(values: Row, existing: Row | None, today: dt.date) -> None:
    if existing is None or "vatno" in values or "ref_country_name" in values:
        merged = {**(existing or {}), **values}
        values["vatno_validation"] = vatno_validation(
            merged.get("vatno", ""), merged.get("ref_country_name", "")
        )
        values["time_vatno_validation"] = today.isoformat() if merged.get("vatno") else ""


# -- debtors, creditors -------------------------------------------------------------------------------------
_GROUP_DEFAULTS = ("payment_name", "vatcode_name", "ref_currency_name", "payment_method", "bank_name", "lang")


def _debtor_used(c: sqlite3.Connection, module_no: int) -> bool:
    return bool(
        c.execute(
            "SELECT 1 FROM debtor_invoice WHERE module_id_=? UNION ALL "
            "SELECT 1 FROM debtor_accounting_module WHERE module_id_=? LIMIT 1",
            (module_no, module_no),
        ).fetchone()
    )


def _debtor(c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date) -> None:
    _vatno(values, existing, today)
    if existing is None:
        if not values.get("module_id_"):  # '' or 0: the next number (never number 0)
            values["module_id_"] = ledger.next_module_no(c)
        group = fetch_one(
            c, "SELECT * FROM debtor_group WHERE name=?", (values.get("module_group_name", ""),)
        )
        for name in _GROUP_DEFAULTS:
            if name not in values and group and group[name]:
                values[name] = group[name]
        values.setdefault("ref_currency_name", ledger.BASE_CURRENCY)
        values.setdefault("lang", "da")
        values.setdefault("ref_country_name", "DK")
        for name, table_name, default in (
            ("payment_name", "payment", "Netto 8 dage"),
            ("vatcode_name", "vatcode", "U25"),
        ):
            if name not in values and _row_id(c, table_name, "name", default):
                values[name] = default
        return
    if "module_id_" in values and values["module_id_"] <= 0:
        raise Invalid({"module_id_": "Must be a positive debtor number"})
    changing = [k for k in ("module_id_", "ref_currency_name") if k in values]
    if changing and _debtor_used(c, existing["module_id_"]):
        raise Invalid(dict.fromkeys(changing, "Cannot change once the debtor has invoices or postings"))


def _creditor(c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date) -> None:
    _vatno(values, existing, today)
    if existing is None and not values.get("module_id_"):
        values["module_id_"] = ledger.next_module_no(c, "creditor")


def _after_debtor(
    c: sqlite3.Connection, row_id: int, values: Row, existing: Row | None, today: dt.date
) -> None:
    if existing is None:
        cursor = c.execute(
            "INSERT INTO contact (module_id, module_id_, time_created, name) VALUES (?,?,?,?)",
            (row_id, values["module_id_"], today.isoformat(), values.get("attention_name") or values["name"]),
        )
        c.execute("UPDATE debtor SET contact_id=? WHERE id=?", (cursor.lastrowid, row_id))
    else:
        if "module_id_" in values:
            c.execute("UPDATE contact SET module_id_=? WHERE module_id=?", (values["module_id_"], row_id))
        ledger.recompute(c, [values.get("module_id_", existing["module_id_"])], today)


# -- documents and their lines -------------------------------------------------------------------------------
def _document(c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date) -> None:
    if existing is not None and existing.get("is_booked") == "YES":
        blocked = {k: "A booked invoice cannot be changed" for k in values if k != "txt"}
        if blocked:
            raise Invalid(blocked)
        return
    owner = "creditor" if table.startswith("creditor") else "debtor"
    module_no = values.get("module_id_", existing["module_id_"] if existing else 0)
    debtor = fetch_one(c, f"SELECT * FROM {owner} WHERE module_id_=?", (module_no,))  # noqa: S608
    if debtor is None:
        raise Invalid({"module_id_": f"No {owner} with module_id_ '{module_no}'"})
    currency = debtor["ref_currency_name"] or ledger.BASE_CURRENCY
    if values.get("currency_name", currency) != currency:
        raise Invalid({"currency_name": f"Must be the debtor's currency ({currency})"})
    if existing is None or "module_id_" in values:
        values["module_id"] = debtor["id"]
        values["currency_name"] = currency
        values["currency_rate"] = ledger.currency_rate(c, currency)
        defaults = {
            "payment_name": debtor["payment_name"],
            "name": debtor["name"],
            "attention": debtor.get("attention_name", ""),
            "lang": debtor.get("lang", ""),
            **{k: debtor[k] for k in ("address", "zip", "city", "ref_country_name")},
            **{
                k: debtor.get(k, "")
                for k in ("dlv_attention", "dlv_name", "dlv_address", "dlv_zip", "dlv_city")
            },
            "dlv_ref_country_name": debtor.get("dlv_ref_country_name", ""),
        }
        for name, value in defaults.items():
            values.setdefault(name, value)
    if existing is None:
        values.setdefault("time", today.isoformat())
        number_field = _DOCUMENT_NUMBERS.get(table)
        if number_field:
            top = c.execute(f"SELECT coalesce(max({number_field}), 0) FROM {table}").fetchone()[0]  # noqa: S608
            values[number_field] = int(top) + 1
    if table == "debtor_invoice" and (
        existing is None or {"time", "payment_name", "module_id_"} & set(values)
    ):
        merged = {**(existing or {}), **values}
        issued = dt.date.fromisoformat(merged["time"]) if merged.get("time") else today
        values["time_due"] = ledger.due_date(c, merged["payment_name"], issued).isoformat()


def _after_document(
    c: sqlite3.Connection, table: str, row_id: int, values: Row, existing: Row | None
) -> None:
    if existing is not None and "discount_percent" in values:
        for line_table, spec in LINES.items():
            if spec.document == table:
                documents.refresh(c, line_table, row_id)


def _line_document(c: sqlite3.Connection, line_table: str, document_ref: Any) -> None:
    spec = LINES[line_table]
    sql = f"SELECT * FROM {spec.document} WHERE {spec.document_key}=?"  # noqa: S608
    document = fetch_one(c, sql, (document_ref,))
    if document is None:
        raise Invalid({spec.fk: f"No {spec.document} with {spec.document_key} {document_ref!r}"})
    if spec.lockable and document.get("is_booked") == "YES":
        raise Invalid({spec.fk: f"{spec.document} {document['id']} is booked; its lines cannot change"})


def _line(c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date) -> None:
    spec = LINES[table]
    if existing is not None:
        _line_document(c, table, existing[spec.fk])
    _line_document(c, table, values.get(spec.fk, existing[spec.fk] if existing else 0))
    product = None
    if values.get("product_id_"):
        product = fetch_one(c, "SELECT * FROM product WHERE product_id_=?", (values["product_id_"],))
        values["product_id"] = product["id"] if product else 0
    if existing is None:
        values.setdefault("qty", 100)
        if product:
            for name, column in (("price", "price"), ("name", "name"), ("unit_name", "unit_name")):
                values.setdefault(name, product[column])
            values.setdefault("txt", product["name"])
        if "vatcode_name" not in values:
            values["vatcode_name"] = _line_vatcode(c, spec, values[spec.fk], product)


def _line_vatcode(
    c: sqlite3.Connection, spec: documents.LineTable, document_ref: Any, product: Row | None
) -> str:
    """A new line's VAT code: the document's debtor's (or creditor's), else the product's."""
    owner = "creditor" if spec.document.startswith("creditor") else "debtor"
    if spec.document in DOCUMENTS:
        row = c.execute(
            f"SELECT d.vatcode_name FROM {spec.document} x JOIN {owner} d ON d.id = x.module_id "  # noqa: S608
            "WHERE x.id=?",
            (document_ref,),
        ).fetchone()
        if row and row[0]:
            return row[0]
    return product["vatcode_name"] if product else ""


def _after_line(c: sqlite3.Connection, table: str, values: Row, existing: Row | None) -> None:
    spec = LINES[table]
    merged = {**(existing or {}), **values}
    documents.refresh(c, table, merged[spec.fk])
    if existing is not None and existing[spec.fk] != merged[spec.fk]:
        documents.refresh(c, table, existing[spec.fk])
    if table in ("debtor_order_product", "creditor_order_product"):
        refresh_products(c, {merged.get("product_id_"), (existing or {}).get("product_id_")})


# -- products ----------------------------------------------------------------------------------------------
_PRODUCT_STOCK = """UPDATE product SET
    in_stock = coalesce((SELECT sum(qty) FROM stock_adjustment s
        WHERE s.product_id_ = product.product_id_), 0),
    time_stock_change = coalesce((SELECT max(time) FROM stock_adjustment s
        WHERE s.product_id_ = product.product_id_), ''),
    is_stocked = CASE WHEN EXISTS (SELECT 1 FROM stock_adjustment s WHERE s.product_id_ = product.product_id_)
        THEN 'YES' ELSE 'NO' END,
    in_order = coalesce((SELECT sum(l.qty) FROM debtor_order_product l
        JOIN debtor_order o ON o.id = l.order_id
        WHERE l.product_id_ = product.product_id_ AND o.is_invoiced = 'NO'), 0),
    in_supplier_order = coalesce((SELECT sum(l.qty) FROM creditor_order_product l
        JOIN creditor_order o ON o.id = l.order_id
        WHERE l.product_id_ = product.product_id_ AND o.is_invoiced = 'NO'), 0),
    product_group_id = coalesce((SELECT g.id FROM product_group g
        WHERE g.name = product.product_group_name), 0),
    profit_ratio = CASE WHEN price > 0 THEN CAST((price - price_cost) * 10000.0 / price AS INTEGER) ELSE 0 END
  WHERE {where}"""


def refresh_products(c: sqlite3.Connection, numbers: set[Any] | None = None) -> None:
    """Stock, open order quantities, group id and profit ratio of these products (all when None).

    ``type`` follows ``is_stocked``: ``STOCK`` once a product has a stock movement, ``SERVICE`` before. A
    quantity beyond 13 digits is refused (each change is checked, so the sums never overflow).
    """
    if numbers is None:
        where, params = "1", ()
    else:
        wanted = sorted(n for n in numbers if n)
        if not wanted:
            return
        where, params = f"product_id_ IN ({', '.join('?' for _ in wanted)})", tuple(wanted)
    c.execute(_PRODUCT_STOCK.format(where=where), params)
    too_big = c.execute(
        f"SELECT 1 FROM product WHERE ({where}) "  # noqa: S608
        "AND max(abs(in_stock), abs(in_order), abs(in_supplier_order)) > ?",
        (*params, MAX_AMOUNT),
    ).fetchone()
    if too_big:
        raise Invalid({"qty": f"A product's stock or open order quantity would exceed {MAX_AMOUNT_TEXT}"})
    c.execute(
        f"UPDATE product SET type = CASE is_stocked WHEN 'YES' THEN 'STOCK' ELSE 'SERVICE' END WHERE {where}",  # noqa: S608
        params,
    )


def _product_refs(
    c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date
) -> None:
    """Row ids beside the numbers and names they follow (``product_id`` of ``product_id_``, …)."""
    if "product_id_" in values and "product_id" in _fields(table):
        values["product_id"] = _row_id(c, "product", "product_id_", values["product_id_"])
    if "product_group_name" in values and "product_group_id" in _fields(table):
        values["product_group_id"] = _row_id(c, "product_group", "name", values["product_group_name"])
    if table == "product_supplier" and "module_id_" in values:
        values["module_id"] = _row_id(c, "creditor", "module_id_", values["module_id_"])
    if table == "product_currency" and existing is None:
        top = c.execute(
            "SELECT coalesce(max(seq), 0) FROM product_currency WHERE product_id_=?",
            (values.get("product_id_", 0),),
        ).fetchone()[0]
        values["seq"] = int(top) + 1
    if table == "stock_adjustment" and existing is None:
        values.setdefault("time", today.isoformat())


def _fields(table: str) -> dict[str, Any]:
    return TABLES[table].fields


def _after_product_change(c: sqlite3.Connection, table: str, values: Row, existing: Row | None) -> None:
    merged = {**(existing or {}), **values}
    if table in ("stock_adjustment", "product"):
        refresh_products(c, {merged.get("product_id_"), (existing or {}).get("product_id_")})
    if table == "product_list_product":
        _refresh_price_sale(c, {merged.get("product_list_name"), (existing or {}).get("product_list_name")})
    if table == "product" and ("price" in values) and existing is not None:
        _refresh_price_sale(c, None)


def _refresh_price_sale(c: sqlite3.Connection, names: set[Any] | None) -> None:
    """``product_list.price_sale``: Σ qty × price of its products (refused beyond 13 digits)."""
    if names is None:
        names = {row[0] for row in c.execute("SELECT name FROM product_list")}
    for name in names - {None}:
        total = sum(
            documents.line_amount(qty, price)
            for qty, price in c.execute(
                "SELECT l.qty, p.price FROM product_list_product l JOIN product p ON p.product_id_ = "
                "l.product_id_ "
                "WHERE l.product_list_name=?",
                (name,),
            )
        )
        if abs(total) > MAX_AMOUNT:
            raise Invalid({"price": f"The product list's price would exceed {MAX_AMOUNT_TEXT}"})
        c.execute("UPDATE product_list SET price_sale=? WHERE name=?", (total, name))


# -- contacts, follow-ups, opportunities -----------------------------------------------------------------
def _contact(c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date) -> None:
    if existing is None:
        values["time_created"] = today.isoformat()
    if "module_id_" in values:
        values["module_id"] = _row_id(c, "debtor", "module_id_", values["module_id_"])


def _contact_child(
    c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date
) -> None:
    if table == "opportunity" and existing is None:
        if not values.get("contact_id") and values.get("module_id_"):
            values["contact_id"] = _row_id(c, "contact", "module_id_", values["module_id_"])
        values["time_start"] = today.isoformat()
    if table == "followup" and existing is None:
        values.setdefault("time", today.isoformat())
    if values.get("contact_id"):
        _exists(c, "contact", values["contact_id"], "contact_id")


_FOLLOWUP_TIMES = """UPDATE {table} SET
    time_last_followup = coalesce((SELECT max(f.time) FROM followup f
        WHERE f.contact_id = {table}.{column} AND f.is_finished = 'YES'), ''),
    time_next_followup = coalesce((SELECT min(f.time) FROM followup f
        WHERE f.contact_id = {table}.{column} AND f.is_finished = 'NO'), '')
  WHERE {column} = ?"""


def refresh_followups(c: sqlite3.Connection, contact_id: int) -> None:
    """The last finished and the next open follow-up of a contact card, on it and on its opportunities."""
    for table, column in (("contact", "id"), ("opportunity", "contact_id")):
        c.execute(_FOLLOWUP_TIMES.format(table=table, column=column), (contact_id,))


def _after_contact_child(c: sqlite3.Connection, table: str, values: Row, existing: Row | None) -> None:
    merged = {**(existing or {}), **values}
    if table in ("followup", "opportunity") and merged.get("contact_id"):
        refresh_followups(c, merged["contact_id"])


# -- banks, years, serial numbers, currencies, payment terms ---------------------------------------------
def _bank(c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date) -> None:
    if "account_id_" in values:
        values["account_id"] = _row_id(c, "account", "account_id_", values["account_id_"])


def refresh_bank_accounts(c: sqlite3.Connection) -> None:
    """``account.is_bank``: YES for the ledger accounts of the company's bank accounts."""
    c.execute(
        "UPDATE account SET is_bank = CASE WHEN account_id_ IN (SELECT account_id_ FROM bank) "
        "THEN 'YES' ELSE 'NO' END"
    )


def _year(c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date) -> None:
    if existing is not None:
        return
    name = values.get("name", "")
    if _YEAR.match(name):
        values.setdefault("time_start", f"{name}-01-01")
        values.setdefault("time_end", f"{name}-12-31")
    missing = {
        k: "Required field (or name the year like 2027)"
        for k in ("time_start", "time_end")
        if k not in values
    }
    if missing:
        raise Invalid(missing)
    if values["time_end"] < values["time_start"]:
        raise Invalid({"time_end": "Must not be before time_start"})
    values["enc_next_id_"] = ledger.next_enc_no(c)


def _serialno(c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date) -> None:
    if existing is not None:
        return
    line_table = table.removesuffix("_serialno")
    line = fetch_one(c, f"SELECT order_id FROM {line_table} WHERE id=?", (values["order_product_id"],))  # noqa: S608
    if line is None:
        raise Invalid({"order_product_id": f"No {line_table} with id {values['order_product_id']}"})
    values["order_id"] = line["order_id"]
    top = c.execute(
        f"SELECT coalesce(max(seq), 0) FROM {table} WHERE order_product_id=?",  # noqa: S608
        (values["order_product_id"],),
    ).fetchone()[0]
    values["seq"] = int(top) + 1


def _currency(c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date) -> None:
    if "rate" in values and not 0 < values["rate"] <= ledger.MAX_RATE:
        raise Invalid({"rate": "Must be greater than 0 and at most 100000.00 (DKK per 100 units)"})


def _payment(c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date) -> None:
    if "days" in values and not 0 <= values["days"] <= MAX_TERM_DAYS:
        raise Invalid({"days": f"Must be between 0 and {MAX_TERM_DAYS}"})


def _product(c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date) -> None:
    if "weight" in values and values["weight"] < 0:
        raise Invalid({"weight": "Must not be negative"})


def _voucher(c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date) -> None:
    bookkeeping.voucher_before_write(c, values, existing, today)


def _voucher_line(
    c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date
) -> None:
    bookkeeping.line_before_write(c, values, existing, today)


Hook = Callable[[sqlite3.Connection, str, Row, Row | None, dt.date], None]
_BEFORE: dict[str, list[Hook]] = {
    "debtor": [_debtor],
    "creditor": [_creditor],
    **{table: [_document] for table in DOCUMENTS},
    **{table: [_line] for table in LINES},
    "enclosure": [_voucher],
    "accounting": [_voucher_line],
    "currency": [_currency],
    "payment": [_payment],
    "contact": [_contact],
    "contact_user": [_contact_child],
    "followup": [_contact_child],
    "opportunity": [_contact_child],
    "product": [_product, _product_refs],
    "bank": [_bank],
    "accounting_bank": [_bank],
    "year": [_year],
    "debtor_order_product_serialno": [_serialno],
    "creditor_order_product_serialno": [_serialno],
    **{
        table: [_product_refs]
        for table in (
            "product_currency",
            "product_list_product",
            "product_supplier",
            "stock_adjustment",
            "debtor_group_product_discount",
            "debtor_group_product_group_discount",
            "debtor_product_discount",
            "debtor_product_group_discount",
        )
    },
}


def before_write(
    c: sqlite3.Connection, table: str, values: Row, existing: Row | None, today: dt.date
) -> None:
    for hook in _BEFORE.get(table, ()):
        hook(c, table, values, existing, today)


def after_write(
    c: sqlite3.Connection, table: str, row_id: int, values: Row, existing: Row | None, today: dt.date
) -> None:
    if table == "debtor":
        _after_debtor(c, row_id, values, existing, today)
    elif table in DOCUMENTS:
        _after_document(c, table, row_id, values, existing)
    elif table in LINES:
        _after_line(c, table, values, existing)
    elif table == "enclosure":
        bookkeeping.voucher_after_write(c, row_id, values)
    elif table == "accounting":
        merged = {**(existing or {}), **values}
        bookkeeping.refresh_voucher(c, merged["enclosure_id"])
        if existing is not None and existing["enclosure_id"] != merged["enclosure_id"]:
            bookkeeping.refresh_voucher(c, existing["enclosure_id"])
    elif table in ("stock_adjustment", "product_list_product", "product"):
        _after_product_change(c, table, values, existing)
    elif table in ("followup", "opportunity"):
        _after_contact_child(c, table, values, existing)
    elif table == "bank":
        refresh_bank_accounts(c)


def before_delete(c: sqlite3.Connection, table: str, existing: Row, today: dt.date) -> None:
    if table == "debtor":
        if _debtor_used(c, existing["module_id_"]):
            raise Invalid({"id": "A debtor with invoices or postings cannot be deleted"})
        c.execute(
            "DELETE FROM contact_user WHERE contact_id IN (SELECT id FROM contact WHERE module_id=?)",
            (existing["id"],),
        )
        c.execute("DELETE FROM contact WHERE module_id=?", (existing["id"],))
    elif table == "debtor_invoice" and existing["is_booked"] == "YES":
        raise Invalid({"id": "A booked invoice cannot be deleted; credit it with credit_debtor_invoice"})
    elif table == "enclosure":
        bookkeeping.voucher_before_delete(c, existing)
    elif table == "accounting":
        voucher = c.execute(
            "SELECT is_booked FROM enclosure WHERE id=?", (existing["enclosure_id"],)
        ).fetchone()
        if voucher and voucher[0] == "YES":
            raise Invalid({"id": "A line of a booked voucher cannot be deleted"})
    elif table == "draft":
        if c.execute("SELECT 1 FROM enclosure WHERE draft_id=? LIMIT 1", (existing["id"],)).fetchone():
            raise Invalid({"id": "The journal holds vouchers (empty it with empty_draft, booked ones stay)"})
    elif table in LINES:
        _line_document(c, table, existing[LINES[table].fk])
    for line_table, spec in LINES.items():
        if spec.document == table:
            c.execute(f"DELETE FROM {line_table} WHERE {spec.fk}=?", (existing[spec.document_key],))  # noqa: S608


def after_delete(c: sqlite3.Connection, table: str, existing: Row, today: dt.date) -> None:
    if table in LINES:
        spec = LINES[table]
        sql = f"SELECT 1 FROM {spec.document} WHERE {spec.document_key}=?"  # noqa: S608
        if c.execute(sql, (existing[spec.fk],)).fetchone():
            documents.refresh(c, table, existing[spec.fk])
        if table in ("debtor_order_product", "creditor_order_product"):
            refresh_products(c, {existing["product_id_"]})
    elif table == "accounting":
        bookkeeping.refresh_voucher(c, existing["enclosure_id"])
    elif table in ("stock_adjustment", "product_list_product"):
        _after_product_change(c, table, {}, existing)
    elif table in ("followup", "opportunity") and existing.get("contact_id"):
        refresh_followups(c, existing["contact_id"])
    elif table == "bank":
        refresh_bank_accounts(c)
    elif table in ("debtor_order", "creditor_order"):
        refresh_products(c, None)
