"""One import = one transaction: parse the file as a stream, stage it, apply STOCK/DELTA, keep the events.

Items go through a staging table in a scratch database (on disk, not in memory) so that a 1,000,000-row file
is applied with a few set-based statements and memory stays flat; clients, contacts and users are upserted
row by row.
A file-level error (``ImportFailed``) rolls everything back; row rejections are reported and skipped.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, BinaryIO

from dsobridge.sandbox.mydso.options import KINDS, ImportOptions
from dsobridge.sandbox.mydso.reader import CsvFile, ImportFailed, open_csv
from dsobridge.sandbox.mydso.store import Store
from dsobridge.sandbox.mydso.values import parse_amount, parse_date

__all__ = ["COLUMNS", "MAX_REJECTED_ROWS", "REQUIRED", "failure_report", "run_import"]

MAX_REJECTED_ROWS = 1000
ITEM_TYPES = frozenset({"FAC", "AVO", "RGL", "ODI", "TRT", "DPA"})
# The real exporters put their ERP's own document type in item_type: TOTVS Protheus sends SE1.E1_TIPO
# (NF, NCC, RA, ...), Oracle EBS sends the AR class (INV, CM, DM, CB, PMT, BR). Those are mapped; any other
# value outside ITEM_TYPES is still rejected as BAD_VALUE. The raw value stays in the item's data.
ERP_ITEM_TYPES = {
    "NF": "FAC", "DP": "FAC", "FT": "FAC", "NDC": "FAC", "NCC": "AVO", "RA": "RGL",
    "INV": "FAC", "DM": "FAC", "CB": "FAC", "CM": "AVO", "PMT": "RGL", "BR": "TRT",
}  # fmt: skip

COLUMNS: dict[str, tuple[str, ...]] = {
    "items": (
        "client_code", "item_number", "item_type", "item_date_issue", "item_date_due",
        "item_amount_initial_inc_tax", "item_amount_initial", "item_amount_remaining_inc_tax",
        "item_amount_remaining", "item_currency", "item_date_payment", "item_erp_type", "item_order_number",
        "item_file_number", "item_business_case", "item_sales_manager", "item_unique_key",
        *(f"item_field_perso{i}" for i in range(1, 7)),
    ),
    "clients": (
        "client_code", "client_business_name", "client_id", "client_trading_name", "client_address_street",
        "client_address_street_number", "client_address_postbox", "client_address_zip", "client_address_city",
        "client_address_state", "client_address_country", "client_email", "client_phone", "client_url",
        "client_blocked", "client_credit_limit", "client_payment_term", "client_comments",
        "client_order_backlog", "client_guarantee_insurer", "client_guarantee_score",
        "client_commercial_firstname", "client_commercial_lastname", "client_commercial_email",
        "client_commercial_phone", *(f"client_field_perso{i}" for i in range(1, 5)),
    ),
    "contacts": (
        "client_code", "contact_lastname", "contact_firstname", "contact_role", "contact_email",
        "contact_phone", "contact_mobile", "contact_function", "contact_collection",
    ),
    "users": ("user_email", "user_firstname", "user_lastname", "user_role", "client_code"),
}  # fmt: skip

# Required header columns per type. item_type is optional: without it, debit = FAC and credit = RGL (spec §3).
# users: user_email, or else both names (checked per row).
REQUIRED: dict[str, tuple[str, ...]] = {
    "items": (
        "client_code", "item_number", "item_date_issue", "item_date_due", "item_amount_initial_inc_tax",
    ),
    "clients": ("client_code", "client_business_name"),
    "contacts": ("client_code", "contact_lastname"),
    "users": (),
}  # fmt: skip


@dataclass
class _Tally:
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    cleared: int = 0
    rejected: int = 0
    rejections: list[tuple[int, str | None, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def reject(self, line: int, column: str | None, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_REJECTED_ROWS:
            self.rejections.append((line, column, reason))


def failure_report(kind: str, options: ImportOptions | None, error: ImportFailed) -> dict[str, Any]:
    report: dict[str, Any] = {
        "success": False,
        "error_code": error.code,
        "message": error.message,
        "file_type": kind if kind in KINDS else None,
        "mode": options.mode if options is not None and kind == "items" else None,
        "rows": 0, "added": 0, "updated": 0, "unchanged": 0, "cleared": 0, "rejected": 0,
        "rejected_rows": [],
    }  # fmt: skip
    if error.column is not None:
        report["column"] = error.column
    return report


def run_import(
    store: Store,
    account: str,
    kind: str,
    stream: BinaryIO,
    options: ImportOptions,
    *,
    today: date,
    channel: str,
    received_at: datetime | None = None,
) -> dict[str, Any]:
    """Import ``stream`` into ``account``; return the spec §5 report (``success`` false on a file-level
    error).

    The caller serialises imports per account; this function takes the store's write lock for the transaction.
    """
    if kind not in KINDS:
        return failure_report(kind, options, ImportFailed("UNKNOWN_TYPE", f"unknown file type {kind!r}"))
    received = (received_at or datetime.now().astimezone()).isoformat(timespec="seconds")
    tally = _Tally()
    conn = store.writer
    with store.write_lock:
        # a private scratch database for staging: detaching it deletes its file at once (dropping a big
        # temporary table would free its pages one by one); no journal, it is thrown away anyway
        conn.execute("ATTACH DATABASE '' AS scratch")
        try:
            conn.execute("PRAGMA scratch.journal_mode = OFF")
            conn.execute("PRAGMA scratch.synchronous = OFF")
            conn.execute(f"PRAGMA scratch.cache_size = -{_STAGE_CACHE_KIB}")
            conn.execute("BEGIN IMMEDIATE")
            try:
                report = _run(conn, store, account, kind, stream, options, tally, today, channel, received)
                conn.execute("COMMIT")
            except ImportFailed as exc:
                conn.execute("ROLLBACK")
                return failure_report(kind, options, exc)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.execute("DETACH DATABASE scratch")
    return report


def _run(
    conn: sqlite3.Connection,
    store: Store,
    account: str,
    kind: str,
    stream: BinaryIO,
    options: ImportOptions,
    tally: _Tally,
    today: date,
    channel: str,
    received: str,
) -> dict[str, Any]:
    csv_file = open_csv(stream, options.encoding)
    header = csv_file.header
    missing = [name for name in REQUIRED[kind] if name not in header]
    if missing:
        raise ImportFailed(
            "CSV_BAD_SYNTAX", f"header: missing required column {missing[0]!r}", column=missing[0]
        )
    known = set(COLUMNS[kind])
    unknown = [name for name in header if name not in known]
    import_id = conn.execute(
        "INSERT INTO import (account, file_type, mode, channel, received_at, import_date, report) "
        "VALUES (?, ?, ?, ?, ?, ?, '{}')",
        (account, kind, options.mode if kind == "items" else None, channel, received, today.isoformat()),
    ).lastrowid
    assert import_id is not None
    context = _Context(conn, account, today.isoformat(), import_id, store.base_currency(account))
    _IMPORTERS[kind](context, csv_file, options, tally)
    if tally.rows == 0:
        raise ImportFailed("CSV_EMPTY", "the file has a header but no data row")
    report = _report(kind, options, tally, unknown)
    conn.execute(
        "UPDATE import SET report = ? WHERE id = ?", (json.dumps(report, separators=(",", ":")), import_id)
    )
    report["import_id"] = import_id
    return report


def _report(kind: str, options: ImportOptions, tally: _Tally, unknown: list[str]) -> dict[str, Any]:
    rejected_rows = [
        {"line": line, "column": column, "reason": reason}
        for line, column, reason in sorted(tally.rejections)
    ]
    parts = [f"{tally.rows} rows: {tally.added} added, {tally.updated} updated, {tally.unchanged} unchanged"]
    if kind == "items":
        parts.append(f"{tally.cleared} cleared")
    parts.append(f"{tally.rejected} rejected")
    message = ", ".join(parts)
    if unknown:
        message += "; ignored unknown columns: " + ", ".join(unknown)
    for note in tally.notes:
        message += "; " + note
    report: dict[str, Any] = {
        "success": True,
        "error_code": None,
        "message": message,
        "file_type": kind,
        "mode": options.mode if kind == "items" else None,
        "rows": tally.rows,
        "added": tally.added,
        "updated": tally.updated,
        "unchanged": tally.unchanged,
        "cleared": tally.cleared,
        "rejected": tally.rejected,
        "rejected_rows": rejected_rows,
        "unknown_columns": unknown,
    }
    if tally.rejected > len(rejected_rows):
        report["rejected_rows_truncated"] = True
    return report


@dataclass
class _Context:
    conn: sqlite3.Connection
    account: str
    today: str
    import_id: int
    base_currency: str


def _rows(csv_file: CsvFile, tally: _Tally) -> Iterator[tuple[int, list[str], bool]]:
    """Rows cut or padded to the header's width, with a flag set when the row had extra non-empty fields
    (rejected as ``FIELD_COUNT``; items still use its key so that STOCK does not clear that item)."""
    width = len(csv_file.header)
    for line, fields in csv_file.rows():
        tally.rows += 1
        n = len(fields)
        if n == width:
            yield line, fields, False
        elif n > width:
            yield line, fields[:width], True
        else:
            fields.extend([""] * (width - n))
            yield line, fields, False


def _plain_rows(csv_file: CsvFile, tally: _Tally) -> Iterator[tuple[int, list[str]]]:
    for line, fields, extra in _rows(csv_file, tally):
        if extra:
            tally.reject(line, None, "FIELD_COUNT")
        else:
            yield line, fields


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _json_object_sql(header: list[str], first_param: int) -> str:
    """``json_object('col', ?N, …)``: SQLite builds each row's data JSON (faster than json.dumps per row)."""
    pairs = ", ".join(f"{_sql_text(name)}, ?{first_param + i}" for i, name in enumerate(header))
    return f"json_object({pairs})"


