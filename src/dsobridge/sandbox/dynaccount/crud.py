"""put / insert_bulk / delete: what every table shares — parsing fields against the schema, the round trip
of a row read and sent back, required fields, keys — then the table's own rules (``rules``).

Every function takes an open transaction; the caller commits, then fires webhooks.

The round trip (a client reads a row and puts it back, as the real API's clients do):
- a field of section A of ``dynaccount-fields.md`` (``Field.real_read_only``) is ignored, whatever its value;
- our other read-only fields are ignored when sent unchanged, refused when a put tries to change them;
- only fields whose value really changes reach the table's rules, so a row sent back unchanged is a success,
  even a booked invoice or a row of a table whose rows only actions create.

``''`` is "no value" for every type (the official library sends it for every field it has nothing for): on
create the field is left to its default (the next number, today, the debtor's or the group's value, 0, NO);
on update it stores the empty value (``''``, 0, NO), except where a field cannot be empty (keys, required
fields, enums without an empty choice), which keep their value.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from dsobridge.sandbox.dynaccount import rules
from dsobridge.sandbox.dynaccount.errors import Invalid, NotFound
from dsobridge.sandbox.dynaccount.schema import (
    EDITABLE_IN_READONLY_TABLE,
    ENUM,
    TABLES,
    Field,
    Table,
    reference_for,
)
from dsobridge.sandbox.dynaccount.store import fetch_one
from dsobridge.sandbox.dynaccount.values import parse_value

_COUNTRY = re.compile(r"^[A-Z]{2}$")


def table_of(name: str) -> Table:
    table = TABLES.get(name)
    if table is None:
        raise NotFound(f"Unknown table '{name}'")
    return table


def load(c: sqlite3.Connection, table: str, row_id: int) -> dict[str, Any] | None:
    return fetch_one(c, f"SELECT * FROM {table} WHERE id=?", (row_id,))  # noqa: S608


def _keeps_value_when_empty(table: Table, field: Field) -> bool:
    return (
        field.name == table.key
        or field.name in rules.REQUIRED.get(table.name, ())
        or (field.type == ENUM and "" not in field.choices)
    )


def _resolve_reference(c: sqlite3.Connection, table: Table, name: str, value: Any) -> Any:
    """The referenced row's own spelling of a name or number, or Invalid when there is none."""
    target = reference_for(table.name, name)
    if target is None or value in ("", 0):
        return value
    ref_table, column = target
    # Names are matched case-insensitively (the seed's own put example sends 'ref_currency_name' => 'dkk')
    # and stored as the referenced row spells them.
    found = c.execute(
        f"SELECT {column} FROM {ref_table} WHERE {column}=? "  # noqa: S608
        f"{'COLLATE NOCASE ' if isinstance(value, str) else ''}ORDER BY {column}=? DESC LIMIT 1",
        (value, value),
    ).fetchone()
    if found is None:
        raise ValueError(f"No {ref_table} with {column} '{value}'")
    return found[0]


def _value(c: sqlite3.Connection, table: Table, field: Field, text: str) -> Any:
    value = parse_value(field, text)
    if field.name.endswith("ref_country_name") and isinstance(value, str):
        value = value.upper()  # 'dk' is a country code too
        if value and not _COUNTRY.match(value):
            raise ValueError("Must be an ISO 3166 two-letter country code, like DK")
    return _resolve_reference(c, table, field.name, value)


def validate(
    c: sqlite3.Connection, table: Table, fields: Sequence[tuple[str, str]], existing: dict[str, Any] | None
) -> dict[str, Any]:
    """The values a put sets (only real changes on update), or Invalid with a message per field."""
    creating = existing is None
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, text in fields:
        field = table.fields.get(name)
        if field is None:
            errors[name] = f"Unknown field '{name}' in table '{table.name}'"
            continue
        settable = field.writable or (field.create_only and creating)
        if not settable and field.real_read_only:
            continue  # the real API's clients send these back: ignored
        if text == "" and settable and (creating or _keeps_value_when_empty(table, field)):
            continue  # no value: the default on create, the stored value on update
        try:
            value = _value(c, table, field, text)
        except ValueError as exc:
            errors[name] = "Read-only field" if not settable else str(exc)
            continue
        if existing is not None and existing.get(name) == value:
            continue  # sent back unchanged
        if not settable:
            errors[name] = "Read-only field"
            continue
        values[name] = value
    if errors:
        raise Invalid(errors)
    return values


