"""SQLite storage of the 64 tables: DDL from the schema, precompiled page queries rendering JSON in SQL.

One connection shared by the ASGI loop, the webhook thread and the caller's thread, serialised by a lock.
Nothing here knows accounting rules; ``ledger.py`` does.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dsobridge.sandbox.dynaccount.schema import INT, MONEY, TABLES, Table
from dsobridge.sandbox.dynaccount.values import default_value, money_sql

# Every where-filter the sync and the public clients use is index-backed; every index ends (implicitly) with
# the row id, so ``order=id`` within a filter, and ``order=<indexed field>`` with ties broken by id in the
# same
# direction, never sort: a page of 1,000 rows costs the same on a 1M-row table as on a small one.
_FOREIGN_KEYS = (
    "module_id_",
    "invoice_id_",
    "contact_id",
    "enclosure_id",
    "draft_id",
    "invoice_id",
    "order_id",
    "quote_id",
    "creditnote_id",
    "order_product_id",
)
_INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS ix_debtor_no ON debtor(module_id_)",
    "CREATE INDEX IF NOT EXISTS ix_inv_open ON debtor_invoice(is_booked, is_matched)",
    "CREATE INDEX IF NOT EXISTS ix_inv_open_no ON debtor_invoice(is_booked, is_matched, invoice_id_)",
    "CREATE INDEX IF NOT EXISTS ix_inv_booked_no ON debtor_invoice(is_booked, invoice_id_)",
    "CREATE INDEX IF NOT EXISTS ix_cn_inv ON debtor_creditnote(credit_invoice_id_)",
    "CREATE INDEX IF NOT EXISTS ix_cn_open ON debtor_creditnote(is_booked, is_matched)",
    "CREATE INDEX IF NOT EXISTS ix_cn_open_no ON debtor_creditnote(is_booked, is_matched, invoice_id_)",
    "CREATE INDEX IF NOT EXISTS ix_cn_booked_no ON debtor_creditnote(is_booked, invoice_id_)",
    "CREATE INDEX IF NOT EXISTS ix_dam_open ON debtor_accounting_module(type, is_matched)",
    "CREATE INDEX IF NOT EXISTS ix_dam_enc ON debtor_accounting_module(enc_id_)",
    "CREATE INDEX IF NOT EXISTS ix_m_cn ON debtor_invoice_match(creditnote_id_)",
    "CREATE INDEX IF NOT EXISTS ix_m_kind_cn ON debtor_invoice_match(is_creditnote, creditnote_id_)",
    "CREATE INDEX IF NOT EXISTS ix_m_pay ON debtor_invoice_match(payment_id)",
    "CREATE INDEX IF NOT EXISTS ix_m_open ON debtor_invoice_match(is_matched)",
    "CREATE INDEX IF NOT EXISTS ix_enc_no ON enclosure(enc_id_)",
    "CREATE INDEX IF NOT EXISTS ix_acc_off ON accounting(accountoff_id_)",
    "CREATE INDEX IF NOT EXISTS ix_contact_row ON contact(module_id)",
    # a debtor's balance and due (ledger.recompute) from its open items alone, read from the index
    "CREATE INDEX IF NOT EXISTS ix_inv_debtor_open ON debtor_invoice(module_id_, time_due, _remaining) "
    "WHERE is_booked='YES' AND _remaining <> 0",
    "CREATE INDEX IF NOT EXISTS ix_dam_debtor_open ON debtor_accounting_module(module_id_, _remaining) "
    "WHERE type='PAYMENT' AND _remaining <> 0",
    "CREATE INDEX IF NOT EXISTS ix_dop_product ON debtor_order_product(product_id_)",
    "CREATE INDEX IF NOT EXISTS ix_cop_product ON creditor_order_product(product_id_)",
    "CREATE INDEX IF NOT EXISTS ix_stock_product ON stock_adjustment(product_id_)",
]


def _foreign_key_indexes() -> list[str]:
    return [
        f"CREATE INDEX IF NOT EXISTS ix_{table.name}__{name} ON {table.name}({name})"
        for table in TABLES.values()
        for name in _FOREIGN_KEYS
        if name in table.fields and name != table.key
    ]


_LIMIT_NUMBER = re.compile(r"^\s*\d{1,18}\s*$", re.ASCII)
_ORDER_ITEM = re.compile(r"^\s*([a-z_][a-z0-9_]*)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)


class QueryError(ValueError):
    """A get parameter names an unknown field or is malformed (→ 400)."""


def fetch_one(c: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
    """The first row of a query as a dict keyed by column name (None when there is none)."""
    cursor = c.execute(sql, params)
    row = cursor.fetchone()
    return None if row is None else dict(zip([d[0] for d in cursor.description], row, strict=True))


def fetch_all(c: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Every row of a query as a dict keyed by column name."""
    cursor = c.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


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