# --------------------------------------------------------------------------------------------- items
# Rows are parsed in Python and inserted (executemany) into a staging table (scratch database) with a unique
# index on the item key, whose ON CONFLICT clause records duplicate lines. Then a few set-based statements
# compare with the account's items, write the events, insert/update the items in key order and, for STOCK,
# clear what is absent. No row is held in Python memory; the whole import is one transaction.
_STAGE = """
CREATE TABLE scratch.stage (
    item_key TEXT NOT NULL, line INTEGER NOT NULL, reason TEXT,
    client_code TEXT, item_type TEXT, item_number TEXT, issue_date TEXT, due_date TEXT, currency TEXT,
    amount_initial TEXT, amount_remaining TEXT, payment_date TEXT, data TEXT,
    dups TEXT, existed INTEGER NOT NULL DEFAULT 0, was_open INTEGER NOT NULL DEFAULT 0,
    changed INTEGER NOT NULL DEFAULT 0, event TEXT)
"""
_STAGE_COLUMNS = (
    "item_key, line, reason, client_code, item_type, item_number, issue_date, due_date, currency, "
    "amount_initial, amount_remaining, payment_date"
)
_STAGE_CACHE_KIB = 32 * 1024  # the staging table's page cache: bounded, so memory stays flat


def _import_items(ctx: _Context, csv_file: CsvFile, options: ImportOptions, tally: _Tally) -> None:
    conn, a, t, imp = ctx.conn, ctx.account, ctx.today, ctx.import_id
    header = csv_file.header
    conn.execute(_STAGE)
    conn.execute("CREATE UNIQUE INDEX scratch.stage_key ON stage(item_key)")
    conn.execute("CREATE TABLE scratch.protect (client_code TEXT, item_type TEXT, item_number TEXT)")
    clients = {code for (code,) in conn.execute("SELECT client_code FROM client WHERE account = ?", (a,))}
    has_items = conn.execute("SELECT 1 FROM item WHERE account = ? LIMIT 1", (a,)).fetchone() is not None
    protect: list[tuple[str, str | None, str]] = []
    block_clearing: list[int] = []
    columns = {name: i for i, name in enumerate(header)}
    placeholders = ", ".join(f"?{i}" for i in range(1, 13))
    conn.executemany(
        # the header names are SQL-quoted by _sql_text; values are parameters
        f"INSERT INTO stage ({_STAGE_COLUMNS}, data) VALUES ({placeholders}, {_json_object_sql(header, 13)}) "  # noqa: S608
        "ON CONFLICT(item_key) DO UPDATE SET dups = coalesce(dups || ',', '') || excluded.line "
        "WHERE excluded.reason IS NULL",
        _staged_items(csv_file, columns, ctx.base_currency, clients, tally, protect, block_clearing),
    )
    if protect:
        conn.executemany("INSERT INTO protect VALUES (?, ?, ?)", protect)
    # duplicate keys within the file: the first row decides, later ones are rejected
    for dups, has_unique_key in conn.execute(
        "SELECT dups, instr(item_key, '|') = 0 FROM stage WHERE dups NOTNULL"
    ):
        column = "item_unique_key" if has_unique_key else "item_number"
        for line in dups.split(","):
            tally.reject(int(line), column, "DUPLICATE_KEY")

    if has_items:  # compare with what the account holds
        conn.execute(
            """
            UPDATE stage AS s SET existed = 1, was_open = (i.payment_date IS NULL),
              changed = s.reason IS NULL AND (
                i.client_code IS NOT s.client_code OR i.item_type IS NOT s.item_type
                OR i.item_number IS NOT s.item_number OR i.issue_date IS NOT s.issue_date
                OR i.due_date IS NOT s.due_date OR i.currency IS NOT s.currency
                OR i.amount_initial IS NOT s.amount_initial
                OR i.amount_remaining IS NOT (CASE WHEN s.payment_date IS NULL
                                              THEN s.amount_remaining ELSE '0.00' END)
                OR i.payment_date IS NOT s.payment_date OR i.data IS NOT json_patch(i.data, s.data)),
              event = CASE WHEN s.reason IS NOT NULL THEN NULL
                WHEN i.payment_date IS NULL AND s.payment_date IS NOT NULL THEN 'cleared'
                WHEN i.payment_date IS NOT NULL AND s.payment_date IS NULL THEN 'reopened'
                WHEN i.payment_date IS NOT s.payment_date THEN 'cleared'
                WHEN s.payment_date IS NULL AND i.amount_remaining IS NOT s.amount_remaining THEN 'updated'
              END
            FROM item AS i
            WHERE i.account = ? AND i.item_key = s.item_key
            """,
            (a,),
        )
    added, updated, unchanged, cleared, events, present_open = conn.execute(
        "SELECT total(reason ISNULL AND existed = 0), total(reason ISNULL AND existed AND changed), "
        "total(reason ISNULL AND existed AND NOT changed), total(event = 'cleared' AND was_open), "
        "total(event NOTNULL), total(existed AND was_open) FROM stage"
    ).fetchone()
    tally.added, tally.updated, tally.unchanged, tally.cleared = (
        int(added),
        int(updated),
        int(unchanged),
        int(cleared),
    )
    open_before = 0
    if options.stock and has_items and not block_clearing:
        open_before = conn.execute(
            "SELECT count(*) FROM item WHERE account = ? AND payment_date IS NULL", (a,)
        ).fetchone()[0]

    # events first (the 'updated'/'cleared'/'reopened' ones read nothing from item), in key order
    if added or events:
        conn.execute(
            "INSERT INTO item_event (account, item_key, effective_date, kind, amount_remaining, "
            "payment_date, import_id) SELECT ?, item_key, ?, coalesce(event, 'created'), "
            "CASE WHEN payment_date IS NULL THEN amount_remaining ELSE '0.00' END, payment_date, ? "
            "FROM stage WHERE reason IS NULL AND (existed = 0 OR event IS NOT NULL) ORDER BY item_key",
            (a, t, imp),
        )
    if added:
        conn.execute(
            "INSERT INTO item (account, item_key, client_code, item_type, item_number, issue_date, due_date, "
            "currency, amount_initial, amount_remaining, payment_date, cleared_by, data, created_on, "
            "updated_on) SELECT ?, item_key, client_code, item_type, item_number, issue_date, due_date, "
            "currency, amount_initial, CASE WHEN payment_date IS NULL THEN amount_remaining ELSE '0.00' END, "
            "payment_date, "
            "CASE WHEN payment_date IS NULL THEN NULL ELSE 'DELTA' END, data, ?, ? "
            "FROM stage WHERE reason IS NULL AND existed = 0 ORDER BY item_key",
            (a, t, t),
        )
    if updated:
        conn.execute(
            """
            UPDATE item SET client_code = s.client_code, item_type = s.item_type, item_number = s.item_number,
              issue_date = s.issue_date, due_date = s.due_date, currency = s.currency,
              amount_initial = s.amount_initial,
              amount_remaining = CASE WHEN s.payment_date IS NULL THEN s.amount_remaining ELSE '0.00' END,
              cleared_by = CASE WHEN s.payment_date IS NULL THEN NULL
                                WHEN item.payment_date IS s.payment_date THEN item.cleared_by
                                ELSE 'DELTA' END,
              payment_date = s.payment_date, data = json_patch(item.data, s.data), updated_on = ?
            FROM (SELECT * FROM stage WHERE reason IS NULL AND changed) AS s
            WHERE item.account = ? AND item.item_key = s.item_key
            """,
            (t, a),
        )

    if not options.stock:
        return
    if block_clearing:
        tally.notes.append(
            f"STOCK clearing skipped: line {block_clearing[0]} cannot be matched to an item, so no item "
            "absent from the file was cleared"
        )
        return
    if open_before == int(present_open):
        return  # every item open before this import is in the file: nothing to clear
    absent = (
        "FROM item WHERE account = ?1 AND payment_date IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM stage s WHERE s.item_key = item.item_key) "
        "AND NOT EXISTS (SELECT 1 FROM protect p WHERE p.client_code = item.client_code "
        "AND p.item_number = item.item_number AND (p.item_type IS NULL OR p.item_type = item.item_type))"
    )
    conn.execute(
        "INSERT INTO item_event (account, item_key, effective_date, kind, amount_remaining, payment_date, "
        f"import_id) SELECT account, item_key, ?2, 'cleared', '0.00', ?2, ?3 {absent}",
        (a, t, imp),
    )
    tally.cleared += conn.execute(
        "UPDATE item SET amount_remaining = '0.00', payment_date = ?2, cleared_by = 'STOCK', updated_on = ?2 "  # noqa: S608
        + absent.replace("FROM item ", "", 1),
        (a, t),
    ).rowcount


