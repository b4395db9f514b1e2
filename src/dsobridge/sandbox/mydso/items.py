"""The items import: a staging table and a few set-based statements, at a cost in proportion to the file.

Rows are parsed in Python and inserted (``executemany``) into a staging table in a scratch database, with a
unique index on the item key whose ``ON CONFLICT`` clause records duplicate lines. Then:

1. compare: each staged row looks its item up by primary key (the staging table drives every statement, so a
   10-row DELTA touches 10 items, not the account's million);
2. count, write the events (in key order), insert the new items, update the changed ones;
3. STOCK only: clear every open item of the account absent from the file (that scan is the point of STOCK),
   skipped when every item open before the import is in the file.

No row is held in Python memory; the whole import is one transaction (the caller's).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from dsobridge.sandbox.mydso.options import ImportOptions
from dsobridge.sandbox.mydso.reader import CsvFile
from dsobridge.sandbox.mydso.rows import ImportContext, KnownClients, Tally, fitted_rows
from dsobridge.sandbox.mydso.values import parse_amount, parse_date

__all__ = ["ERP_ITEM_TYPES", "ITEM_TYPES", "STAGE_CACHE_KIB", "import_items"]

ITEM_TYPES = frozenset({"FAC", "AVO", "RGL", "ODI", "TRT", "DPA"})
# The real exporters put their ERP's own document type in item_type: TOTVS Protheus sends SE1.E1_TIPO
# (NF, NCC, RA, ...), Oracle EBS sends the AR class (INV, CM, DM, CB, PMT, BR). Those are mapped; any other
# value outside ITEM_TYPES is still rejected as BAD_VALUE. The raw value stays in the item's data.
ERP_ITEM_TYPES = {
    "NF": "FAC", "DP": "FAC", "FT": "FAC", "NDC": "FAC", "NCC": "AVO", "RA": "RGL",
    "INV": "FAC", "DM": "FAC", "CB": "FAC", "CM": "AVO", "PMT": "RGL", "BR": "TRT",
}  # fmt: skip
STAGE_CACHE_KIB = 32 * 1024  # the staging table's page cache: bounded, so memory stays flat

_STAGE = """
CREATE TABLE scratch.stage (
    item_key TEXT NOT NULL, line INTEGER NOT NULL, reason TEXT,
    client_code TEXT, item_type TEXT, item_number TEXT, issue_date TEXT, due_date TEXT, currency TEXT,
    amount_initial TEXT, amount_remaining TEXT, payment_date TEXT, data TEXT,
    dups TEXT, existed INTEGER, was_open INTEGER, changed INTEGER, event TEXT)
