"""The SQLite state's schema, as numbered migrations: a state file of any earlier version is upgraded on open.

A step is SQL (statements separated by ``;``) or a function of the connection, run inside the migration's
transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation

ROW_KINDS = {"clients": 1, "contacts": 2, "users": 3}

Step = str | Callable[[sqlite3.Connection], None]


def _lean_delivered(db: sqlite3.Connection) -> None:
    """Version 0.1's ``delivered`` table (whole row JSON per item) → the compact ``items`` and ``rows``.

    Content hashes of 0.1 cannot be carried over (another hash of another text): they become 0, so the next
    DELTA run sends every open item once more as an update (nothing is doubled: items carry their unique key).
    """
    from dsobridge.sync.state.base import digest64, money_to_db, parse_item_key

    for kind, key, is_open, row in db.execute("SELECT kind, key, is_open, row FROM delivered"):
        if kind != "items":
            db.execute(
                "INSERT OR REPLACE INTO rows (kind, key, hash) VALUES (?, ?, 0)",
                (ROW_KINDS[kind], digest64(key)),
            )
            continue
        data = json.loads(row or "{}")
        try:
            packed = parse_item_key(key)
            issued = date.fromisoformat(str(data.get("item_date_issue"))[:10])
            due = date.fromisoformat(str(data.get("item_date_due") or data.get("item_date_issue"))[:10])
            initial = Decimal(str(data.get("item_amount_initial_inc_tax")))
            remaining = Decimal(str(data.get("item_amount_remaining_inc_tax") or "0"))
        except (KeyError, ValueError, InvalidOperation):
            continue  # a row 0.1 could not have written; nothing to carry
        paid = data.get("item_date_payment")
        db.execute(
            "INSERT OR REPLACE INTO items (key, hash, open, debtor, client, number, currency, initial,"
            " remaining, issued, due, reason, paid) VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                packed,
                int(is_open),
                str(data.get("client_code") or ""),  # 0.1 kept no debtor number: the default code is it
                str(data.get("client_code") or ""),
                _number(data.get("item_number"), packed),
                data.get("item_currency") or "",
                money_to_db(initial),
                money_to_db(remaining),
                issued.toordinal(),
                due.toordinal(),
                None if is_open else "delivered settled (before 0.2)",
                date.fromisoformat(str(paid)[:10]).toordinal() if paid else None,
            ),
        )
    db.execute("DROP TABLE delivered")


def _number(text: object, packed: int) -> int:
    """0.1 kept the formatted item number: its digits, else the number of the key."""
    digits = "".join(ch for ch in str(text or "") if ch.isdigit())
    return int(digits) if digits else packed & ((1 << 48) - 1)


SQLITE_MIGRATIONS: list[tuple[str, Step]] = [
    (
        "initial schema",
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            mode TEXT NOT NULL,
            status TEXT NOT NULL,
            dry_run INTEGER NOT NULL DEFAULT 0,
            history_months INTEGER NOT NULL DEFAULT 0,
            counts TEXT NOT NULL DEFAULT '{}',
            open_count INTEGER,
            open_total TEXT,
            stock_delivered INTEGER NOT NULL DEFAULT 0,
            balance_ok INTEGER,
            mismatches TEXT,
            error TEXT,
            exit_code INTEGER
        );
        CREATE TABLE delivered (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            hash TEXT NOT NULL,
            is_open INTEGER NOT NULL DEFAULT 1,
            row TEXT,
            run_id INTEGER NOT NULL,
            PRIMARY KEY (kind, key)
        ) WITHOUT ROWID;
        CREATE TABLE reports (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            kind TEXT NOT NULL,
            mode TEXT NOT NULL,
            rows INTEGER NOT NULL,
            report TEXT NOT NULL,
            delivered_at TEXT NOT NULL
        );
        CREATE INDEX reports_run ON reports(run_id);
        CREATE TABLE lock (
            name TEXT PRIMARY KEY,
            run_id INTEGER,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            acquired_at TEXT NOT NULL
        );
        """,
    ),
    (
        "high-water marks of the document number series",
        """
        CREATE TABLE marks (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL,
            run_id INTEGER NOT NULL
        );
        """,
    ),
    (
        "identity: whose state this is; run scope and facts",
        """
        CREATE TABLE identity (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            dynaccount_api_id INTEGER NOT NULL,
            dynaccount_url TEXT NOT NULL,
            mydso_login TEXT NOT NULL,
            mydso_url TEXT NOT NULL,
            bound_at TEXT NOT NULL
        );
        ALTER TABLE runs ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';
        ALTER TABLE runs ADD COLUMN facts TEXT NOT NULL DEFAULT '{}'
        """,
    ),
    (
        "compact delivered state: items and rows",
        """
        CREATE TABLE items (
            key INTEGER PRIMARY KEY,
            hash INTEGER NOT NULL,
            open INTEGER NOT NULL,
            debtor TEXT NOT NULL,
            client TEXT NOT NULL,
            number INTEGER NOT NULL,
            currency TEXT,
            initial NOT NULL,
            remaining NOT NULL,
            issued INTEGER NOT NULL,
            due INTEGER NOT NULL,
            reason TEXT,
            paid INTEGER
        );
        CREATE INDEX items_open_debtor ON items(debtor) WHERE open = 1;
        CREATE TABLE rows (
            kind INTEGER NOT NULL,
            key INTEGER NOT NULL,
            hash INTEGER NOT NULL,
            PRIMARY KEY (kind, key)
        ) WITHOUT ROWID
        """,
    ),
    ("carry version 0.1's delivered rows over", _lean_delivered),
    (
        "webhook triggers and alert incidents",
        """
        CREATE TABLE triggers (
            id INTEGER PRIMARY KEY,
            received_at TEXT NOT NULL,
            tbl TEXT NOT NULL,
            method TEXT NOT NULL,
            debtors TEXT,
            status TEXT NOT NULL,
            run_id INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX triggers_status ON triggers(status);
        CREATE TABLE incidents (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            summary TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            run_id INTEGER,
            resolved_at TEXT,
            resolved_run INTEGER
        );
        CREATE INDEX incidents_open ON incidents(kind) WHERE resolved_at IS NULL
        """,
    ),
]
