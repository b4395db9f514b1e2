"""The embedded state store: one SQLite file per company (WAL, ``synchronous=FULL``, owner-only).

Tables: ``identity`` (whose state it is), ``lock``, ``runs``, ``reports``, ``items`` (one compact row per
delivered item, about 60 bytes), ``rows`` (key and hash of every delivered clients / contacts / users row),
``marks``, ``triggers`` (webhook calls waiting for a run) and ``incidents`` (open alerts). Migrations are
recorded in ``schema_migrations`` and run on open.

Rows of a file being sent are staged in temporary tables of the connection (never the state); accepting a
file copies them with one ``INSERT … SELECT`` in the transaction that records the file's report.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from dsobridge.sync.state.base import (
    AcceptedFile,
    Identity,
    Incident,
    ItemState,
    Locked,
    LockHolder,
    RunOutcome,
    RunRecord,
    StagedItem,
    StagedRow,
    StateError,
    StateMismatch,
    Trigger,
    holder_alive,
    iso_now,
    money_from_db,
    money_to_db,
)
from dsobridge.sync.state.migrations import ROW_KINDS, SQLITE_MIGRATIONS

_CHUNK = 500  # keys per IN (...) query


def _owner_only(path: Path) -> None:
    """Create the file owner-only (0600) before SQLite opens it; tighten an existing one."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