def json_object_sql(table: Table, fields: Sequence[str]) -> str:
    parts = []
    for name in fields:
        field = table.fields[name]
        value = money_sql(name) if field.type == MONEY else name
        if name in table.blank_as_zero:
            value = f"CASE WHEN {name}=0 THEN '' ELSE {name} END"
        parts.append(f"'{name}', {value}")
    return f"json_object({', '.join(parts)})"


Order = tuple[tuple[str, bool], ...]


def total_order(order: Order) -> Order:
    """The order a page is served in: as asked, ties broken by ``id`` in the direction of the last field (so
    an index on the field, which ends with the row id, serves it without a sort); ``id`` when nothing
    asked."""
    if not order:
        return (("id", False),)
    if any(name == "id" for name, _ in order):
        return order
    return (*order, ("id", order[-1][1]))


def _after(order: Order) -> str:
    """SQL true for rows strictly after the key ``(?, ?, …)`` in ``order`` (a keyset continuation)."""
    directions = {desc for _, desc in order}
    if len(directions) == 1:
        columns = ", ".join(name for name, _ in order)
        marks = ", ".join("?" for _ in order)
        return f"({columns}) {'<' if order[0][1] else '>'} ({marks})"
    terms = []  # mixed directions: (a after) OR (a = AND b after) OR …
    for i, (name, desc) in enumerate(order):
        equal = [f"{prefix} = ?" for prefix, _ in order[:i]]
        terms.append("(" + " AND ".join([*equal, f"{name} {'<' if desc else '>'} ?"]) + ")")
    return "(" + " OR ".join(terms) + ")"


def _after_params(order: Order, key: tuple) -> tuple:
    if len({desc for _, desc in order}) == 1:
        return key
    return tuple(value for i in range(len(order)) for value in key[: i + 1])


class _PageQuery:
    """One get shape, by offset and continuing after a key; with each, the query of a page's last key (an
    index walk of the page, no JSON: cheaper than numbering the rows of the page itself)."""

    def __init__(self, table: Table, fields: Sequence[str], where: Sequence[str], order: Order) -> None:
        self.order = order
        keys = ", ".join(name for name, _ in order)
        order_sql = ", ".join(f"{name} {'DESC' if desc else 'ASC'}" for name, desc in order)
        clauses = [f"{name} = ?" for name in where]

        def rows(select: str, conditions: list[str], tail: str) -> str:
            return (
                f"SELECT {select} FROM {table.name}"  # noqa: S608
                + (f" WHERE {' AND '.join(conditions)}" if conditions else "")
                + f" ORDER BY {order_sql} {tail}"
            )

        def page(conditions: list[str], tail: str) -> str:
            inner = rows(f"{json_object_sql(table, fields)} AS j", conditions, tail)
            return f"SELECT coalesce(json_group_array(json(j)), '[]'), count(*) FROM ({inner})"  # noqa: S608

        keyed = [*clauses, _after(order)]
        self.by_offset = page(clauses, "LIMIT ? OFFSET ?")
        self.by_key = page(keyed, "LIMIT ?")
        self.last_by_offset = rows(keys, clauses, "LIMIT 1 OFFSET ?")
        self.last_by_key = rows(keys, keyed, "LIMIT 1 OFFSET ?")