def put(
    c: sqlite3.Connection, table_name: str, row_id: int, fields: Sequence[tuple[str, str]], today: dt.date
) -> tuple[int, str]:
    """Create (``row_id`` 0) or update a row. Returns (row id, ``insert``/``update``)."""
    table = table_of(table_name)
    existing = None
    if row_id:
        existing = load(c, table_name, row_id)
        if existing is None:
            raise NotFound(f"No {table_name} with id {row_id}")
    elif table.readonly_table:
        raise Invalid({"table": f"Table '{table_name}' is read-only: {table.readonly_table}"})
    values = validate(c, table, fields, existing)
    if existing is not None and not values:
        return row_id, "update"  # a row sent back as it was read
    if table.readonly_table and not set(values) <= EDITABLE_IN_READONLY_TABLE.get(table_name, frozenset()):
        raise Invalid({"table": f"Table '{table_name}' is read-only: {table.readonly_table}"})
    if existing is None:
        missing = {
            name: "Required field" for name in rules.REQUIRED.get(table_name, ()) if name not in values
        }
        if missing:
            raise Invalid(missing)
    rules.before_write(c, table_name, values, existing, today)
    _check_unique_key(c, table, values, row_id)
    if existing is None:
        row_id = int(
            c.execute(
                f"INSERT INTO {table_name} ({', '.join(values) or 'id'}) "  # noqa: S608
                f"VALUES ({', '.join('?' for _ in values) or 'NULL'})",
                tuple(values.values()),
            ).lastrowid
            or 0
        )
    elif values:
        sets = ", ".join(f"{k}=?" for k in values)
        c.execute(f"UPDATE {table_name} SET {sets} WHERE id=?", (*values.values(), row_id))  # noqa: S608
    rules.after_write(c, table_name, row_id, values, existing, today)
    return row_id, "insert" if existing is None else "update"


def _check_unique_key(c: sqlite3.Connection, table: Table, values: dict[str, Any], row_id: int) -> None:
    if not table.key or table.key not in values:
        return
    clash = c.execute(
        f"SELECT id FROM {table.name} WHERE {table.key}=? AND id<>?",  # noqa: S608
        (values[table.key], row_id),
    ).fetchone()
    if clash is not None:
        raise Invalid({table.key: f"A {table.name} with {table.key} '{values[table.key]}' already exists"})


def delete(c: sqlite3.Connection, table_name: str, row_id: int, today: dt.date) -> None:
    table = table_of(table_name)
    if table.readonly_table:
        raise Invalid({"table": f"Table '{table_name}' is read-only: {table.readonly_table}"})
    existing = load(c, table_name, row_id)
    if existing is None:
        raise NotFound(f"No {table_name} with id {row_id}")
    rules.before_delete(c, table_name, existing, today)
    c.execute(f"DELETE FROM {table_name} WHERE id=?", (row_id,))  # noqa: S608
    rules.after_delete(c, table_name, existing, today)


def insert_bulk(
    c: sqlite3.Connection, table_name: str, rows: Sequence[Sequence[tuple[str, str]]], today: dt.date
) -> list[int]:
    """All rows or none: errors are collected per line index and raised together."""
    table_of(table_name)
    ids: list[int] = []
    errors: dict[str, Any] = {}
    for index, fields in enumerate(rows):
        c.execute("SAVEPOINT bulk_row")
        try:
            ids.append(put(c, table_name, 0, fields, today)[0])
        except (Invalid, NotFound) as exc:
            errors[str(index)] = exc.error
        c.execute("RELEASE bulk_row")
    if errors:
        raise Invalid(errors)
    return ids