class SqliteStateStore:
    """``with SqliteStateStore(path) as state: ...`` — opens (creating and migrating) one company's state."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock_token: tuple[int, str] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _owner_only(self.path)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.migrate()
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open the state store {self.path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SqliteStateStore({str(self.path)!r})"

    # --- lifecycle ----------------------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply the migrations not yet recorded in ``schema_migrations``; return their versions."""
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        done = {v for (v,) in self.db.execute("SELECT version FROM schema_migrations")}
        applied = []
        for version, (name, step) in enumerate(SQLITE_MIGRATIONS, start=1):
            if version in done:
                continue
            with self._tx():
                if callable(step):
                    step(self.db)
                else:
                    for statement in step.split(";"):
                        if statement.strip():
                            self.db.execute(statement)
                self.db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, iso_now()),
                )
            applied.append(version)
        return applied

    def schema_versions(self) -> list[int]:
        return [v for (v,) in self.db.execute("SELECT version FROM schema_migrations ORDER BY version")]

    def close(self) -> None:
        self.release_lock()
        self.db.close()

    def __enter__(self) -> SqliteStateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- identity -----------------------------------------------------------------------------------------
    def identity(self) -> Identity | None:
        row = self.db.execute(
            "SELECT dynaccount_api_id, dynaccount_url, mydso_login, mydso_url FROM identity WHERE id = 1"
        ).fetchone()
        return Identity(*row) if row else None

    def bind(self, identity: Identity) -> None:
        with self._tx():
            bound = self.identity()
            if bound is None:
                self.db.execute(
                    "INSERT INTO identity (id, dynaccount_api_id, dynaccount_url, mydso_login, mydso_url,"
                    " bound_at) VALUES (1, ?, ?, ?, ?, ?)",
                    (
                        identity.dynaccount_api_id,
                        identity.dynaccount_url,
                        identity.mydso_login,
                        identity.mydso_url,
                        iso_now(),
                    ),
                )
                return
        if not same_company(bound, identity):
            raise StateMismatch(bound, identity)

    # --- lock ---------------------------------------------------------------------------------------------
    def acquire_lock(self, *, timeout: float = 0.0) -> None:
        """Take the run lock; a lock left by a dead process on this host is taken over. Raises ``Locked``."""
        host, pid = socket.gethostname(), os.getpid()
        deadline = time.monotonic() + timeout
        while True:
            with self._tx():
                held = self.lock_holder()
                stale = held is not None and held.pid != pid and holder_alive(held) is False
                if held is None or stale:
                    self.db.execute(
                        "INSERT OR REPLACE INTO lock (name, pid, host, acquired_at) VALUES ('sync', ?, ?, ?)",
                        (pid, host, iso_now()),
                    )
                    self._lock_token = (pid, host)
                    return
            if time.monotonic() >= deadline:
                raise Locked(held)
            time.sleep(min(0.2, max(0.01, deadline - time.monotonic())))

    def release_lock(self) -> None:
        if self._lock_token is None:
            return
        pid, host = self._lock_token
        self.db.execute("DELETE FROM lock WHERE name = 'sync' AND pid = ? AND host = ?", (pid, host))
        self._lock_token = None

    def lock_holder(self) -> LockHolder | None:
        row = self.db.execute(
            "SELECT pid, host, acquired_at, run_id FROM lock WHERE name = 'sync'"
        ).fetchone()
        if row is None:
            return None
        return LockHolder(pid=row[0], host=row[1], acquired_at=datetime.fromisoformat(row[2]), run_id=row[3])

    def break_lock(self, holder: LockHolder) -> bool:
        cur = self.db.execute(
            "DELETE FROM lock WHERE name = 'sync' AND pid = ? AND host = ? AND acquired_at = ?",
            (holder.pid, holder.host, holder.acquired_at.isoformat(timespec="seconds")),
        )
        return cur.rowcount > 0

    # --- runs ---------------------------------------------------------------------------------------------
    def start_run(
        self, mode: str, *, scope: str = "full", dry_run: bool = False, history_months: int = 0
    ) -> int:
        with self._tx():
            self.db.execute(
                "UPDATE runs SET status = 'interrupted', ended_at = COALESCE(ended_at, ?)"
                " WHERE status = 'running'",
                (iso_now(),),
            )
            cur = self.db.execute(
                "INSERT INTO runs (started_at, mode, status, dry_run, history_months, scope)"
                " VALUES (?, ?, 'running', ?, ?, ?)",
                (iso_now(), mode, int(dry_run), history_months, scope),
            )
            run_id = int(cur.lastrowid or 0)
            self.db.execute("UPDATE lock SET run_id = ? WHERE name = 'sync'", (run_id,))
        return run_id

    def finish_run(self, run_id: int, outcome: RunOutcome) -> None:
        with self._tx():
            self.db.execute(
                "UPDATE runs SET ended_at = ?, status = ?, exit_code = ?, error = ?, open_count = ?,"
                " open_total = ?, balance_ok = ?, mismatches = ?, facts = ? WHERE id = ?",
                (
                    iso_now(),
                    outcome.status,
                    outcome.exit_code,
                    outcome.error,
                    outcome.open_count,
                    None if outcome.open_total is None else str(outcome.open_total),
                    None if outcome.balance_ok is None else int(outcome.balance_ok),
                    None if outcome.mismatches is None else json.dumps(outcome.mismatches, default=str),
                    json.dumps(outcome.facts or {}, default=str),
                    run_id,
                ),
            )

    def runs(self, limit: int = 20) -> list[RunRecord]:
        rows = self.db.execute(_SELECT_RUNS + " ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [_run(r) for r in rows]

    def run(self, run_id: int) -> RunRecord | None:
        row = self.db.execute(_SELECT_RUNS + " WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def last_success(self, *, full_scope: bool = True) -> RunRecord | None:
        where = " WHERE status = 'success' AND dry_run = 0"
        if full_scope:
            where += " AND scope = 'full'"
        row = self.db.execute(_SELECT_RUNS + where + " ORDER BY id DESC LIMIT 1").fetchone()
        return _run(row) if row else None

    def reports(self, run_id: int) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT kind, mode, rows, report, delivered_at FROM reports WHERE run_id = ? ORDER BY id",
            (run_id,),
        ).fetchall()
        return [
            {"kind": k, "mode": m, "rows": n, "report": json.loads(r), "delivered_at": at}
            for k, m, n, r, at in rows
        ]

    # --- delivered state: reading -------------------------------------------------------------------------
    def open_items(self, debtors: Collection[str] | None = None) -> Iterator[tuple[int, int]]:
        if debtors is None:
            yield from self.db.execute("SELECT key, hash FROM items WHERE open = 1 ORDER BY key")
            return
        found: list[tuple[int, int]] = []
        for chunk in _chunks(sorted(set(debtors))):
            marks = ",".join("?" * len(chunk))
            found.extend(
                self.db.execute(
                    f"SELECT key, hash FROM items WHERE open = 1 AND debtor IN ({marks})",  # noqa: S608
                    chunk,
                )
            )
        yield from sorted(found)

    def item_states(self, keys: Iterable[int]) -> Iterator[ItemState]:
        for chunk in _chunks(list(keys)):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"{_SELECT_ITEMS} WHERE key IN ({marks})", chunk):
                yield _item(row)

    def item_hash(self, key: int) -> int | None:
        row = self.db.execute("SELECT hash FROM items WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def row_hashes(self, kind: str) -> Iterator[tuple[int, int]]:
        yield from self.db.execute(
            "SELECT key, hash FROM rows WHERE kind = ? ORDER BY key", (ROW_KINDS[kind],)
        )

    def count(self, kind: str, *, open_only: bool = False) -> int:
        if kind == "items":
            query = "SELECT COUNT(*) FROM items WHERE open = 1" if open_only else "SELECT COUNT(*) FROM items"
            return int(self.db.execute(query).fetchone()[0])
        return int(
            self.db.execute("SELECT COUNT(*) FROM rows WHERE kind = ?", (ROW_KINDS[kind],)).fetchone()[0]
        )

    def marks(self) -> dict[str, int]:
        return {name: int(v) for name, v in self.db.execute("SELECT name, value FROM marks")}

    # --- delivered state: writing -------------------------------------------------------------------------
    def stage_items(self, file_no: int, rows: Iterable[StagedItem]) -> None:
        self._stage(_STAGED_ITEMS, "staged_items", 15, (_staged_item(file_no, r) for r in rows))

    def stage_rows(self, file_no: int, rows: Iterable[StagedRow]) -> None:
        self._stage(_STAGED_ROWS, "staged_rows", 4, ((file_no, r.line, r.key, r.hash) for r in rows))

    def _stage(self, create: str, table: str, columns: int, params: Iterable[tuple[Any, ...]]) -> None:
        self.db.execute(create)
        self.db.execute("BEGIN")  # the temp database only: the state file is not locked
        try:
            marks = ",".join("?" * columns)
            self.db.executemany(f"INSERT INTO temp.{table} VALUES ({marks})", params)  # noqa: S608
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def discard_staged(self) -> None:
        self.db.execute("DROP TABLE IF EXISTS temp.staged_items")
        self.db.execute("DROP TABLE IF EXISTS temp.staged_rows")

    def commit_file(self, run_id: int, accepted: AcceptedFile) -> int:
        """Record an accepted file: its staged rows but the rejected lines, the items to close, its report
        and the run's counts (and marks), in ONE transaction. Returns the number of rows recorded."""
        items = accepted.kind == "items"
        table = "staged_items" if items else "staged_rows"
        self.db.execute(_STAGED_ITEMS if items else _STAGED_ROWS)
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS rejected (line INTEGER PRIMARY KEY)")
        with self._tx():
            self.db.execute("DELETE FROM temp.rejected")
            self.db.executemany(
                "INSERT OR IGNORE INTO temp.rejected VALUES (?)", [(int(n),) for n in accepted.rejected_lines]
            )
            if items:
                n = self.db.execute(_COPY_ITEMS, (accepted.file_no,)).rowcount
                self.db.executemany(_UPSERT_ITEM, [_item_params(s) for s in accepted.close])
            else:
                n = self.db.execute(_COPY_ROWS, (ROW_KINDS[accepted.kind], accepted.file_no)).rowcount
            self.db.execute(
                "INSERT INTO reports (run_id, kind, mode, rows, report, delivered_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    accepted.kind,
                    accepted.mode,
                    n,
                    json.dumps(accepted.report, default=str),
                    iso_now(),
                ),
            )
            self.db.execute(
                "UPDATE runs SET counts = ?, stock_delivered = stock_delivered OR ? WHERE id = ?",
                (json.dumps(accepted.counts, default=str), int(accepted.stock), run_id),
            )
            if accepted.marks:
                self._write_marks(accepted.marks, run_id)
        self.db.execute(f"DELETE FROM temp.{table} WHERE file = ?", (accepted.file_no,))  # noqa: S608
        return n

    def set_marks(self, marks: dict[str, int], run_id: int) -> None:
        with self._tx():
            self._write_marks(marks, run_id)

    def _write_marks(self, marks: dict[str, int], run_id: int) -> None:
        self.db.executemany(
            "INSERT INTO marks (name, value, run_id) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE"
            " SET value = max(marks.value, excluded.value), run_id = excluded.run_id",
            [(name, int(value), run_id) for name, value in marks.items()],
        )

    # --- webhook triggers ---------------------------------------------------------------------------------
    def add_trigger(self, table: str, method: str, debtors: Collection[str] | None) -> int:
        cur = self.db.execute(
            "INSERT INTO triggers (received_at, tbl, method, debtors, status, updated_at)"
            " VALUES (?, ?, ?, ?, 'pending', ?)",
            (iso_now(), table, method, None if debtors is None else json.dumps(sorted(debtors)), iso_now()),
        )
        return int(cur.lastrowid or 0)

    def pending_triggers(self) -> list[Trigger]:
        return [
            _trigger(r) for r in self.db.execute(_SELECT_TRIGGERS + " WHERE status = 'pending' ORDER BY id")
        ]

    def claim_triggers(self) -> list[Trigger]:
        with self._tx():
            rows = self.db.execute(
                "UPDATE triggers SET status = 'running', attempts = attempts + 1, updated_at = ?"
                " WHERE status = 'pending' RETURNING id",
                (iso_now(),),
            ).fetchall()
            ids = sorted(r[0] for r in rows)
        return list(self._triggers(ids))

    def finish_triggers(
        self, ids: Collection[int], *, run_id: int | None, status: str, error: str | None = None
    ) -> None:
        if status not in ("done", "pending", "failed"):
            raise ValueError(f"unknown trigger status {status!r}")
        with self._tx():
            self.db.executemany(
                "UPDATE triggers SET status = ?, run_id = ?, error = ?, updated_at = ? WHERE id = ?",
                [(status, run_id, error, iso_now(), i) for i in ids],
            )

    def requeue_triggers(self) -> int:
        cur = self.db.execute(
            "UPDATE triggers SET status = 'pending', updated_at = ? WHERE status = 'running'", (iso_now(),)
        )
        return cur.rowcount

    def trigger_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("pending", "running", "done", "failed"), 0)
        counts.update(dict(self.db.execute("SELECT status, COUNT(*) FROM triggers GROUP BY status")))
        return counts

    def last_trigger_failure(self) -> Trigger | None:
        row = self.db.execute(
            _SELECT_TRIGGERS + " WHERE error IS NOT NULL ORDER BY updated_at DESC, id DESC LIMIT 1"
        ).fetchone()
        return _trigger(row) if row else None

    def _triggers(self, ids: list[int]) -> Iterator[Trigger]:
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            yield from (
                _trigger(r)
                for r in self.db.execute(f"{_SELECT_TRIGGERS} WHERE id IN ({marks}) ORDER BY id", chunk)
            )

    # --- alert incidents ----------------------------------------------------------------------------------
    def open_incident(self, kind: str, summary: str, run_id: int | None) -> bool:
        with self._tx():
            held = self.db.execute(
                "SELECT 1 FROM incidents WHERE kind = ? AND resolved_at IS NULL", (kind,)
            ).fetchone()
            if held:
                return False
            self.db.execute(
                "INSERT INTO incidents (kind, summary, opened_at, run_id) VALUES (?, ?, ?, ?)",
                (kind, summary, iso_now(), run_id),
            )
            return True

    def resolve_incidents(self, run_id: int | None) -> list[str]:
        with self._tx():
            rows = self.db.execute(
                "UPDATE incidents SET resolved_at = ?, resolved_run = ? WHERE resolved_at IS NULL"
                " RETURNING kind",
                (iso_now(), run_id),
            ).fetchall()
        return sorted(r[0] for r in rows)

    def open_incidents(self) -> list[Incident]:
        rows = self.db.execute(
            "SELECT kind, summary, opened_at, run_id FROM incidents WHERE resolved_at IS NULL ORDER BY id"
        )
        return [
            Incident(kind=k, summary=s, run_id=r, opened_at=datetime.fromisoformat(at))
            for k, s, at, r in rows
        ]

    # --- helpers ------------------------------------------------------------------------------------------
    def _tx(self) -> _Transaction:
        return _Transaction(self.db)


