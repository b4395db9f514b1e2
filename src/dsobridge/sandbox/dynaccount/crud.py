"""put / insert_bulk / delete: validation of fields against the schema, plus per-table rules.

Every function takes an open transaction; the caller commits, then fires webhooks.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from dsobridge.sandbox.dynaccount import ledger
from dsobridge.sandbox.dynaccount.errors import Invalid, NotFound
from dsobridge.sandbox.dynaccount.schema import TABLES, Table, reference_for
from dsobridge.sandbox.dynaccount.values import parse_value

_COUNTRY = re.compile(r"^[A-Z]{2}$")
# line table -> (document table, foreign key column)
LINES: dict[str, tuple[str, str]] = {
    "debtor_invoice_product": ("debtor_invoice", "invoice_id"),
    "debtor_order_product": ("debtor_order", "order_id"),
    "debtor_quote_product": ("debtor_quote", "quote_id"),
    "creditor_invoice_product": ("creditor_invoice", "invoice_id"),
    "creditor_order_product": ("creditor_order", "order_id"),
}
_DOC_NUMBERS = {"debtor_order": "order_id_", "debtor_quote": "quote_id_", "creditor_order": "order_id_"}
_REQUIRED = {
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
    "draft": ("amount",),
}
_REQUIRED.update({line: (fk,) for line, (_, fk) in LINES.items()})


def _table(name: str) -> Table:
    table = TABLES.get(name)
    if table is None:
        raise NotFound(f"Unknown table '{name}'")
    return table


def _validate(c: sqlite3.Connection, table: Table, fields: Sequence[tuple[str, str]]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, text in fields:
        field = table.fields.get(name)
        if field is None:
            errors[name] = f"Unknown field '{name}' in table '{table.name}'"
            continue
        if not field.writable:
            errors[name] = "Read-only field"
            continue
        try:
            value = parse_value(field, text)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if name.endswith("ref_country_name") and isinstance(value, str):
            value = value.upper()  # 'dk' is a country code too
            if value and not _COUNTRY.match(value):
                errors[name] = "Must be an ISO 3166 two-letter country code, like DK"
                continue
        target = reference_for(table.name, name)
        if target is not None and value not in ("", 0):
            ref_table, column = target
            # Names are matched case-insensitively (the seed's own put example sends
            # 'ref_currency_name' => 'dkk') and stored as the referenced row spells them.
            found = c.execute(
                f"SELECT {column} FROM {ref_table} WHERE {column}=? "  # noqa: S608
                f"{'COLLATE NOCASE ' if isinstance(value, str) else ''}ORDER BY {column}=? DESC LIMIT 1",
                (value, value),
            ).fetchone()
            if found is None:
                errors[name] = f"No {ref_table} with {column} '{value}'"
                continue
            value = found[0]
        values[name] = value
    if errors:
        raise Invalid(errors)
    return values


def put(
    c: sqlite3.Connection, table_name: str, row_id: int, fields: Sequence[tuple[str, str]], today: dt.date
) -> tuple[int, str]:
    """Create (``row_id`` 0) or update a row. Returns (row id, ``insert``/``update``)."""
    table = _table(table_name)
    if table.readonly_table:
        raise Invalid({"table": f"Table '{table_name}' is read-only: {table.readonly_table}"})
    values = _validate(c, table, fields)
    existing = None
    if row_id:
        cursor = c.execute(f"SELECT * FROM {table_name} WHERE id=?", (row_id,))  # noqa: S608
        row = cursor.fetchone()
        if row is None:
            raise NotFound(f"No {table_name} with id {row_id}")
        existing = dict(zip([d[0] for d in cursor.description], row, strict=True))
    else:
        missing = {name: "Required field" for name in _REQUIRED.get(table_name, ()) if name not in values}
        if table_name == "debtor_invoice_product" and "invoice_id" in missing:
            pass
        if missing:
            raise Invalid(missing)
    hook = _HOOKS.get(table_name) or (_line_hook if table_name in LINES else None)
    if hook is not None:
        hook(c, table_name, values, existing, today)
    if table.key and table.key in values:
        clash = c.execute(
            f"SELECT id FROM {table_name} WHERE {table.key}=? AND id<>?",  # noqa: S608
            (values[table.key], row_id),
        ).fetchone()
        if clash is not None:
            raise Invalid(
                {table.key: f"A {table_name} with {table.key} '{values[table.key]}' already exists"}
            )
    if existing is None:
        new_id = int(
            c.execute(
                f"INSERT INTO {table_name} ({', '.join(values) or 'id'}) "  # noqa: S608
                f"VALUES ({', '.join('?' for _ in values) or 'NULL'})",
                tuple(values.values()),
            ).lastrowid
            or 0
        )
        _after(c, table_name, new_id, values, None, today)
        return new_id, "insert"
    if values:
        sets = ", ".join(f"{k}=?" for k in values)
        c.execute(f"UPDATE {table_name} SET {sets} WHERE id=?", (*values.values(), row_id))  # noqa: S608
    _after(c, table_name, row_id, values, existing, today)
    return row_id, "update"


def delete(c: sqlite3.Connection, table_name: str, row_id: int, today: dt.date) -> None:
    table = _table(table_name)
    if table.readonly_table:
        raise Invalid({"table": f"Table '{table_name}' is read-only: {table.readonly_table}"})
    cursor = c.execute(f"SELECT * FROM {table_name} WHERE id=?", (row_id,))  # noqa: S608
    row = cursor.fetchone()
    if row is None:
        raise NotFound(f"No {table_name} with id {row_id}")
    existing = dict(zip([d[0] for d in cursor.description], row, strict=True))
    if table_name == "debtor":
        used = c.execute(
            "SELECT 1 FROM debtor_invoice WHERE module_id_=? UNION ALL "
            "SELECT 1 FROM debtor_accounting_module WHERE module_id_=? LIMIT 1",
            (existing["module_id_"], existing["module_id_"]),
        ).fetchone()
        if used:
            raise Invalid({"id": "A debtor with invoices or postings cannot be deleted"})
        c.execute(
            "DELETE FROM contact_user WHERE contact_id IN (SELECT id FROM contact WHERE module_id=?)",
            (row_id,),
        )
        c.execute("DELETE FROM contact WHERE module_id=?", (row_id,))
    if table_name == "debtor_invoice" and existing["is_booked"] == "YES":
        raise Invalid({"id": "A booked invoice cannot be deleted; credit it with credit_debtor_invoice"})
    for line_table, (doc_table, fk) in LINES.items():
        if doc_table == table_name:
            c.execute(f"DELETE FROM {line_table} WHERE {fk}=?", (row_id,))  # noqa: S608
    if table_name in LINES:
        doc_table, fk = LINES[table_name]
        _require_draft(c, doc_table, existing[fk], fk)
    c.execute(f"DELETE FROM {table_name} WHERE id=?", (row_id,))  # noqa: S608
    if table_name in LINES:
        doc_table, fk = LINES[table_name]
        ledger.refresh_totals(c, doc_table, table_name, fk, existing[fk])


def insert_bulk(
    c: sqlite3.Connection, table_name: str, rows: Sequence[Sequence[tuple[str, str]]], today: dt.date
) -> list[int]:
    """All rows or none: errors are collected per line index and raised together."""
    _table(table_name)
    ids: list[int] = []
    errors: dict[str, Any] = {}
    for index, fields in enumerate(rows):
        c.execute("SAVEPOINT bulk_row")
        try:
            ids.append(put(c, table_name, 0, fields, today)[0])
        except Invalid as exc:
            errors[str(index)] = exc.error
        except NotFound as exc:
            errors[str(index)] = exc.error
        c.execute("RELEASE bulk_row")
    if errors:
        raise Invalid(errors)
    return ids


# -- per-table rules ------------------------------------------------------------------------------------
def _debtor_hook(c: sqlite3.Connection, _t: str, values: dict, existing: dict | None, today: dt.date) -> None:
    if existing is None:
        values.setdefault("module_id_", ledger.next_module_no(c))
        values.setdefault("ref_currency_name", "DKK")
        values.setdefault("lang", "da")
        values.setdefault("ref_country_name", "DK")
        for name, default in (("payment_name", "Netto 8 dage"), ("vatcode_name", "U25")):
            if name not in values:
                table, column = reference_for("debtor", name) or ("", "")
                if c.execute(f"SELECT 1 FROM {table} WHERE {column}=?", (default,)).fetchone():  # noqa: S608
                    values[name] = default
        return
    changing = [k for k in ("module_id_", "ref_currency_name") if k in values and values[k] != existing[k]]
    if changing:
        used = c.execute(
            "SELECT 1 FROM debtor_invoice WHERE module_id_=? UNION ALL "
            "SELECT 1 FROM debtor_accounting_module WHERE module_id_=? LIMIT 1",
            (existing["module_id_"], existing["module_id_"]),
        ).fetchone()
        if used:
            raise Invalid({k: "Cannot change once the debtor has invoices or postings" for k in changing})


def _document_hook(
    c: sqlite3.Connection, table: str, values: dict, existing: dict | None, today: dt.date
) -> None:
    if existing is not None and existing.get("is_booked") == "YES":
        blocked = {k: "A booked invoice cannot be changed" for k in values if k != "txt"}
        if blocked:
            raise Invalid(blocked)
        return
    module_no = values.get("module_id_", existing["module_id_"] if existing else 0)
    debtor_table = "creditor" if table.startswith("creditor") else "debtor"
    cursor = c.execute(f"SELECT * FROM {debtor_table} WHERE module_id_=?", (module_no,))  # noqa: S608
    row = cursor.fetchone()
    if row is None:
        raise Invalid({"module_id_": f"No {debtor_table} with module_id_ '{module_no}'"})
    debtor = dict(zip([d[0] for d in cursor.description], row, strict=True))
    currency = debtor["ref_currency_name"] or "DKK"
    if values.get("currency_name", currency) != currency:
        raise Invalid({"currency_name": f"Must be the debtor's currency ({currency})"})
    if existing is None or "module_id_" in values:
        values["module_id"] = debtor["id"]
        values["currency_name"] = currency
        values["currency_rate"] = ledger.currency_rate(c, currency)
        values.setdefault("payment_name", debtor["payment_name"])
        for name in ("address", "zip", "city", "ref_country_name"):
            values.setdefault(name, debtor[name])
        values.setdefault("attention_name", debtor.get("attention_name", ""))
        if "name" in TABLES[table].fields:
            values.setdefault("name", debtor["name"])
    if existing is None:
        values.setdefault("time", today.isoformat())
        number_field = _DOC_NUMBERS.get(table)
        if number_field:
            top = c.execute(f"SELECT coalesce(max({number_field}), 0) FROM {table}").fetchone()[0]  # noqa: S608
            values[number_field] = int(top) + 1
    if table == "debtor_invoice":
        issued = (
            dt.date.fromisoformat(values.get("time") or existing["time"])
            if (values.get("time") or existing)
            else today
        )
        payment = values.get("payment_name", existing["payment_name"] if existing else "")
        values["time_due"] = ledger.due_date(c, payment, issued).isoformat()


def _require_draft(c: sqlite3.Connection, doc_table: str, doc_id: int, fk: str) -> None:
    row = c.execute(f"SELECT * FROM {doc_table} WHERE id=?", (doc_id,)).fetchone()  # noqa: S608
    if row is None:
        raise Invalid({fk: f"No {doc_table} with id {doc_id}"})
    if "is_booked" in TABLES[doc_table].fields:
        booked = c.execute(f"SELECT is_booked FROM {doc_table} WHERE id=?", (doc_id,)).fetchone()[0]  # noqa: S608
        if booked == "YES":
            raise Invalid({fk: f"{doc_table} {doc_id} is booked; its lines cannot change"})


def _line_hook(
    c: sqlite3.Connection, table: str, values: dict, existing: dict | None, today: dt.date
) -> None:
    doc_table, fk = LINES[table]
    doc_id = values.get(fk, existing[fk] if existing else 0)
    _require_draft(c, doc_table, doc_id, fk)
    if existing is not None and fk in values and values[fk] != existing[fk]:
        _require_draft(c, doc_table, existing[fk], fk)
    product = None
    if values.get("product_id_"):
        cursor = c.execute("SELECT * FROM product WHERE product_id_=?", (values["product_id_"],))
        product = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    if existing is None:
        values.setdefault("qty", 100)
        if product:
            values.setdefault("price", product["price"])
            values.setdefault("txt", product["name"])
            values.setdefault("unit_name", product["unit_name"])
        if "vatcode_name" not in values:
            owner = c.execute(
                f"SELECT d.vatcode_name FROM {doc_table} x JOIN "  # noqa: S608
                f"{'creditor' if doc_table.startswith('creditor') else 'debtor'} d ON d.id = x.module_id "
                "WHERE x.id=?",
                (doc_id,),
            ).fetchone()
            values["vatcode_name"] = owner[0] if owner else ""
    merged = {**(existing or {}), **values}
    values["amount"] = ledger.line_amount(
        int(merged.get("qty", 100)), int(merged.get("price", 0)), int(merged.get("discount_percent", 0))
    )
    if abs(values["amount"]) > ledger.MAX_AMOUNT:
        raise Invalid({"amount": f"qty × price (less discount) exceeds {ledger.MAX_AMOUNT_TEXT}"})


def _draft_hook(c: sqlite3.Connection, _t: str, values: dict, existing: dict | None, today: dt.date) -> None:
    merged = {**(existing or {}), **values}
    if existing is None:
        values.setdefault("time", today.isoformat())
        values.setdefault("type", "DEBTOR" if values.get("module_id_") else "FINANCE")
    kind = values.get("type", merged.get("type"))
    if kind == "DEBTOR" and not merged.get("module_id_"):
        raise Invalid({"module_id_": "Required for a DEBTOR line"})
    if kind == "DEBTOR":
        currency = c.execute(
            "SELECT ref_currency_name FROM debtor WHERE module_id_=?", (merged["module_id_"],)
        ).fetchone()[0]
        if merged.get("currency_name") and merged["currency_name"] != currency:
            raise Invalid({"currency_name": f"Must be the debtor's currency ({currency})"})
        values["currency_name"] = currency
    values["currency_rate"] = ledger.currency_rate(
        c, values.get("currency_name") or merged.get("currency_name") or "DKK"
    )


# DKK per 100 units, in hundredths: above 100,000.00 a converted 13-digit amount would overflow 64 bits.
MAX_RATE = 10_000_000
MAX_TERM_DAYS = 3650


def _currency_hook(
    c: sqlite3.Connection, _t: str, values: dict, existing: dict | None, today: dt.date
) -> None:
    if "rate" in values and not 0 < values["rate"] <= MAX_RATE:
        raise Invalid({"rate": "Must be greater than 0 and at most 100000.00 (DKK per 100 units)"})


def _payment_hook(
    c: sqlite3.Connection, _t: str, values: dict, existing: dict | None, today: dt.date
) -> None:
    if "days" in values and not 0 <= values["days"] <= MAX_TERM_DAYS:
        raise Invalid({"days": f"Must be between 0 and {MAX_TERM_DAYS}"})


def _after(
    c: sqlite3.Connection, table: str, row_id: int, values: dict, existing: dict | None, today: dt.date
) -> None:
    if table == "debtor" and existing is None:
        cursor = c.execute(
            "INSERT INTO contact (module_id, module_id_, time_created, name) VALUES (?,?,?,?)",
            (row_id, values["module_id_"], today.isoformat(), values.get("attention_name") or values["name"]),
        )
        c.execute("UPDATE debtor SET contact_id=? WHERE id=?", (cursor.lastrowid, row_id))
    if table in LINES:
        doc_table, fk = LINES[table]
        doc_id = values.get(fk, existing[fk] if existing else 0)
        ledger.refresh_totals(c, doc_table, table, fk, doc_id)
        if existing is not None and existing[fk] != doc_id:
            ledger.refresh_totals(c, doc_table, table, fk, existing[fk])
    if table == "contact" and "module_id_" in values:
        c.execute(
            "UPDATE contact SET module_id=COALESCE((SELECT id FROM debtor WHERE module_id_=?), 0) WHERE id=?",
            (values["module_id_"], row_id),
        )
    if table == "debtor" and existing is not None:
        ledger.recompute(c, [existing["module_id_"]], today)


_HOOKS = {
    "debtor": _debtor_hook,
    "debtor_invoice": _document_hook,
    "debtor_order": _document_hook,
    "debtor_quote": _document_hook,
    "creditor_invoice": _document_hook,
    "creditor_order": _document_hook,
    "draft": _draft_hook,
    "currency": _currency_hook,
    "payment": _payment_hook,
}
