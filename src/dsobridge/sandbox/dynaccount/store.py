"""SQLite storage of the 64 tables: DDL from the schema, precompiled page queries rendering JSON in SQL.

One connection shared by the ASGI loop, the webhook thread and the caller's thread, serialised by a lock.
Nothing here knows accounting rules; ``ledger.py`` does.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dsobridge.sandbox.dynaccount.schema import INT, MONEY, TABLES, Table
from dsobridge.sandbox.dynaccount.values import default_value, money_sql

_INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS ix_debtor_no ON debtor(module_id_)",
    "CREATE INDEX IF NOT EXISTS ix_inv_no ON debtor_invoice(invoice_id_)",
    "CREATE INDEX IF NOT EXISTS ix_inv_debtor ON debtor_invoice(module_id_)",
    "CREATE INDEX IF NOT EXISTS ix_inv_open ON debtor_invoice(is_booked, is_matched)",
    "CREATE INDEX IF NOT EXISTS ix_invp_inv ON debtor_invoice_product(invoice_id)",
    "CREATE INDEX IF NOT EXISTS ix_cn_no ON debtor_creditnote(invoice_id_)",
    "CREATE INDEX IF NOT EXISTS ix_cn_inv ON debtor_creditnote(credit_invoice_id_)",
    "CREATE INDEX IF NOT EXISTS ix_cn_debtor ON debtor_creditnote(module_id_)",
    "CREATE INDEX IF NOT EXISTS ix_cn_open ON debtor_creditnote(is_booked, is_matched)",
    "CREATE INDEX IF NOT EXISTS ix_cnp ON debtor_creditnote_product(creditnote_id)",
    "CREATE INDEX IF NOT EXISTS ix_dam_debtor ON debtor_accounting_module(module_id_, type)",
    "CREATE INDEX IF NOT EXISTS ix_dam_open ON debtor_accounting_module(type, is_matched)",
    "CREATE INDEX IF NOT EXISTS ix_dam_enc ON debtor_accounting_module(enc_id_)",
    "CREATE INDEX IF NOT EXISTS ix_m_inv ON debtor_invoice_match(invoice_id_)",
    "CREATE INDEX IF NOT EXISTS ix_m_cn ON debtor_invoice_match(creditnote_id_)",
    "CREATE INDEX IF NOT EXISTS ix_m_pay ON debtor_invoice_match(payment_id)",
    "CREATE INDEX IF NOT EXISTS ix_m_debtor ON debtor_invoice_match(module_id_)",
    "CREATE INDEX IF NOT EXISTS ix_m_open ON debtor_invoice_match(is_matched)",
    "CREATE INDEX IF NOT EXISTS ix_contact_debtor ON contact(module_id_)",
    "CREATE INDEX IF NOT EXISTS ix_cu_contact ON contact_user(contact_id)",
]

_LIMIT_NUMBER = re.compile(r"^\s*\d{1,18}\s*$", re.ASCII)
_ORDER_ITEM = re.compile(r"^\s*([a-z_][a-z0-9_]*)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)


class QueryError(ValueError):
    """A get parameter names an unknown field or is malformed (→ 400)."""


def _ddl(table: Table) -> list[str]:
    columns = ["id INTEGER PRIMARY KEY"]
    for field in table.fields.values():
        if field.name == "id":
            continue
        sqltype = "INTEGER" if field.type in (INT, MONEY) else "TEXT"
        default = default_value(field)
        columns.append(f"{field.name} {sqltype} NOT NULL DEFAULT {default!r}")
    for name in table.internal:
        columns.append(f"{name} {'BLOB' if name == '_data' else 'INTEGER NOT NULL DEFAULT 0'}")
    return [f"CREATE TABLE IF NOT EXISTS {table.name} ({', '.join(columns)})"]


# Optional ledger-account pointers answer "" when unset, as the seed's vatcode rows do.
EMPTY_WHEN_ZERO = frozenset({"accountoff_id_", "sum_account_id_"})


def json_object_sql(table: Table, fields: Sequence[str]) -> str:
    parts = []
    for name in fields:
        field = table.fields[name]
        value = money_sql(name) if field.type == MONEY else name
        if name in EMPTY_WHEN_ZERO and field.type == INT:
            value = f"CASE WHEN {name}=0 THEN '' ELSE {name} END"
        parts.append(f"'{name}', {value}")
    return f"json_object({', '.join(parts)})"


class Store:
    """The SQLite database of one sandbox accounting."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or ":memory:"
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self._cache: dict[tuple, tuple[str, list[str]]] = {}
        self.create_schema()

    def create_schema(self) -> None:
        with self.lock:
            for table in TABLES.values():
                for statement in _ddl(table):
                    self.conn.execute(statement)
            for statement in _INDEXES:
                self.conn.execute(statement)
            self.conn.execute("CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS _outbox (id INTEGER PRIMARY KEY, time TEXT, invoice_id_ INTEGER,"
                " email TEXT, msg TEXT, is_attached TEXT, pdf BLOB)"
            )

    def wipe(self) -> None:
        with self.tx() as c:
            for table in TABLES:
                c.execute(f"DELETE FROM {table}")  # noqa: S608
            c.execute("DELETE FROM _outbox")

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back on any exception."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    # -- meta ---------------------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.lock:
            row = self.conn.execute("SELECT value FROM _meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self.conn.execute("INSERT OR REPLACE INTO _meta(key, value) VALUES (?, ?)", (key, value))

    # -- reads --------------------------------------------------------------------------------------------
    def compile_page(
        self,
        table: Table,
        select: tuple[str, ...],
        where: tuple[str, ...],
        order: tuple[tuple[str, bool], ...],
    ) -> str:
        key = (table.name, select, where, order)
        cached = self._cache.get(key)
        if cached is not None:
            return cached[0]
        for name in (*select, *where, *(o[0] for o in order)):
            if name not in table.fields:
                raise QueryError(f"Unknown field '{name}' in table '{table.name}'")
        fields = select or table.public
        clauses = " AND ".join(f"{name} = ?" for name in where)
        order_sql = ", ".join(f"{name} {'DESC' if desc else 'ASC'}" for name, desc in order) or "id ASC"
        if order and not any(name == "id" for name, _ in order):
            order_sql += ", id ASC"  # deterministic pages
        inner = (
            f"SELECT {json_object_sql(table, fields)} AS j FROM {table.name}"  # noqa: S608
            + (f" WHERE {clauses}" if clauses else "")
            + f" ORDER BY {order_sql} LIMIT ? OFFSET ?"
        )
        sql = f"SELECT coalesce(json_group_array(json(j)), '[]'), count(*) FROM ({inner})"  # noqa: S608
        self._cache[key] = (sql, list(fields))
        return sql

    def page(
        self,
        table: Table,
        *,
        select: tuple[str, ...] = (),
        where: Mapping[str, Any] | None = None,
        order: tuple[tuple[str, bool], ...] = (),
        offset: int = 0,
        count: int = -1,
    ) -> tuple[str, int]:
        """(JSON array text, number of rows) of one page."""
        where = dict(where or {})
        sql = self.compile_page(table, select, tuple(where), order)
        with self.lock:
            text, num = self.conn.execute(sql, (*where.values(), count, offset)).fetchone()
        return text, num

    def row_json(self, c: sqlite3.Connection, table: str, row_id: int) -> str | None:
        spec = TABLES[table]
        row = c.execute(
            f"SELECT {json_object_sql(spec, spec.public)} FROM {table} WHERE id=?",  # noqa: S608
            (row_id,),
        ).fetchone()
        return row[0] if row else None


def parse_order(text: str) -> tuple[tuple[str, bool], ...]:
    """``name``, ``name desc`` or several joined by ``,`` → ((field, descending), …)."""
    if not text.strip():
        return ()
    items = []
    for part in text.split(","):
        match = _ORDER_ITEM.match(part)
        if match is None:
            raise QueryError(f"Malformed order '{text}'")
        items.append((match.group(1), (match.group(2) or "").lower() == "desc"))
    return tuple(items)


def parse_limit(text: str) -> tuple[int, int]:
    """``offset,count`` (or ``count``) → (offset, count); count -1 means no limit."""
    text = text.strip()
    if not text:
        return 0, -1
    parts = text.split(",")
    if not all(_LIMIT_NUMBER.match(p) for p in parts):  # ASCII digits only: no '1_0', no '٣'
        raise QueryError(f"Malformed limit '{text}' (expected offset,count)")
    numbers = [int(p) for p in parts]
    if len(numbers) == 1:
        numbers = [0, numbers[0]]
    if len(numbers) != 2 or numbers[0] < 0 or numbers[1] < 0 or numbers[1] > 100_000:
        raise QueryError(f"Malformed limit '{text}' (expected offset,count with count ≤ 100000)")
    return numbers[0], numbers[1]