def same_company(a: Identity, b: Identity) -> bool:
    """The same accounting → the same account (URLs compared without a trailing slash, logins as given)."""
    return (
        int(a.dynaccount_api_id) == int(b.dynaccount_api_id)
        and a.dynaccount_url.rstrip("/") == b.dynaccount_url.rstrip("/")
        and a.mydso_login == b.mydso_login
        and a.mydso_url.rstrip("/") == b.mydso_url.rstrip("/")
    )


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    it = iter(values)
    while chunk := list(islice(it, _CHUNK)):
        yield chunk


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


_ITEM_COLUMNS = (
    "key, hash, open, debtor, client, number, currency, initial, remaining, issued, due, reason, paid"
)
_SELECT_ITEMS = f"SELECT {_ITEM_COLUMNS} FROM items"  # noqa: S608
_UPDATE_ITEM = (
    " ON CONFLICT (key) DO UPDATE SET hash = excluded.hash, open = excluded.open, debtor = excluded.debtor,"
    " client = excluded.client, number = excluded.number,"
    " currency = excluded.currency, initial = excluded.initial, remaining = excluded.remaining,"
    " issued = excluded.issued, due = excluded.due, reason = excluded.reason, paid = excluded.paid"
)
_UPSERT_ITEM = f"INSERT INTO items ({_ITEM_COLUMNS}) VALUES ({', '.join('?' * 13)})" + _UPDATE_ITEM  # noqa: S608
_COPY_ITEMS = (  # the WHERE clause is required before ON CONFLICT in an INSERT … SELECT
    f"INSERT INTO items ({_ITEM_COLUMNS}) SELECT {_ITEM_COLUMNS} FROM temp.staged_items"  # noqa: S608
    " WHERE file = ? AND line NOT IN temp.rejected ORDER BY key" + _UPDATE_ITEM
)
_COPY_ROWS = (
    "INSERT INTO rows (kind, key, hash) SELECT ?, key, hash FROM temp.staged_rows"
    " WHERE file = ? AND line NOT IN temp.rejected ORDER BY key"
    " ON CONFLICT (kind, key) DO UPDATE SET hash = excluded.hash"
)
_STAGED_ITEMS = (
    "CREATE TEMP TABLE IF NOT EXISTS staged_items (file INTEGER NOT NULL, line INTEGER NOT NULL,"
    " key INTEGER NOT NULL, hash INTEGER NOT NULL, open INTEGER NOT NULL, debtor TEXT NOT NULL,"
    " client TEXT NOT NULL, number INTEGER NOT NULL, currency TEXT,"
    " initial, remaining, issued INTEGER, due INTEGER, reason TEXT, paid INTEGER)"  # appended: no index
)
_STAGED_ROWS = (
    "CREATE TEMP TABLE IF NOT EXISTS staged_rows (file INTEGER NOT NULL, line INTEGER NOT NULL,"
    " key INTEGER NOT NULL, hash INTEGER NOT NULL)"
)
_SELECT_RUNS = (
    "SELECT id, started_at, ended_at, mode, status, dry_run, history_months, counts, open_count, open_total,"
    " stock_delivered, balance_ok, mismatches, error, exit_code, scope, facts FROM runs"
)
_SELECT_TRIGGERS = (
    "SELECT id, received_at, tbl, method, debtors, status, run_id, attempts, error FROM triggers"
)