"""
_STAGE_COLUMNS = (
    "item_key, line, reason, client_code, item_type, item_number, issue_date, due_date, currency, "
    "amount_initial, amount_remaining, payment_date"
)


def import_items(ctx: ImportContext, csv_file: CsvFile, options: ImportOptions, tally: Tally) -> None:
    conn, account = ctx.conn, ctx.account
    clients = KnownClients(conn, account)
    protect: list[tuple[str, str | None, str]] = []
    block_clearing: list[int] = []
    _stage(
        conn, csv_file, _staged_items(csv_file, ctx.base_currency, clients, tally, protect, block_clearing)
    )
    if protect:
        conn.executemany("INSERT INTO protect VALUES (?, ?, ?)", protect)
    _reject_duplicates(conn, tally)
    has_items = conn.execute("SELECT 1 FROM item WHERE account = ? LIMIT 1", (account,)).fetchone()
    if has_items:
        _compare(conn, account)
    added, events, present_open = _count(conn, tally)
    stock_clearing = options.stock and has_items and not block_clearing
    open_before = _open_items(conn, account) if stock_clearing else 0
    if added or events:
        _write_events(ctx)
    if added:
        _insert_new(ctx)
    if tally.updated:
        _update_changed(ctx)
    if not options.stock:
        return
    if block_clearing:
        tally.notes.append(
            f"STOCK clearing skipped: line {block_clearing[0]} cannot be matched to an item, so no item "
            "absent from the file was cleared"
        )
    elif stock_clearing and open_before != present_open:  # else every open item is in the file
        tally.cleared += _clear_absent(ctx)


# -- staging -----------------------------------------------------------------------------------------------
def _stage(conn: sqlite3.Connection, csv_file: CsvFile, staged: Iterator[tuple[Any, ...]]) -> None:
    conn.execute(_STAGE)
    conn.execute("CREATE UNIQUE INDEX scratch.stage_key ON stage(item_key)")
    conn.execute("CREATE TABLE scratch.protect (client_code TEXT, item_type TEXT, item_number TEXT)")
    conn.execute("CREATE INDEX scratch.protect_number ON protect(client_code, item_number)")
    placeholders = ", ".join("?" * 12)
    conn.executemany(
        # the header names are SQL-quoted by _sql_text; values are parameters, in the order they appear
        f"INSERT INTO stage ({_STAGE_COLUMNS}, data) VALUES ({placeholders}, "  # noqa: S608
        f"{_json_object_sql(csv_file.header)}) "
        "ON CONFLICT(item_key) DO UPDATE SET dups = coalesce(dups || ',', '') || excluded.line "
        "WHERE excluded.reason IS NULL",
        staged,
    )


def _reject_duplicates(conn: sqlite3.Connection, tally: Tally) -> None:
    """Duplicate keys within the file: the first row decides, later ones are rejected."""
    for dups, has_unique_key in conn.execute(
        "SELECT dups, instr(item_key, '|') = 0 FROM stage WHERE dups NOTNULL"
    ):
        column = "item_unique_key" if has_unique_key else "item_number"
        for line in dups.split(","):
            tally.reject(int(line), column, "DUPLICATE_KEY")


# -- applying ----------------------------------------------------------------------------------------------
def _compare(conn: sqlite3.Connection, account: str) -> None:
    """Mark each staged row that names an existing item: was it open, does the row change it, what event."""
    conn.execute(
        """
        UPDATE stage INDEXED BY stage_key SET (existed, was_open, changed, event) = (
          SELECT 1, i.payment_date IS NULL,
            stage.reason IS NULL AND (
              i.client_code IS NOT stage.client_code OR i.item_type IS NOT stage.item_type
              OR i.item_number IS NOT stage.item_number OR i.issue_date IS NOT stage.issue_date
              OR i.due_date IS NOT stage.due_date OR i.currency IS NOT stage.currency
              OR i.amount_initial IS NOT stage.amount_initial
              OR i.amount_remaining IS NOT stage.amount_remaining
              OR i.payment_date IS NOT stage.payment_date OR i.data IS NOT json_patch(i.data, stage.data)),
            CASE WHEN stage.reason IS NOT NULL THEN NULL
              WHEN i.payment_date IS NULL AND stage.payment_date IS NOT NULL THEN 'cleared'
              WHEN i.payment_date IS NOT NULL AND stage.payment_date IS NULL THEN 'reopened'
              WHEN i.payment_date IS NOT stage.payment_date THEN 'cleared'
              WHEN stage.payment_date IS NULL AND i.amount_remaining IS NOT stage.amount_remaining
                THEN 'updated'
            END
          FROM item AS i WHERE i.account = :account AND i.item_key = stage.item_key)
        WHERE item_key >= ''
        """,
        {"account": account},
    )


def _count(conn: sqlite3.Connection, tally: Tally) -> tuple[int, int, int]:
    """Fill the tally; answer (items to add, events to write, staged items that were open)."""
    added, updated, unchanged, cleared, events, present_open = conn.execute(
        "SELECT total(reason ISNULL AND existed ISNULL), total(reason ISNULL AND existed AND changed), "
        "total(reason ISNULL AND existed AND NOT changed), total(event = 'cleared' AND was_open), "
        "total(event NOTNULL), total(existed AND was_open) FROM stage"
    ).fetchone()
    tally.added, tally.updated, tally.unchanged, tally.cleared = (
        int(added),
        int(updated),
        int(unchanged),
        int(cleared),
    )
    return int(added), int(events), int(present_open)


def _open_items(conn: sqlite3.Connection, account: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM item WHERE account = ? AND payment_date IS NULL", (account,)
    ).fetchone()[0]


def _write_events(ctx: ImportContext) -> None:
    """Events first (the 'updated'/'cleared'/'reopened' ones read nothing from item), in key order."""
    ctx.conn.execute(
        "INSERT INTO item_event (account, item_key, effective_date, kind, amount_remaining, payment_date, "
        "import_id) SELECT ?, item_key, ?, coalesce(event, 'created'), amount_remaining, "
        "payment_date, ? FROM stage WHERE reason IS NULL AND (existed IS NULL OR event IS NOT NULL) "
        "ORDER BY item_key",
        (ctx.account, ctx.today, ctx.import_id),
    )


def _insert_new(ctx: ImportContext) -> None:
    ctx.conn.execute(
        "INSERT INTO item (account, item_key, client_code, item_type, item_number, issue_date, due_date, "
        "currency, amount_initial, amount_remaining, payment_date, cleared_by, data, created_on, updated_on) "
        "SELECT :account, item_key, client_code, item_type, item_number, issue_date, due_date, currency, "
        "amount_initial, amount_remaining, payment_date, "
        "CASE WHEN payment_date IS NULL THEN NULL ELSE 'DELTA' END, data, :today, :today "
        "FROM stage WHERE reason IS NULL AND existed IS NULL ORDER BY item_key",
        {"account": ctx.account, "today": ctx.today},
    )


def _update_changed(ctx: ImportContext) -> None:
    """The changed items, looked up by primary key from the staged rows (never a scan of the account)."""
    ctx.conn.execute(
        """
        UPDATE item SET (client_code, item_type, item_number, issue_date, due_date, currency, amount_initial,
                         amount_remaining, cleared_by, payment_date, data, updated_on) = (
          SELECT s.client_code, s.item_type, s.item_number, s.issue_date, s.due_date, s.currency,
            s.amount_initial, s.amount_remaining,
            CASE WHEN s.payment_date IS NULL THEN NULL
                 WHEN item.payment_date IS s.payment_date THEN item.cleared_by ELSE 'DELTA' END,
            s.payment_date, json_patch(item.data, s.data), :today
          FROM stage AS s WHERE s.item_key = item.item_key)
        WHERE item.account = :account
          AND item.item_key IN (SELECT item_key FROM stage WHERE reason IS NULL AND changed)
        """,
        {"account": ctx.account, "today": ctx.today},
    )


def _clear_absent(ctx: ImportContext) -> int:
    """STOCK: clear (payment date = the import date) every open item absent from the file and not protected
    by a rejected row; answer how many."""
    conn = ctx.conn
    conn.execute(
        "CREATE TABLE scratch.absent AS SELECT item_key FROM item "
        "WHERE account = :account AND payment_date IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM stage s WHERE s.item_key = item.item_key) "
        "AND NOT EXISTS (SELECT 1 FROM protect p WHERE p.client_code = item.client_code "
        "AND p.item_number = item.item_number AND (p.item_type IS NULL OR p.item_type = item.item_type))",
        {"account": ctx.account},
    )  # through the open items' index: an account's cleared history is not read
    conn.execute(
        "INSERT INTO item_event (account, item_key, effective_date, kind, amount_remaining, payment_date, "
        "import_id) SELECT :account, item_key, :today, 'cleared', '0.00', :today, :import_id FROM absent "
        "ORDER BY item_key",
        {"account": ctx.account, "today": ctx.today, "import_id": ctx.import_id},
    )
    return conn.execute(
        "UPDATE item SET amount_remaining = '0.00', payment_date = :today, cleared_by = 'STOCK', "
        "updated_on = :today "
        "WHERE account = :account AND item_key IN (SELECT item_key FROM absent)",
        {"account": ctx.account, "today": ctx.today},
    ).rowcount


# -- parsing -----------------------------------------------------------------------------------------------
def _staged_items(
    csv_file: CsvFile,
    base_currency: str,
    clients: KnownClients,
    tally: Tally,
    protect: list[tuple[str, str | None, str]],
    block_clearing: list[int],
) -> Iterator[tuple[Any, ...]]:
    """Parse each row into the staging tuple; rows with a bad value are staged as rejected when their key is
    known (so a STOCK import still counts them as present), else remembered for protection."""
    columns = {name: i for i, name in enumerate(csv_file.header)}
    i_code = columns["client_code"]
    i_number = columns["item_number"]
    i_issue = columns["item_date_issue"]
    i_due = columns["item_date_due"]
    i_amount = columns["item_amount_initial_inc_tax"]
    i_type = columns.get("item_type")
    i_remaining = columns.get("item_amount_remaining_inc_tax")
    i_currency = columns.get("item_currency")
    i_payment = columns.get("item_date_payment")
    i_unique = columns.get("item_unique_key")
    for line, f, extra in fitted_rows(csv_file, tally):
        code = f[i_code].strip()
        number = f[i_number].strip()
        issue = parse_date(f[i_issue])
        due = parse_date(f[i_due])
        amount = parse_amount(f[i_amount])
        item_type = f[i_type].strip().upper() if i_type is not None else ""
        item_type = ERP_ITEM_TYPES.get(item_type, item_type)
        remaining = amount
        if i_remaining is not None and f[i_remaining].strip():
            remaining = parse_amount(f[i_remaining])
        currency = base_currency
        if i_currency is not None and f[i_currency].strip():
            currency = f[i_currency].strip().upper()
        payment = None
        if i_payment is not None and f[i_payment].strip():
            payment = parse_date(f[i_payment])
            if payment is not None and remaining is not None:
                remaining = "0.00"  # what the item keeps open once paid: nothing
        unique = f[i_unique].strip() if i_unique is not None else ""

        column = reason = None
        if extra:
            reason = "FIELD_COUNT"
        elif not code:
            column, reason = "client_code", "MISSING_REQUIRED"
        elif not number:
            column, reason = "item_number", "MISSING_REQUIRED"
        elif issue is None:
            column = "item_date_issue"
            reason = "BAD_DATE" if f[i_issue].strip() else "MISSING_REQUIRED"
        elif due is None:
            column = "item_date_due"
            reason = "BAD_DATE" if f[i_due].strip() else "MISSING_REQUIRED"
        elif amount is None:
            column = "item_amount_initial_inc_tax"
            reason = "BAD_AMOUNT" if f[i_amount].strip() else "MISSING_REQUIRED"
        elif remaining is None:
            column, reason = "item_amount_remaining_inc_tax", "BAD_AMOUNT"
        elif payment is None and i_payment is not None and f[i_payment].strip():
            column, reason = "item_date_payment", "BAD_DATE"
        elif item_type and item_type not in ITEM_TYPES:
            column, reason = "item_type", "BAD_VALUE"
        elif len(currency) != 3 or not currency.isalpha() or not currency.isascii():
            column, reason = "item_currency", "BAD_VALUE"
        elif not clients[code]:
            column, reason = "client_code", "UNKNOWN_CLIENT"
        if not item_type and amount is not None:
            item_type = "RGL" if amount.startswith("-") else "FAC"

        if unique:
            key = unique
        elif code and number and issue is not None and (item_type or amount is not None):
            key = f"{code}|{item_type}|{number}|{issue[:4]}"
        else:
            tally.reject(line, column, reason or "MISSING_REQUIRED")
            if code and number:
                protect.append((code, item_type or None, number))
            else:
                block_clearing.append(line)
            continue
        if reason is not None:
            tally.reject(line, column, reason)
            if column == "item_type":  # the type is part of the key: protect the item whatever its type
                protect.append((code, None, number))
        yield (
            key,
            line,
            reason,
            code,
            item_type,
            number,
            issue,
            due,
            currency,
            amount,
            remaining,
            payment,
            *f,
        )


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_JSON_PAIRS_PER_CALL = 60  # SQLite allows 127 arguments per function call (SQLITE_MAX_FUNCTION_ARG)


def _json_object_sql(header: list[str]) -> str:
    """``json_object('col', ?, …)``: SQLite builds each row's data JSON (faster than json.dumps per row).
    A wider header is built in parts merged with ``json_patch`` (the values are strings, never null); the
    parameters appear in header order either way. Plain ``?``, not numbered ``?N``: CPython 3.12.0–3.12.3
    warns once per numbered parameter per row when they are bound from a sequence (millions of warnings)."""
    parts = []
    for start in range(0, len(header), _JSON_PAIRS_PER_CALL):
        names = header[start : start + _JSON_PAIRS_PER_CALL]
        pairs = ", ".join(f"{_sql_text(name)}, ?" for name in names)
        parts.append(f"json_object({pairs})")
    sql = parts[0]
    for part in parts[1:]:
        sql = f"json_patch({sql}, {part})"
    return sql