def _staged_items(
    csv_file: CsvFile,
    columns: dict[str, int],
    base_currency: str,
    clients: set[str],
    tally: _Tally,
    protect: list[tuple[str, str | None, str]],
    block_clearing: list[int],
) -> Iterator[tuple[Any, ...]]:
    """Parse each row into the staging tuple; rows with a bad value are staged as rejected when their key is
    known (so a STOCK import still counts them as present), else remembered for protection."""
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
    for line, f, extra in _rows(csv_file, tally):
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
        elif code not in clients:
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


# ------------------------------------------------------------------------------ clients, contacts, users
def _merge(conn: sqlite3.Connection, old: str | None, new: str) -> str:
    if old is None:
        return conn.execute("SELECT json(?)", (new,)).fetchone()[0]
    return conn.execute("SELECT json_patch(?, ?)", (old, new)).fetchone()[0]


def _row_json(header: list[str], fields: list[str]) -> str:
    return json.dumps(dict(zip(header, fields, strict=True)), ensure_ascii=False)


def _import_clients(ctx: _Context, csv_file: CsvFile, options: ImportOptions, tally: _Tally) -> None:
    conn, header = ctx.conn, csv_file.header
    i_code = header.index("client_code")
    i_name = header.index("client_business_name")
    i_group = header.index("client_field_perso1") if "client_field_perso1" in header else None
    seen: set[str] = set()
    for line, f in _plain_rows(csv_file, tally):
        code, name = f[i_code].strip(), f[i_name].strip()
        if not code:
            tally.reject(line, "client_code", "MISSING_REQUIRED")
            continue
        if not name:
            tally.reject(line, "client_business_name", "MISSING_REQUIRED")
            continue
        if code in seen:
            tally.reject(line, "client_code", "DUPLICATE_KEY")
            continue
        seen.add(code)
        row = conn.execute(
            "SELECT business_name, group_name, data FROM client WHERE account = ? AND client_code = ?",
            (ctx.account, code),
        ).fetchone()
        data = _merge(conn, row[2] if row else None, _row_json(header, f))
        group = (f[i_group].strip() or None) if i_group is not None else (row[1] if row else None)
        if row is None:
            conn.execute(
                "INSERT INTO client (account, client_code, business_name, group_name, data, created_on, "
                "updated_on) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ctx.account, code, name, group, data, ctx.today, ctx.today),
            )
            tally.added += 1
        elif (name, group, data) != tuple(row):
            conn.execute(
                "UPDATE client SET business_name = ?, group_name = ?, data = ?, updated_on = ? "
                "WHERE account = ? AND client_code = ?",
                (name, group, data, ctx.today, ctx.account, code),
            )
            tally.updated += 1
        else:
            tally.unchanged += 1


