"""One tenant's state in the fleet's PostgreSQL: the ``StateStore`` interface, as the SQLite store has it.

One store = one tenant = one database session for the store's life (taken from a pool, or a connection you
give). The session matters for two things:

- **the run lock** is a PostgreSQL advisory lock ``(lock_class(schema, "run"), tenant_id)`` held by that
  session, plus a ``run_lock`` row saying who holds it (pid, host, since, run id, backend pid) for
  :meth:`lock_holder`. When a worker dies (even ``kill -9``) its session ends and the server releases the
  lock: a dead worker never blocks its tenant. A row whose session is gone is shown by nobody and replaced
  by the next run; :meth:`break_lock` deletes it, but never a lock a live session holds;
- **staged rows** of a file being sent sit in temporary tables of the session (never the state) until
  :meth:`commit_file` copies them, with the file's report and the run's counts, in one transaction.

The store is safe to share between the threads of one run (each call holds the store's mutex).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import psycopg
from psycopg.types.json import Json
from psycopg_pool import ConnectionPool

from dsobridge.fleet.db import lock_class
from dsobridge.sync.state import same_company
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
    StateMismatch,
    Trigger,
)
from dsobridge.sync.state.migrations import ROW_KINDS

_PAGE = 5000  # rows per page of a long read (keyset paging: memory stays flat, the mutex is not held long)
_LOWEST_KEY = -(1 << 63)
_json = partial(Json, dumps=partial(json.dumps, default=str))


class PostgresStateStore:
    """``with PostgresStateStore(pool_or_connection, tenant_id) as state: ...`` — one tenant's state."""

    def __init__(self, source: ConnectionPool | psycopg.Connection, tenant_id: int) -> None:
        self._pool = source if isinstance(source, ConnectionPool) else None
        self.conn: psycopg.Connection = source.getconn() if isinstance(source, ConnectionPool) else source
        self.conn.autocommit = True
        self.tenant_id = int(tenant_id)
        self._mutex = threading.RLock()
        schema = self._one("SELECT current_schema()")[0]
        self._lock_key = (lock_class(schema, "run"), self.tenant_id)
        self._holding = False  # this session holds the tenant's advisory lock
        self._staging: set[str] = set()

    def __repr__(self) -> str:
        return f"PostgresStateStore(tenant_id={self.tenant_id})"

    # --- lifecycle ----------------------------------------------------------------------------------------
    def close(self) -> None:
        with self._mutex:
            if self.conn.closed:
                return
            try:
                self.release_lock()
                self.discard_staged()
            except psycopg.Error:
                self._holding = False  # a broken session: its locks went with it
            if self._pool is not None:
                self._pool.putconn(self.conn)

    def __enter__(self) -> PostgresStateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- identity -----------------------------------------------------------------------------------------
    def identity(self) -> Identity | None:
        row = self._one(
            "SELECT dynaccount_api_id, dynaccount_url, mydso_login, mydso_url FROM identity"
            " WHERE tenant_id = %s",
            (self.tenant_id,),
        )
        return Identity(*row) if row else None

    def bind(self, identity: Identity) -> None:
        with self._mutex:
            self.conn.execute(
                "INSERT INTO identity (tenant_id, dynaccount_api_id, dynaccount_url, mydso_login, mydso_url)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id) DO NOTHING",
                (
                    self.tenant_id,
                    identity.dynaccount_api_id,
                    identity.dynaccount_url,
                    identity.mydso_login,
                    identity.mydso_url,
                ),
            )
            bound = self.identity()
        if bound is not None and not same_company(bound, identity):
            raise StateMismatch(bound, identity)

    # --- the run lock -------------------------------------------------------------------------------------
    def acquire_lock(self, *, timeout: float = 0.0) -> None:
        """Take the tenant's advisory lock (waiting up to ``timeout`` seconds) and show who holds it."""
        host, pid = socket.gethostname(), os.getpid()
        deadline = time.monotonic() + timeout
        while True:
            with self._mutex:
                if self._holding or self._one("SELECT pg_try_advisory_lock(%s, %s)", self._lock_key)[0]:
                    self._holding = True
                    self.conn.execute(
                        "INSERT INTO run_lock (tenant_id, pid, host, acquired_at, backend_pid)"
                        " VALUES (%s, %s, %s, clock_timestamp(), pg_backend_pid()) ON CONFLICT (tenant_id)"
                        " DO UPDATE SET pid = excluded.pid, host = excluded.host,"
                        " acquired_at = excluded.acquired_at, run_id = NULL,"
                        " backend_pid = excluded.backend_pid",
                        (self.tenant_id, pid, host),
                    )
                    return
                held = self.lock_holder()
            if time.monotonic() >= deadline:
                raise Locked(held or LockHolder(pid=0, host="(a session starting a run)", acquired_at=_now()))
            time.sleep(min(0.2, max(0.01, deadline - time.monotonic())))

    def release_lock(self) -> None:
        with self._mutex:
            if not self._holding:
                return
            self.conn.execute(
                "DELETE FROM run_lock WHERE tenant_id = %s AND backend_pid = pg_backend_pid()",
                (self.tenant_id,),
            )
            self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", self._lock_key)
            self._holding = False

    def lock_holder(self) -> LockHolder | None:
        """The holder of the lock, if its session still holds it (a dead worker's row is not shown)."""
        row = self._one(
            "SELECT l.pid, l.host, l.acquired_at, l.run_id FROM run_lock l WHERE l.tenant_id = %s"
            " AND EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted"
            " AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND k.classid = %s::bigint::oid AND k.objid = %s::bigint::oid AND k.objsubid = 2"
            " AND k.pid = l.backend_pid)",
            (self.tenant_id, *self._lock_key),
        )
        if row is None:
            return None
        return LockHolder(pid=row[0], host=row[1], acquired_at=row[2].astimezone(UTC), run_id=row[3])

    def break_lock(self, holder: LockHolder) -> bool:
        """Remove ``holder``'s lock row if it is still exactly theirs and no other live session holds the
        lock (that one is released when its session ends; end the session to end the run)."""
        with self._mutex, self.conn.transaction():
            row = self._one(
                "SELECT pid, host, acquired_at, backend_pid, backend_pid = pg_backend_pid() FROM run_lock"
                " WHERE tenant_id = %s FOR UPDATE",
                (self.tenant_id,),
            )
            if row is None or (row[0], row[1], row[2]) != (holder.pid, holder.host, holder.acquired_at):
                return False
            if row[4]:
                self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", self._lock_key)
                self._holding = False
            elif self.lock_holder() is not None:
                return False
            self.conn.execute("DELETE FROM run_lock WHERE tenant_id = %s", (self.tenant_id,))
            return True

    # --- runs ---------------------------------------------------------------------------------------------
    def start_run(
        self, mode: str, *, scope: str = "full", dry_run: bool = False, history_months: int = 0
    ) -> int:
        with self._mutex, self.conn.transaction():
            self.conn.execute(
                "UPDATE runs SET status = 'interrupted', ended_at = COALESCE(ended_at, now())"
                " WHERE tenant_id = %s AND status = 'running'",
                (self.tenant_id,),
            )
            run_id = self._one(
                "INSERT INTO runs (tenant_id, started_at, mode, status, dry_run, history_months, scope)"
                " VALUES (%s, now(), %s, 'running', %s, %s, %s) RETURNING id",
                (self.tenant_id, mode, dry_run, history_months, scope),
            )[0]
            self.conn.execute(
                "UPDATE run_lock SET run_id = %s WHERE tenant_id = %s AND backend_pid = pg_backend_pid()",
                (run_id, self.tenant_id),
            )
        return int(run_id)

    def finish_run(self, run_id: int, outcome: RunOutcome) -> None:
        with self._mutex:
            self.conn.execute(
                "UPDATE runs SET ended_at = now(), status = %s, exit_code = %s, error = %s, open_count = %s,"
                " open_total = %s, balance_ok = %s, mismatches = %s, facts = %s"
                " WHERE id = %s AND tenant_id = %s",
                (
                    outcome.status,
                    outcome.exit_code,
                    outcome.error,
                    outcome.open_count,
                    outcome.open_total,
                    outcome.balance_ok,
                    None if outcome.mismatches is None else _json(outcome.mismatches),
                    _json(outcome.facts or {}),
                    run_id,
                    self.tenant_id,
                ),
            )

    def runs(self, limit: int = 20) -> list[RunRecord]:
        rows = self._all(
            _SELECT_RUNS + " WHERE tenant_id = %s ORDER BY id DESC LIMIT %s", (self.tenant_id, limit)
        )
        return [_run(r) for r in rows]

    def run(self, run_id: int) -> RunRecord | None:
        row = self._one(_SELECT_RUNS + " WHERE tenant_id = %s AND id = %s", (self.tenant_id, run_id))
        return _run(row) if row else None

    def last_success(self, *, full_scope: bool = True) -> RunRecord | None:
        scope = " AND scope = 'full'" if full_scope else ""
        row = self._one(
            _SELECT_RUNS
            + " WHERE tenant_id = %s AND status = 'success' AND NOT dry_run"
            + scope
            + " ORDER BY id DESC LIMIT 1",
            (self.tenant_id,),
        )
        return _run(row) if row else None

    def reports(self, run_id: int) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT r.kind, r.mode, r.rows, r.report, r.delivered_at FROM reports r"
            " JOIN runs u ON u.id = r.run_id WHERE r.run_id = %s AND u.tenant_id = %s ORDER BY r.id",
            (run_id, self.tenant_id),
        )
        return [
            {"kind": k, "mode": m, "rows": n, "report": r, "delivered_at": _iso(at)}
            for k, m, n, r, at in rows
        ]

    # --- delivered state: reading -------------------------------------------------------------------------
    def open_items(self, debtors: Collection[str] | None = None) -> Iterator[tuple[int, int]]:
        if debtors is None:
            yield from self._paged(
                "SELECT key, hash FROM items WHERE tenant_id = %s AND open AND key > %s", ()
            )
            return
        yield from self._paged(
            "SELECT key, hash FROM items WHERE tenant_id = %s AND open AND key > %s AND debtor = ANY(%s)",
            (sorted(set(debtors)),),
        )

    def item_states(self, keys: Iterable[int]) -> Iterator[ItemState]:
        wanted = list(keys)
        for start in range(0, len(wanted), _PAGE):
            rows = self._all(
                _SELECT_ITEMS + " WHERE tenant_id = %s AND key = ANY(%s)",
                (self.tenant_id, wanted[start : start + _PAGE]),
            )
            yield from (_item(r) for r in rows)

    def item_hash(self, key: int) -> int | None:
        row = self._one("SELECT hash FROM items WHERE tenant_id = %s AND key = %s", (self.tenant_id, key))
        return row[0] if row else None

    def row_hashes(self, kind: str) -> Iterator[tuple[int, int]]:
        yield from self._paged(
            "SELECT key, hash FROM delivered_rows WHERE tenant_id = %s AND key > %s AND kind = %s",
            (ROW_KINDS[kind],),
        )

    def count(self, kind: str, *, open_only: bool = False) -> int:
        if kind == "items":
            query = "SELECT COUNT(*) FROM items WHERE tenant_id = %s AND (open OR NOT %s)"
            return int(self._one(query, (self.tenant_id, open_only))[0])
        return int(
            self._one(
                "SELECT COUNT(*) FROM delivered_rows WHERE tenant_id = %s AND kind = %s",
                (self.tenant_id, ROW_KINDS[kind]),
            )[0]
        )

    def marks(self) -> dict[str, int]:
        return {
            n: int(v)
            for n, v in self._all("SELECT name, value FROM marks WHERE tenant_id = %s", (self.tenant_id,))
        }

    # --- delivered state: writing -------------------------------------------------------------------------
    def stage_items(self, file_no: int, rows: Iterable[StagedItem]) -> None:
        self._stage("staged_items", ((file_no, r.line, *_item_values(r.state)) for r in rows))

    def stage_rows(self, file_no: int, rows: Iterable[StagedRow]) -> None:
        self._stage("staged_rows", ((file_no, r.line, r.key, r.hash) for r in rows))

    def _stage(self, table: str, values: Iterable[tuple[Any, ...]]) -> None:
        with self._mutex:
            self._ensure_staging(table)
            with self.conn.cursor() as cur, cur.copy(_COPY_IN[table]) as copy:
                for row in values:
                    copy.write_row(row)

    def _ensure_staging(self, table: str) -> None:
        if table not in self._staging:
            self.conn.execute(_STAGING[table])
            self._staging.add(table)

    def discard_staged(self) -> None:
        with self._mutex:
            self.conn.execute("DROP TABLE IF EXISTS pg_temp.staged_items, pg_temp.staged_rows")
            self._staging.clear()

    def commit_file(self, run_id: int, accepted: AcceptedFile) -> int:
        """Record an accepted file: its staged rows but the rejected lines, the items to close, its report and
        the run's counts (and marks), in ONE transaction. Returns the number of rows recorded."""
        items = accepted.kind == "items"
        table = "staged_items" if items else "staged_rows"
        with self._mutex:
            self._ensure_staging(table)
            with self.conn.transaction():
                rejected = sorted({int(line) for line in accepted.rejected_lines})
                if rejected:
                    self.conn.execute(
                        f"DELETE FROM pg_temp.{table} WHERE file = %s AND line = ANY(%s)",  # noqa: S608
                        (accepted.file_no, rejected),
                    )
                if items:
                    n = self.conn.execute(_COPY_ITEMS, (self.tenant_id, accepted.file_no)).rowcount
                    closing = [(self.tenant_id, *_item_values(s)) for s in accepted.close]
                    if closing:
                        with self.conn.cursor() as cur:
                            cur.executemany(_UPSERT_ITEM, closing)
                else:
                    n = self.conn.execute(
                        _COPY_ROWS, (self.tenant_id, ROW_KINDS[accepted.kind], accepted.file_no)
                    ).rowcount
                self.conn.execute(
                    "INSERT INTO reports (run_id, kind, mode, rows, report) VALUES (%s, %s, %s, %s, %s)",
                    (run_id, accepted.kind, accepted.mode, n, _json(accepted.report)),
                )
                self.conn.execute(
                    "UPDATE runs SET counts = %s, stock_delivered = stock_delivered OR %s"
                    " WHERE id = %s AND tenant_id = %s",
                    (_json(accepted.counts), accepted.stock, run_id, self.tenant_id),
                )
                if accepted.marks:
                    self._write_marks(accepted.marks, run_id)
            self.conn.execute(f"DELETE FROM pg_temp.{table} WHERE file = %s", (accepted.file_no,))  # noqa: S608
        return n

    def set_marks(self, marks: dict[str, int], run_id: int) -> None:
        with self._mutex, self.conn.transaction():
            self._write_marks(marks, run_id)

    def _write_marks(self, marks: dict[str, int], run_id: int) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO marks (tenant_id, name, value, run_id) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (tenant_id, name) DO UPDATE SET value = greatest(marks.value, excluded.value),"
                " run_id = excluded.run_id",
                [(self.tenant_id, name, int(value), run_id) for name, value in marks.items()],
            )

    # --- webhook triggers ---------------------------------------------------------------------------------
    def add_trigger(self, table: str, method: str, debtors: Collection[str] | None) -> int:
        row = self._one(
            "INSERT INTO triggers (tenant_id, tbl, method, debtors) VALUES (%s, %s, %s, %s) RETURNING id",
            (self.tenant_id, table, method, None if debtors is None else _json(sorted(debtors))),
        )
        return int(row[0])

    def pending_triggers(self) -> list[Trigger]:
        rows = self._all(
            _SELECT_TRIGGERS + " WHERE tenant_id = %s AND status = 'pending' ORDER BY id", (self.tenant_id,)
        )
        return [_trigger(r) for r in rows]

    def claim_triggers(self) -> list[Trigger]:
        rows = self._all(_CLAIM_TRIGGERS, (self.tenant_id,))
        return sorted((_trigger(r) for r in rows), key=lambda t: t.id)

    def finish_triggers(
        self, ids: Collection[int], *, run_id: int | None, status: str, error: str | None = None
    ) -> None:
        if status not in ("done", "pending", "failed"):
            raise ValueError(f"unknown trigger status {status!r}")
        with self._mutex:
            self.conn.execute(
                "UPDATE triggers SET status = %s, run_id = %s, error = %s, updated_at = clock_timestamp()"
                " WHERE tenant_id = %s AND id = ANY(%s)",
                (status, run_id, error, self.tenant_id, list(ids)),
            )

    def requeue_triggers(self) -> int:
        with self._mutex:
            cur = self.conn.execute(
                "UPDATE triggers SET status = 'pending', updated_at = clock_timestamp()"
                " WHERE tenant_id = %s AND status = 'running'",
                (self.tenant_id,),
            )
            return cur.rowcount

    def trigger_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("pending", "running", "done", "failed"), 0)
        rows = self._all(
            "SELECT status, COUNT(*) FROM triggers WHERE tenant_id = %s GROUP BY status", (self.tenant_id,)
        )
        counts.update({status: int(n) for status, n in rows})
        return counts

    def last_trigger_failure(self) -> Trigger | None:
        row = self._one(
            _SELECT_TRIGGERS
            + " WHERE tenant_id = %s AND error IS NOT NULL ORDER BY updated_at DESC, id DESC LIMIT 1",
            (self.tenant_id,),
        )
        return _trigger(row) if row else None

    # --- alert incidents ----------------------------------------------------------------------------------
    def open_incident(self, kind: str, summary: str, run_id: int | None) -> bool:
        with self._mutex:
            cur = self.conn.execute(
                "INSERT INTO incidents (tenant_id, kind, summary, run_id) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (tenant_id, kind) WHERE resolved_at IS NULL DO NOTHING",
                (self.tenant_id, kind, summary, run_id),
            )
            return cur.rowcount == 1

    def resolve_incidents(self, run_id: int | None) -> list[str]:
        rows = self._all(
            "UPDATE incidents SET resolved_at = now(), resolved_run = %s"
            " WHERE tenant_id = %s AND resolved_at IS NULL RETURNING kind",
            (run_id, self.tenant_id),
        )
        return sorted(r[0] for r in rows)

    def open_incidents(self) -> list[Incident]:
        rows = self._all(
            "SELECT kind, summary, opened_at, run_id FROM incidents"
            " WHERE tenant_id = %s AND resolved_at IS NULL ORDER BY id",
            (self.tenant_id,),
        )
        return [Incident(kind=k, summary=s, run_id=r, opened_at=at.astimezone(UTC)) for k, s, at, r in rows]

    # --- helpers ------------------------------------------------------------------------------------------
    def _one(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        with self._mutex:
            return self.conn.execute(query, params).fetchone()  # type: ignore[arg-type]

    def _all(self, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._mutex:
            return self.conn.execute(query, params).fetchall()  # type: ignore[arg-type]

    def _paged(self, query: str, extra: tuple[Any, ...]) -> Iterator[tuple[int, int]]:
        """``query`` has ``tenant_id = %s AND key > %s`` first; pages of ``_PAGE`` rows by key ascending."""
        last = _LOWEST_KEY
        while True:
            rows = self._all(query + " ORDER BY key LIMIT %s", (self.tenant_id, last, *extra, _PAGE))
            yield from ((int(k), int(h)) for k, h in rows)
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")


_ITEM_COLUMNS = (
    "key, hash, open, debtor, client, number, currency, initial, remaining, issued, due, reason, paid"
)
_SELECT_ITEMS = f"SELECT {_ITEM_COLUMNS} FROM items"  # noqa: S608
_UPDATE_ITEM = (
    " ON CONFLICT (tenant_id, key) DO UPDATE SET hash = excluded.hash, open = excluded.open,"
    " debtor = excluded.debtor, client = excluded.client, number = excluded.number,"
    " currency = excluded.currency, initial = excluded.initial,"
    " remaining = excluded.remaining, issued = excluded.issued, due = excluded.due, reason = excluded.reason,"
    " paid = excluded.paid"
)
_UPSERT_ITEM = (
    f"INSERT INTO items (tenant_id, {_ITEM_COLUMNS}) VALUES ({', '.join(['%s'] * 14)})"  # noqa: S608
    + _UPDATE_ITEM
)
_COPY_ITEMS = (  # one row per key: the last line of the file wins (an upsert must not touch a row twice)
    f"INSERT INTO items (tenant_id, {_ITEM_COLUMNS}) SELECT DISTINCT ON (key) %s, {_ITEM_COLUMNS}"  # noqa: S608
    " FROM pg_temp.staged_items WHERE file = %s ORDER BY key, line DESC" + _UPDATE_ITEM
)
_COPY_ROWS = (
    "INSERT INTO delivered_rows (tenant_id, kind, key, hash) SELECT DISTINCT ON (key) %s, %s, key, hash"
    " FROM pg_temp.staged_rows WHERE file = %s ORDER BY key, line DESC"
    " ON CONFLICT (tenant_id, kind, key) DO UPDATE SET hash = excluded.hash"
)
_STAGING = {
    "staged_items": (
        "CREATE TEMP TABLE IF NOT EXISTS staged_items (file integer NOT NULL, line integer NOT NULL,"
        " key bigint NOT NULL, hash bigint NOT NULL, open boolean NOT NULL, debtor text NOT NULL,"
        " client text NOT NULL, number bigint NOT NULL, currency text,"
        " initial numeric, remaining numeric, issued date, due date, reason text, paid date,"
        " PRIMARY KEY (file, line))"
    ),
    "staged_rows": (
        "CREATE TEMP TABLE IF NOT EXISTS staged_rows (file integer NOT NULL, line integer NOT NULL,"
        " key bigint NOT NULL, hash bigint NOT NULL, PRIMARY KEY (file, line))"
    ),
}
_COPY_IN = {
    "staged_items": f"COPY pg_temp.staged_items (file, line, {_ITEM_COLUMNS}) FROM STDIN",
    "staged_rows": "COPY pg_temp.staged_rows (file, line, key, hash) FROM STDIN",
}
_SELECT_RUNS = (
    "SELECT id, started_at, ended_at, mode, status, dry_run, history_months, counts, open_count, open_total,"
    " stock_delivered, balance_ok, mismatches, error, exit_code, scope, facts FROM runs"
)
_TRIGGER_COLUMNS = "id, received_at, tbl, method, debtors, status, run_id, attempts, error"
_SELECT_TRIGGERS = f"SELECT {_TRIGGER_COLUMNS} FROM triggers"  # noqa: S608
_CLAIM_TRIGGERS = (
    "UPDATE triggers SET status = 'running', attempts = attempts + 1, updated_at = clock_timestamp()"  # noqa: S608
    f" WHERE tenant_id = %s AND status = 'pending' RETURNING {_TRIGGER_COLUMNS}"
)


def _item_values(s: ItemState) -> tuple[Any, ...]:
    return (
        s.key,
        s.hash,
        s.open,
        s.debtor,
        s.client,
        s.number,
        s.currency,
        s.initial,
        s.remaining,
        s.issued,
        s.due,
        s.reason,
        s.paid,
    )


def _item(row: tuple[Any, ...]) -> ItemState:
    key, digest, is_open, debtor, client, number, currency, initial, remaining, issued, due, reason, paid = (
        row
    )
    return ItemState(
        key=int(key),
        hash=int(digest),
        debtor=debtor,
        client=client,
        number=int(number),
        currency=currency or "",
        initial=initial,
        remaining=remaining,
        issued=issued,
        due=due,
        open=bool(is_open),
        reason=reason,
        paid=paid,
    )


def _trigger(r: tuple[Any, ...]) -> Trigger:
    return Trigger(
        id=int(r[0]),
        received_at=r[1].astimezone(UTC),
        table=r[2],
        method=r[3],
        debtors=None if r[4] is None else tuple(r[4]),
        status=r[5],
        run_id=r[6],
        attempts=r[7],
        error=r[8],
    )


def _run(r: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        id=int(r[0]),
        started_at=_iso(r[1]) or "",
        ended_at=_iso(r[2]),
        mode=r[3],
        status=r[4],
        dry_run=bool(r[5]),
        history_months=r[6],
        counts=r[7] or {},
        open_count=r[8],
        open_total=r[9],
        stock_delivered=bool(r[10]),
        balance_ok=r[11],
        mismatches=r[12] or [],
        error=r[13],
        exit_code=r[14],
        scope=r[15] or "full",
        facts=r[16] or {},
    )
