"""Global request limits per external service, shared by every worker through the fleet's PostgreSQL.

Two limits per service (``dynaccount``, ``mydso``), kept in the ``service_limits`` table so that every worker
on every machine obeys the same figures (``dsobridge fleet limits``):

- **rate** — requests per second across the fleet. Each request reserves the next free moment with ONE
  ``UPDATE`` (``fleet_reserve``: ``next_at = greatest(next_at, now) + 1/rate``, the database's clock) and
  sleeps until it: first come, first served, requests spaced 1/rate apart, no polling;
- **concurrency** — requests in flight at once (connections in use) across the fleet: a request holds one of
  N advisory-lock slots from sending until its response is closed. Slots are session locks of one
  connection per worker process, so a worker that dies (even ``kill -9``) frees its slots with its session.

:class:`LimitedTransport` wraps a real ``httpx2.HTTPTransport`` (one keep-alive connection per host, as the
clients keep it) and is what a fleet run passes as ``dynaccount_transport`` / ``mydso_transport``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import psycopg

from dsobridge.fleet.db import FleetDatabase, lock_class

SERVICES = ("dynaccount", "mydso")
_SLOT_BASE = {"dynaccount": 0, "mydso": 1000}  # the second key of the service's slot locks: base + i
_LIMITS_TTL = 10.0  # seconds a worker keeps the concurrency figure before reading it again


class LimitError(Exception):
    """A limit cannot be set (unknown service, figure out of range)."""


@dataclass(frozen=True)
class ServiceLimit:
    service: str
    rate: float  # requests per second, fleet-wide
    concurrency: int  # requests in flight at once, fleet-wide


def read_limits(db: FleetDatabase) -> dict[str, ServiceLimit]:
    with db.pool.connection() as conn:
        rows = conn.execute(
            "SELECT service, rate, concurrency FROM service_limits ORDER BY service"
        ).fetchall()
    return {s: ServiceLimit(s, float(r), int(c)) for s, r, c in rows}


def set_limit(
    db: FleetDatabase, service: str, *, rate: float | None = None, concurrency: int | None = None
) -> ServiceLimit:
    """Change a service's limits; running workers follow within ``_LIMITS_TTL`` seconds."""
    if service not in SERVICES:
        raise LimitError(f"unknown service {service!r}: use {' or '.join(SERVICES)}")
    if rate is not None and not 0 < rate <= 10_000:
        raise LimitError("rate must be above 0 and at most 10000 requests per second")
    if concurrency is not None and not 1 <= concurrency <= 1000:
        raise LimitError("concurrency must be between 1 and 1000")
    with db.pool.connection() as conn:
        conn.execute(
            "UPDATE service_limits SET rate = COALESCE(%s, rate), concurrency = COALESCE(%s, concurrency),"
            " updated_at = now() WHERE service = %s",
            (rate, concurrency, service),
        )
    return read_limits(db)[service]


@dataclass
class ServiceCounters:
    """What one worker process sent to a service (for the benchmark and the metrics)."""

    requests: int = 0
    waited_for_rate: float = 0.0  # seconds slept for the rate
    waited_for_slot: float = 0.0  # seconds spent waiting for a free slot
    in_flight: int = 0