class Store:
    """The SQLite database of one sandbox accounting.

    Deep pages: the key of the last row of every page served is remembered per query (table, fields, filter
    values, order) and offset; a request for the page that starts there continues after that key through the
    index instead of skipping ``offset`` rows (a page no earlier page led to walks the index once, keys only,
    to find where it starts). Any committed write forgets every key, so a page always holds exactly the rows
    ``LIMIT count OFFSET offset`` would.
    """

    CURSORS = 4096

    def __init__(self, path: str | None = None) -> None:
        self.path = path or ":memory:"
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self._queries: dict[tuple, _PageQuery] = {}
        self._cursors: OrderedDict[tuple, tuple] = OrderedDict()
        self.create_schema()

    def create_schema(self) -> None:
        with self.lock:
            for table in TABLES.values():
                for statement in _ddl(table):
                    self.conn.execute(statement)
            self.create_indexes(self.conn)
            self.conn.execute("CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS _outbox (id INTEGER PRIMARY KEY, time TEXT, invoice_id_ INTEGER,"
                " email TEXT, msg TEXT, is_attached TEXT, pdf BLOB)"
            )

    @staticmethod
    def create_indexes(c: sqlite3.Connection) -> None:
        for statement in [*_INDEXES, *_foreign_key_indexes()]:
            c.execute(statement)

    @staticmethod
    def drop_indexes(c: sqlite3.Connection) -> None:
        """Drop the secondary indexes (a bulk load then rebuilds them once: much faster than row by row)."""
        names = c.execute("SELECT name FROM sqlite_master WHERE type='index' AND name LIKE 'ix_%'").fetchall()
        for (name,) in names:
            c.execute(f"DROP INDEX {name}")

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
        """One write transaction; rolled back on any exception. Remembered page keys are dropped."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            self._cursors.clear()
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            self._cursors.clear()

    # -- meta ---------------------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.lock:
            row = self.conn.execute("SELECT value FROM _meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self.conn.execute("INSERT OR REPLACE INTO _meta(key, value) VALUES (?, ?)", (key, value))

    # -- reads --------------------------------------------------------------------------------------------
    def _query(
        self, table: Table, select: tuple[str, ...], where: tuple[str, ...], order: Order
    ) -> _PageQuery:
        key = (table.name, select, where, order)
        query = self._queries.get(key)
        if query is None:
            for name in (*select, *where, *(o[0] for o in order)):
                if name not in table.fields:
                    raise QueryError(f"Unknown field '{name}' in table '{table.name}'")
            query = _PageQuery(table, select or table.public, where, total_order(order))
            self._queries[key] = query
        return query

    def page(
        self,
        table: Table,
        *,
        select: tuple[str, ...] = (),
        where: Mapping[str, Any] | None = None,
        order: Order = (),
        offset: int = 0,
        count: int = -1,
    ) -> tuple[str, int]:
        """(JSON array text, number of rows) of one page."""
        where = dict(where or {})
        query = self._query(table, select, tuple(where), order)
        shape = (table.name, select, tuple(where.items()), order)
        with self.lock:
            key = self._cursors.get((*shape, offset)) if offset else None
            if key is None and offset:  # a cold deep page: one walk of the index to where it starts
                before = self.conn.execute(query.last_by_offset, (*where.values(), offset - 1)).fetchone()
                if before is None:
                    return "[]", 0
                key = tuple(before)
            if key is not None:
                after = (*where.values(), *_after_params(query.order, key))
                text, num = self.conn.execute(query.by_key, (*after, count)).fetchone()
                last = (query.last_by_key, (*after, num - 1))
            else:
                text, num = self.conn.execute(query.by_offset, (*where.values(), count, 0)).fetchone()
                last = (query.last_by_offset, (*where.values(), num - 1))
            if num and num == count:  # a full page: the client will likely ask for the next one
                self._remember((*shape, offset + num), tuple(self.conn.execute(*last).fetchone()))
        return text, num

    def _remember(self, position: tuple, key: tuple) -> None:
        self._cursors[position] = key
        self._cursors.move_to_end(position)
        while len(self._cursors) > self.CURSORS:
            self._cursors.popitem(last=False)

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