def _ordinal(value: date | None) -> int | None:
    return None if value is None else value.toordinal()


def _item_params(s: ItemState) -> tuple[Any, ...]:
    return (
        s.key,
        s.hash,
        int(s.open),
        s.debtor,
        s.client,
        s.number,
        s.currency,
        money_to_db(s.initial),
        money_to_db(s.remaining),
        s.issued.toordinal(),
        s.due.toordinal(),
        s.reason,
        _ordinal(s.paid),
    )


def _staged_item(file_no: int, staged: StagedItem) -> tuple[Any, ...]:
    return (file_no, staged.line, *_item_params(staged.state))


def _item(row: tuple[Any, ...]) -> ItemState:
    key, digest, is_open, debtor, client, number, currency, initial, remaining, issued, due, reason, paid = (
        row
    )
    return ItemState(
        key=key,
        hash=digest,
        debtor=debtor,
        client=client,
        number=number,
        currency=currency or "",
        initial=money_from_db(initial),
        remaining=money_from_db(remaining),
        issued=date.fromordinal(issued),
        due=date.fromordinal(due),
        open=bool(is_open),
        reason=reason,
        paid=None if paid is None else date.fromordinal(paid),
    )


def _trigger(r: tuple[Any, ...]) -> Trigger:
    return Trigger(
        id=r[0],
        received_at=datetime.fromisoformat(r[1]),
        table=r[2],
        method=r[3],
        debtors=None if r[4] is None else tuple(json.loads(r[4])),
        status=r[5],
        run_id=r[6],
        attempts=r[7],
        error=r[8],
    )


def _run(r: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        id=r[0],
        started_at=r[1],
        ended_at=r[2],
        mode=r[3],
        status=r[4],
        dry_run=bool(r[5]),
        history_months=r[6],
        counts=json.loads(r[7] or "{}"),
        open_count=r[8],
        open_total=None if r[9] is None else Decimal(r[9]),
        stock_delivered=bool(r[10]),
        balance_ok=None if r[11] is None else bool(r[11]),
        mismatches=json.loads(r[12]) if r[12] else [],
        error=r[13],
        exit_code=r[14],
        scope=r[15] or "full",
        facts=json.loads(r[16] or "{}"),
    )