class SharedLimits:
    """The limits as one worker process applies them: ``limits.transport("mydso", url)`` per run.

    Holds ONE dedicated database session for the slot locks of every request in flight in this process.
    """

    def __init__(self, db: FleetDatabase, *, poll: float = 0.05) -> None:
        self.db = db
        self.poll = poll
        self.counters = {s: ServiceCounters() for s in SERVICES}
        self._class = lock_class(db.schema, "slot")
        self._conn: psycopg.Connection | None = None
        self._db_lock = threading.Lock()
        self._held: set[int] = set()  # slot keys this process holds (a session lock is re-entrant in PG)
        self._concurrency: dict[str, tuple[float, int]] = {}

    # --- slots and rate -------------------------------------------------------------------------------------
    def acquire(self, service: str) -> int:
        """Wait for a free slot of ``service``, then for its turn in the rate; return the slot's key."""
        started = time.monotonic()
        while (slot := self._take_slot(service)) is None:
            time.sleep(self.poll * (0.5 + random.random()))  # jitter: workers do not poll in step
        counters = self.counters[service]
        counters.waited_for_slot += time.monotonic() - started
        try:
            wait = float(self._query("SELECT fleet_reserve(%s)", (service,))[0])
        except BaseException:
            self.release(slot)
            raise
        if wait > 0:
            time.sleep(wait)
            counters.waited_for_rate += wait
        counters.requests += 1
        counters.in_flight += 1
        return slot

    def release(self, slot: int) -> None:
        service = "mydso" if slot >= _SLOT_BASE["mydso"] else "dynaccount"
        with self._db_lock:
            if slot not in self._held:
                return
            self._held.discard(slot)
            self.counters[service].in_flight -= 1
            if self._conn is not None and not self._conn.closed:
                try:
                    self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self._class, slot))
                except psycopg.Error:
                    self._drop_connection()  # the session is gone, and its locks with it

    def _take_slot(self, service: str) -> int | None:
        base = _SLOT_BASE[service]
        with self._db_lock:
            free = [base + i for i in range(self._concurrency_of(service)) if base + i not in self._held]
            if not free:
                return None
            random.shuffle(free)  # spread the processes over the slots
            (slot,) = self._execute("SELECT fleet_take_slot(%s, %s)", (self._class, free)).fetchone()
            if slot is not None:
                self._held.add(slot)
            return slot

    def _concurrency_of(self, service: str) -> int:
        read_at, value = self._concurrency.get(service, (0.0, 0))
        if time.monotonic() - read_at > _LIMITS_TTL:
            row = self._execute(
                "SELECT concurrency FROM service_limits WHERE service = %s", (service,)
            ).fetchone()
            value = int(row[0])
            self._concurrency[service] = (time.monotonic(), value)
        return value

    def _query(self, sql: str, params: tuple[Any, ...]) -> Any:
        with self._db_lock:
            return self._execute(sql, params).fetchone()

    def _execute(self, sql: str, params: tuple[Any, ...]) -> psycopg.Cursor[Any]:
        """Run on the limits session (caller holds ``_db_lock``); a lost session is reopened once."""
        for attempt in (1, 2):
            if self._conn is None or self._conn.closed:
                self._conn = self.db.connect()
            try:
                return self._conn.execute(sql, params)  # type: ignore[arg-type]
            except psycopg.OperationalError:
                self._drop_connection()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._held.clear()

    def close(self) -> None:
        with self._db_lock:
            self._drop_connection()

    # --- transports -----------------------------------------------------------------------------------------
    def transport(self, service: str, base_url: str) -> LimitedTransport:
        """A fresh transport for one run's client of ``service``: one keep-alive connection per host."""
        if service not in SERVICES:
            raise LimitError(f"unknown service {service!r}")
        inner = httpx2.HTTPTransport(
            verify=base_url.startswith("https:"),
            limits=httpx2.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=60.0),
        )
        return LimitedTransport(inner, self, service)


class LimitedTransport(httpx2.BaseTransport):
    """An httpx2 transport that sends through ``inner`` within the fleet's limits of ``service``."""

    def __init__(self, inner: httpx2.BaseTransport, limits: SharedLimits, service: str) -> None:
        self.inner = inner
        self.limits = limits
        self.service = service

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        slot = self.limits.acquire(self.service)
        try:
            response = self.inner.handle_request(request)
        except BaseException:
            self.limits.release(slot)
            raise
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=_ReleasingStream(response.stream, lambda: self.limits.release(slot)),  # type: ignore[arg-type]
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()


class _ReleasingStream(httpx2.SyncByteStream):
    """A response body that gives its slot back when closed (read to the end or dropped)."""

    def __init__(self, stream: httpx2.SyncByteStream, release: Callable[[], None]) -> None:
        self.stream = stream
        self._release = release

    def __iter__(self) -> Iterator[bytes]:
        yield from self.stream

    def close(self) -> None:
        try:
            self.stream.close()
        finally:
            self._release()
