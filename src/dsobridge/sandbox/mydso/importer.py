"""One import = one transaction: parse the file as a stream, apply it, answer the report (spec §5).

Items go through a staging table in a scratch database (``items.py``) so that a 1,000,000-row file is
applied with a few set-based statements and memory stays flat; clients, contacts and users are upserted row
by row here. A file-level error (``ImportFailed``) rolls everything back; row rejections are reported and
skipped.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, BinaryIO

from dsobridge.sandbox.mydso.items import STAGE_CACHE_KIB, import_items
from dsobridge.sandbox.mydso.options import KINDS, ImportOptions
from dsobridge.sandbox.mydso.reader import CsvFile, ImportFailed, open_csv
from dsobridge.sandbox.mydso.rows import MAX_REJECTED_ROWS, ImportContext, KnownClients, Tally, plain_rows
from dsobridge.sandbox.mydso.store import Store

__all__ = ["COLUMNS", "MAX_REJECTED_ROWS", "REQUIRED", "failure_report", "run_import"]

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
    tally = Tally()
    conn = store.writer
    with store.write_lock:
        # a private scratch database for staging: detaching it deletes its file at once (dropping a big
        # temporary table would free its pages one by one); no journal, it is thrown away anyway
        conn.execute("ATTACH DATABASE '' AS scratch")
        try:
            conn.execute("PRAGMA scratch.journal_mode = OFF")
            conn.execute("PRAGMA scratch.synchronous = OFF")
            conn.execute(f"PRAGMA scratch.cache_size = -{STAGE_CACHE_KIB}")
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
    tally: Tally,
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
    context = ImportContext(conn, account, today.isoformat(), import_id, store.base_currency(account))
    _IMPORTERS[kind](context, csv_file, options, tally)
    if tally.rows == 0:
        raise ImportFailed("CSV_EMPTY", "the file has a header but no data row")
    report = _report(kind, options, tally, unknown)
    conn.execute(
        "UPDATE import SET report = ? WHERE id = ?", (json.dumps(report, separators=(",", ":")), import_id)
    )
    report["import_id"] = import_id
    return report


def _report(kind: str, options: ImportOptions, tally: Tally, unknown: list[str]) -> dict[str, Any]:
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


# ------------------------------------------------------------------------------ clients, contacts, users
def _merge(conn: sqlite3.Connection, old: str | None, new: str) -> str:
    if old is None:
        return conn.execute("SELECT json(?)", (new,)).fetchone()[0]
    return conn.execute("SELECT json_patch(?, ?)", (old, new)).fetchone()[0]


def _row_json(header: list[str], fields: list[str]) -> str:
    return json.dumps(dict(zip(header, fields, strict=True)), ensure_ascii=False)


def _import_clients(ctx: ImportContext, csv_file: CsvFile, options: ImportOptions, tally: Tally) -> None:
    conn, header = ctx.conn, csv_file.header
    i_code = header.index("client_code")
    i_name = header.index("client_business_name")
    i_group = header.index("client_field_perso1") if "client_field_perso1" in header else None
    seen: set[str] = set()
    for line, f in plain_rows(csv_file, tally):
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


def _import_contacts(ctx: ImportContext, csv_file: CsvFile, options: ImportOptions, tally: Tally) -> None:
    conn, header = ctx.conn, csv_file.header
    col = {name: header.index(name) for name in COLUMNS["contacts"] if name in header}
    clients = KnownClients(conn, ctx.account)
    seen: set[tuple[str, str]] = set()
    for line, f in plain_rows(csv_file, tally):
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
        if not clients[code]:
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


def _import_users(ctx: ImportContext, csv_file: CsvFile, options: ImportOptions, tally: Tally) -> None:
    conn, header = ctx.conn, csv_file.header
    col = {name: header.index(name) for name in COLUMNS["users"] if name in header}
    if "user_email" not in col and not ("user_firstname" in col and "user_lastname" in col):
        raise ImportFailed(
            "CSV_BAD_SYNTAX", "header: missing required column 'user_email'", column="user_email"
        )
    clients = KnownClients(conn, ctx.account)
    seen: set[tuple[str, str]] = set()
    links: dict[str, set[str]] = {}
    for line, f in plain_rows(csv_file, tally):
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
        if code and not clients[code]:
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
            removed += conn.execute(
                "DELETE FROM user_client WHERE account = ? AND user_key = ? "
                "AND client_code NOT IN (SELECT value FROM json_each(?))",
                (ctx.account, key, json.dumps(sorted(codes))),
            ).rowcount
        if removed:
            tally.notes.append(f"{removed} client links removed (replace_users_association)")


_IMPORTERS: dict[str, Callable[[ImportContext, CsvFile, ImportOptions, Tally], None]] = {
    "items": import_items,
    "clients": _import_clients,
    "contacts": _import_contacts,
    "users": _import_users,
}