def _client_exists(ctx: _Context, code: str) -> bool:
    return (
        ctx.conn.execute(
            "SELECT 1 FROM client WHERE account = ? AND client_code = ?", (ctx.account, code)
        ).fetchone()
        is not None
    )


def _import_contacts(ctx: _Context, csv_file: CsvFile, options: ImportOptions, tally: _Tally) -> None:
    conn, header = ctx.conn, csv_file.header
    col = {name: header.index(name) for name in COLUMNS["contacts"] if name in header}
    seen: set[tuple[str, str]] = set()
    for line, f in _plain_rows(csv_file, tally):
        code, last = f[col["client_code"]].strip(), f[col["contact_lastname"]].strip()
        first = f[col["contact_firstname"]].strip() if "contact_firstname" in col else ""
        email = f[col["contact_email"]].strip().lower() if "contact_email" in col else ""
        if not code:
            tally.reject(line, "client_code", "MISSING_REQUIRED")
            continue
        if not last:
            tally.reject(line, "contact_lastname", "MISSING_REQUIRED")
            continue
        key = email or f"{first} {last}".strip().lower()
        if (code, key) in seen:
            tally.reject(line, "contact_email" if email else "contact_lastname", "DUPLICATE_KEY")
            continue
        seen.add((code, key))
        if not _client_exists(ctx, code):
            tally.reject(line, "client_code", "UNKNOWN_CLIENT")
            continue
        row = conn.execute(
            "SELECT data FROM contact WHERE account = ? AND client_code = ? AND contact_key = ?",
            (ctx.account, code, key),
        ).fetchone()
        data = _merge(conn, row[0] if row else None, _row_json(header, f))
        if row is None:
            conn.execute(
                "INSERT INTO contact (account, client_code, contact_key, data, created_on, updated_on) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (ctx.account, code, key, data, ctx.today, ctx.today),
            )
            tally.added += 1
        elif data != row[0]:
            conn.execute(
                "UPDATE contact SET data = ?, updated_on = ? "
                "WHERE account = ? AND client_code = ? AND contact_key = ?",
                (data, ctx.today, ctx.account, code, key),
            )
            tally.updated += 1
        else:
            tally.unchanged += 1
        if "contact_collection" in col and f[col["contact_collection"]].strip() == "1":
            # one collection contact per client: the others lose the mark
            conn.execute(
                "UPDATE contact SET data = json_set(data, '$.contact_collection', '0'), updated_on = ? "
                "WHERE account = ? AND client_code = ? AND contact_key != ? "
                "AND json_extract(data, '$.contact_collection') = '1'",
                (ctx.today, ctx.account, code, key),
            )


