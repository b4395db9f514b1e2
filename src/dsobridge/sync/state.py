"""The sync's memory: SQLite (WAL) with migrations recorded in a table.

- ``runs``: one row per run (start, end, mode, status, counts per file, open-item figures, error);
- ``delivered``: the last delivered row of every key per file kind, with a content hash (and, for items, the
  row itself and whether it is open at the destination);
- ``reports``: the import report of every delivered file;
- ``lock``: one run at a time;
- ``marks``: per document table (``debtor_invoice``, ``debtor_creditnote``), the highest document number
  every settled document up to which is at the destination (or excluded): where the next run's scan for
  documents issued and settled between two runs stops.

State advances only through ``commit_file``: the rows of a file My DSO Manager accepted, its report and the
run's counts, in one transaction.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

MIGRATIONS: list[tuple[str, str]] = [
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
]


class StateError(Exception):
    """The state store cannot be used."""


class Locked(StateError):
    """Another run holds the lock."""


@dataclass(frozen=True)
class RunRecord:
    id: int
    started_at: str
    ended_at: str | None
    mode: str
    status: str
    dry_run: bool
    history_months: int
    counts: dict[str, Any]
    open_count: int | None
    open_total: Decimal | None
    stock_delivered: bool
    balance_ok: bool | None
    mismatches: list[Any]
    error: str | None
    exit_code: int | None


@dataclass(frozen=True)
class Delivered:
    """One row of a file to record once the file is accepted."""

    key: str
    hash: str
    is_open: bool = True
    row: str | None = None  # JSON of the mapped row (items only)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StateStore:
    """``with StateStore(path) as state: ...`` — opens (creating and migrating) the SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._lock_token: tuple[int, str] | None = None
        self.migrate()

    # --- lifecycle ----------------------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply the migrations not yet recorded in ``schema_migrations``; return their versions."""
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        done = {v for (v,) in self.db.execute("SELECT version FROM schema_migrations")}
        applied = []
        for version, (name, sql) in enumerate(MIGRATIONS, start=1):
            if version in done:
                continue
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for statement in sql.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, _now()),
                )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            applied.append(version)
        return applied

    def schema_versions(self) -> list[int]:
        return [v for (v,) in self.db.execute("SELECT version FROM schema_migrations ORDER BY version")]

    def close(self) -> None:
        self.release_lock()
        self.db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- lock ---------------------------------------------------------------------------------------------
    def acquire_lock(self, *, timeout: float = 0.0) -> None:
        """Take the run lock; a lock left by a dead process on this host is taken over. Raises ``Locked``."""
        host = socket.gethostname()
        pid = os.getpid()
        deadline = time.monotonic() + timeout
        while True:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                held = self.db.execute(
                    "SELECT pid, host, acquired_at FROM lock WHERE name = 'sync'"
                ).fetchone()
                stale = held is not None and held[1] == host and held[0] != pid and not _pid_alive(held[0])
                if held is None or stale:
                    self.db.execute(
                        "INSERT OR REPLACE INTO lock (name, pid, host, acquired_at) VALUES ('sync', ?, ?, ?)",
                        (pid, host, _now()),
                    )
                    self.db.execute("COMMIT")
                    self._lock_token = (pid, host)
                    return
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            if time.monotonic() >= deadline:
                raise Locked(
                    f"another sync run holds the lock (pid {held[0]} on {held[1]} since {held[2]}); "
                    f"wait for it to finish, or delete the lock row if that process is gone"
                )
            time.sleep(0.2)

    def release_lock(self) -> None:
        if self._lock_token is None:
            return
        pid, host = self._lock_token
        self.db.execute("DELETE FROM lock WHERE name = 'sync' AND pid = ? AND host = ?", (pid, host))
        self._lock_token = None

    # --- runs ---------------------------------------------------------------------------------------------
    def start_run(self, mode: str, *, dry_run: bool = False, history_months: int = 0) -> int:
        with self._tx():
            self.db.execute(
                "UPDATE runs SET status = 'interrupted', ended_at = COALESCE(ended_at, ?)"
                " WHERE status = 'running'",
                (_now(),),
            )
            cur = self.db.execute(
                "INSERT INTO runs (started_at, mode, status, dry_run, history_months)"
                " VALUES (?, ?, 'running', ?, ?)",
                (_now(), mode, int(dry_run), history_months),
            )
            run_id = int(cur.lastrowid or 0)
            self.db.execute("UPDATE lock SET run_id = ? WHERE name = 'sync'", (run_id,))
        return run_id

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        exit_code: int,
        error: str | None = None,
        open_count: int | None = None,
        open_total: Decimal | None = None,
        balance_ok: bool | None = None,
        mismatches: list[Any] | None = None,
    ) -> None:
        with self._tx():
            self.db.execute(
                "UPDATE runs SET ended_at = ?, status = ?, exit_code = ?, error = ?, open_count = ?,"
                " open_total = ?, balance_ok = ?, mismatches = ? WHERE id = ?",
                (
                    _now(),
                    status,
                    exit_code,
                    error,
                    open_count,
                    None if open_total is None else str(open_total),
                    None if balance_ok is None else int(balance_ok),
                    None if mismatches is None else json.dumps(mismatches, default=str),
                    run_id,
                ),
            )

    def runs(self, limit: int = 20) -> list[RunRecord]:
        rows = self.db.execute(_SELECT_RUNS + " ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [_run(r) for r in rows]

    def run(self, run_id: int) -> RunRecord | None:
        row = self.db.execute(_SELECT_RUNS + " WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def last_stock_run(self) -> RunRecord | None:
        """The last successful run that delivered a STOCK items file (the drop guard's reference)."""
        row = self.db.execute(
            _SELECT_RUNS + " WHERE status = 'success' AND stock_delivered = 1 ORDER BY id DESC LIMIT 1"
        ).fetchone()
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

    # --- delivered rows -----------------------------------------------------------------------------------
    def hashes(self, kind: str) -> dict[str, str]:
        """Key → content hash of everything delivered of a kind (``is_open`` items only for items)."""
        return dict(self.db.execute("SELECT key, hash FROM delivered WHERE kind = ?", (kind,)))

    def open_item_hashes(self) -> dict[str, str]:
        """Key → hash of the items open at the destination (settled ones are not loaded: they only grow)."""
        return dict(self.db.execute("SELECT key, hash FROM delivered WHERE kind = 'items' AND is_open = 1"))

    def delivered_hash(self, kind: str, key: str) -> str | None:
        row = self.db.execute("SELECT hash FROM delivered WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return row[0] if row else None

    def item_states(self) -> dict[str, tuple[str, bool]]:
        """Item key → (hash, is_open), every item ever delivered (for inspection and tests)."""
        return {
            k: (h, bool(o))
            for k, h, o in self.db.execute("SELECT key, hash, is_open FROM delivered WHERE kind = 'items'")
        }

    def delivered_row(self, kind: str, key: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT row FROM delivered WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def count(self, kind: str, *, open_only: bool = False) -> int:
        if open_only:
            query = "SELECT COUNT(*) FROM delivered WHERE kind = ? AND is_open = 1"
        else:
            query = "SELECT COUNT(*) FROM delivered WHERE kind = ?"
        return int(self.db.execute(query, (kind,)).fetchone()[0])

    def stage(self, rows: Iterable[Delivered], *, file: int = 0, first_line: int = 2) -> int:
        """Write rows of a file to a temporary table (not the state), while files are being imported.

        ``commit_file(..., rows=None, staged_file=file)`` then records them with one ``INSERT … SELECT``:
        the Python work of recording a file (hashes, row JSON) overlaps the uploads, and only a short SQL
        copy follows the acceptance. Lines are numbered as in the file (line 1 is the header), as in an
        import report's ``rejected_rows``; a file may be staged in several calls (``first_line``).
        """
        self.db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS staged (file INTEGER NOT NULL, line INTEGER NOT NULL,"
            " key TEXT NOT NULL, hash TEXT NOT NULL, is_open INTEGER NOT NULL, row TEXT,"
            " PRIMARY KEY (file, line))"
        )
        n = 0

        def params() -> Iterator[tuple[Any, ...]]:
            nonlocal n
            for line, d in enumerate(rows, start=first_line):
                n += 1
                yield (file, line, d.key, d.hash, int(d.is_open), d.row)

        self.db.execute("BEGIN")  # writes the temp database only: the state file is not locked
        try:
            self.db.executemany("INSERT INTO temp.staged VALUES (?, ?, ?, ?, ?, ?)", params())
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return n

    def discard_staged(self) -> None:
        """Forget every staged row (a run's start and end)."""
        self.db.execute("DROP TABLE IF EXISTS temp.staged")

    def commit_file(
        self,
        run_id: int,
        kind: str,
        rows: Iterable[Delivered] | None,
        *,
        report: dict[str, Any],
        mode: str,
        counts: dict[str, Any],
        close_missing_items: bool = False,
        before_commit: Any = None,
        staged_file: int = 0,
        skip_lines: Iterable[int] = (),
        marks: dict[str, int] | None = None,
    ) -> int:
        """Record an accepted file: its rows, its report and the run's counts, in ONE transaction.

        ``close_missing_items`` (STOCK items): every item not in this file is now closed at the destination.
        ``rows=None`` records the rows staged for ``staged_file`` but those of the lines in ``skip_lines``
        (rows the service rejected).
        """
        n = 0
        with self._tx():
            if close_missing_items:
                self.db.execute("UPDATE delivered SET is_open = 0 WHERE kind = 'items' AND is_open = 1")
            if rows is None:
                skip = sorted({int(line) for line in skip_lines})
                self.db.executemany(
                    "DELETE FROM temp.staged WHERE file = ? AND line = ?", [(staged_file, x) for x in skip]
                )
                n = self.db.execute(_COPY_STAGED, (kind, run_id, staged_file)).rowcount
            else:

                def params() -> Iterator[tuple[Any, ...]]:
                    nonlocal n
                    for d in rows:
                        n += 1
                        yield (kind, d.key, d.hash, int(d.is_open), d.row, run_id)

                self.db.executemany(_UPSERT, params())
            self.db.execute(
                "INSERT INTO reports (run_id, kind, mode, rows, report, delivered_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, kind, mode, n, json.dumps(report, default=str), _now()),
            )
            self.db.execute(
                "UPDATE runs SET counts = ?, stock_delivered = stock_delivered OR ? WHERE id = ?",
                (json.dumps(counts, default=str), int(close_missing_items), run_id),
            )
            if marks:
                self._write_marks(marks, run_id)
            if before_commit is not None:
                before_commit()
        if rows is None:
            self.db.execute("DELETE FROM temp.staged WHERE file = ?", (staged_file,))
        return n

    # --- high-water marks ---------------------------------------------------------------------------------
    def marks(self) -> dict[str, int]:
        """Name → value of every recorded high-water mark."""
        return {name: int(v) for name, v in self.db.execute("SELECT name, value FROM marks")}

    def set_marks(self, marks: dict[str, int], run_id: int) -> None:
        """Record marks on their own (a run whose items files were all empty: nothing to wait for)."""
        with self._tx():
            self._write_marks(marks, run_id)

    def _write_marks(self, marks: dict[str, int], run_id: int) -> None:
        self.db.executemany(
            "INSERT INTO marks (name, value, run_id) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE"
            " SET value = max(marks.value, excluded.value), run_id = excluded.run_id",
            [(name, int(value), run_id) for name, value in marks.items()],
        )

    def max_item_number(self, kind: str) -> int | None:
        """The highest document number among the delivered item keys ``<kind>-<number>`` (``INVOICE``,
        ``CREDITNOTE``), or ``None``: the starting mark of a state written before the marks existed."""
        prefix = f"{kind}-"
        row = self.db.execute(
            "SELECT MAX(CAST(substr(key, ?) AS INTEGER)) FROM delivered WHERE kind = 'items'"
            " AND key >= ? AND key < ?",
            (len(prefix) + 1, prefix, prefix[:-1] + "."),
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    # --- helpers ------------------------------------------------------------------------------------------
    def _tx(self) -> _Transaction:
        return _Transaction(self.db)


_UPSERT = (
    "INSERT INTO delivered (kind, key, hash, is_open, row, run_id) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (kind, key) DO UPDATE SET hash = excluded.hash, is_open = excluded.is_open,"
    " row = excluded.row, run_id = excluded.run_id"
)
_COPY_STAGED = (  # the WHERE clause is required before ON CONFLICT in an INSERT … SELECT
    "INSERT INTO delivered (kind, key, hash, is_open, row, run_id)"
    " SELECT ?, key, hash, is_open, row, ? FROM temp.staged WHERE file = ? ORDER BY line"
    " ON CONFLICT (kind, key) DO UPDATE SET hash = excluded.hash, is_open = excluded.is_open,"
    " row = excluded.row, run_id = excluded.run_id"
)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


_SELECT_RUNS = (
    "SELECT id, started_at, ended_at, mode, status, dry_run, history_months, counts, open_count, open_total,"
    " stock_delivered, balance_ok, mismatches, error, exit_code FROM runs"
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
    )