def _import_users(ctx: _Context, csv_file: CsvFile, options: ImportOptions, tally: _Tally) -> None:
    conn, header = ctx.conn, csv_file.header
    col = {name: header.index(name) for name in COLUMNS["users"] if name in header}
    if "user_email" not in col and not ("user_firstname" in col and "user_lastname" in col):
        raise ImportFailed(
            "CSV_BAD_SYNTAX", "header: missing required column 'user_email'", column="user_email"
        )
    seen: set[tuple[str, str]] = set()
    links: dict[str, set[str]] = {}
    for line, f in _plain_rows(csv_file, tally):
        email = f[col["user_email"]].strip().lower() if "user_email" in col else ""
        first = f[col["user_firstname"]].strip() if "user_firstname" in col else ""
        last = f[col["user_lastname"]].strip() if "user_lastname" in col else ""
        code = f[col["client_code"]].strip() if "client_code" in col else ""
        key = email or f"{first} {last}".strip().lower()
        if not key:
            tally.reject(line, "user_email", "MISSING_REQUIRED")
            continue
        if (key, code) in seen:
            tally.reject(line, "client_code" if code else "user_email", "DUPLICATE_KEY")
            continue
        seen.add((key, code))
        if code and not _client_exists(ctx, code):
            tally.reject(line, "client_code", "UNKNOWN_CLIENT")
            continue
        user_links = links.setdefault(key, set())
        fields = {name: f[i] for name, i in col.items() if name != "client_code"}
        row = conn.execute(
            "SELECT data FROM user WHERE account = ? AND user_key = ?", (ctx.account, key)
        ).fetchone()
        data = _merge(conn, row[0] if row else None, json.dumps(fields, ensure_ascii=False))
        outcome = "unchanged"
        if row is None:
            conn.execute(
                "INSERT INTO user (account, user_key, data, created_on, updated_on) VALUES (?, ?, ?, ?, ?)",
                (ctx.account, key, data, ctx.today, ctx.today),
            )
            outcome = "added"
        elif data != row[0]:
            conn.execute(
                "UPDATE user SET data = ?, updated_on = ? WHERE account = ? AND user_key = ?",
                (data, ctx.today, ctx.account, key),
            )
            outcome = "updated"
        if code:
            user_links.add(code)
            inserted = conn.execute(
                "INSERT OR IGNORE INTO user_client (account, user_key, client_code) VALUES (?, ?, ?)",
                (ctx.account, key, code),
            ).rowcount
            if inserted and outcome == "unchanged":
                outcome = "updated"
        setattr(tally, outcome, getattr(tally, outcome) + 1)
    if options.replace_users_association:
        removed = 0
        for key, codes in links.items():
            placeholders = ",".join("?" * len(codes))
            removed += conn.execute(
                "DELETE FROM user_client WHERE account = ? AND user_key = ? "  # noqa: S608 - placeholders only
                f"AND client_code NOT IN ({placeholders})",
                (ctx.account, key, *sorted(codes)),
            ).rowcount
        if removed:
            tally.notes.append(f"{removed} client links removed (replace_users_association)")


_IMPORTERS: dict[str, Callable[[_Context, CsvFile, ImportOptions, _Tally], None]] = {
    "items": _import_items,
    "clients": _import_clients,
    "contacts": _import_contacts,
    "users": _import_users,
}
