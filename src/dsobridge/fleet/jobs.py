"""The fleet's jobs on Procrastinate, in the fleet's own PostgreSQL (no other broker).

One job = one sync of one tenant: task ``dsobridge.sync_tenant(tenant_id, mode, reason)`` — a tenant id, never
a secret. Every sync job of a tenant carries:

- ``lock = "tenant:<id>"``: Procrastinate runs at most one job per lock at a time (and the run itself takes
  the tenant's advisory lock in its state, see ``state_pg``);
- ``queueing_lock = "tenant:<id>:<mode>"``: at most ONE waiting job per tenant and mode, so a burst of webhook
  calls and "run now" clicks coalesce into one queued DELTA (:meth:`FleetQueue.enqueue_sync` answers ``None``
  when it joined the one already waiting).

Nightly STOCK: a periodic task ticks every minute (Procrastinate's periodic tasks: deferred once per minute
by whichever worker gets there first) and enqueues the STOCK of each tenant whose slot falls in that minute.
A tenant's slot is the window's start plus a stable offset (a hash of its id, spread evenly over the window),
so 5,000 tenants never start together and each starts at the same time every night. STOCK jobs are not
enqueued ahead of their slot on purpose: Procrastinate runs the jobs of one lock in creation order, so a
future-dated STOCK would hold back the tenant's webhook DELTAs until it ran.

Retries: a failed run is retried with backoff (``RETRY``); a job whose worker died (no heartbeat for
``stalled_after`` seconds) is put back by :meth:`FleetQueue.retry_stalled`, which every worker calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from dsobridge.fleet.db import FleetDatabase
from dsobridge.fleet.settings import FleetSettings
from dsobridge.fleet.tenants import Tenant

log = logging.getLogger("dsobridge.fleet")

QUEUE = "dsobridge"
SYNC_TASK = "dsobridge.sync_tenant"
TICK_TASK = "dsobridge.minute_tick"
MODES = ("stock", "delta")
REASONS = ("nightly", "webhook", "manual")


class RetryableRunError(Exception):
    """The run failed in a way a later attempt may not (network, service down, lock held): retry it."""


RETRY = procrastinate.RetryStrategy(
    max_attempts=6,  # then the job is failed; the tenant's next trigger or night starts afresh
    wait=10,
    exponential_wait=3,  # 13 s, 19 s, 37 s, 91 s, 253 s
    retry_exceptions={RetryableRunError},
)

JobBody = Callable[[int, str, str], Any]


def job_locks(tenant_id: int, mode: str) -> dict[str, str]:
    return {"lock": f"tenant:{tenant_id}", "queueing_lock": f"tenant:{tenant_id}:{mode}"}


def nightly_offset(tenant_id: int, window_minutes: int) -> timedelta:
    """The tenant's stable place in the nightly window (whole seconds, evenly spread by a hash of its id)."""
    digest = hashlib.blake2b(f"tenant:{tenant_id}".encode(), digest_size=8).digest()
    return timedelta(seconds=int.from_bytes(digest, "big") % (window_minutes * 60))


def nightly_slots(
    tenant_ids: Iterable[int], settings: FleetSettings, start: datetime, end: datetime
) -> list[tuple[int, datetime]]:
    """The tenants whose nightly STOCK falls in ``[start, end)`` (aware datetimes), with its moment."""
    zone = settings.zone
    local = start.astimezone(zone)
    windows = []
    for day in (local.date() - timedelta(days=1), local.date()):  # a window may run past midnight
        windows.append(datetime.combine(day, settings.nightly_start, tzinfo=zone))
    due = []
    for tenant_id in tenant_ids:
        offset = nightly_offset(tenant_id, settings.nightly_window_minutes)
        for opened in windows:
            moment = opened + offset
            if start <= moment < end:
                due.append((tenant_id, moment.astimezone(UTC)))
    return sorted(due, key=lambda pair: pair[1])


@dataclass(frozen=True)
class QueueStats:
    """The queue at a glance (dashboard, ``/metrics``)."""

    by_status: dict[str, int]  # todo, doing, succeeded, failed, cancelled, aborted
    due: int  # todo jobs whose time has come (not future-dated retries)
    oldest_due_seconds: float | None  # how long the oldest due job has waited
    workers: int  # workers with a live heartbeat


@dataclass(frozen=True)
class JobInfo:
    id: int
    tenant_id: int
    mode: str
    reason: str
    status: str
    attempts: int
    scheduled_at: datetime | None


class FleetQueue:
    """The Procrastinate app of the fleet and what the CLI, the receiver and the dashboard ask of it.

    ``body`` (the worker's) runs one job: ``body(tenant_id, mode, reason)``. Processes that only enqueue (the
    CLI, ``fleet serve``) leave it out.
    """

    def __init__(self, db: FleetDatabase, settings: FleetSettings, *, body: JobBody | None = None) -> None:
        self.db = db
        self.settings = settings
        self._body = body
        connector = procrastinate.PsycopgConnector(
            conninfo=db.url, kwargs=db.connection_kwargs(autocommit=False), min_size=1, max_size=4
        )
        self.app = procrastinate.App(connector=connector, periodic_defaults={"max_delay": 3600})
        self._opened_async = asyncio.Lock()
        self._open_in_loop = False
        self._register()

    def _register(self) -> None:
        @self.app.task(name=SYNC_TASK, queue=QUEUE, retry=RETRY)
        def sync_tenant(tenant_id: int, mode: str, reason: str) -> Any:
            if self._body is None:
                raise RuntimeError("this process enqueues jobs; it does not run them")
            return self._body(tenant_id, mode, reason)

        @self.app.periodic(cron="* * * * *", periodic_id="minute")
        @self.app.task(name=TICK_TASK, queue=QUEUE, priority=10)  # before the syncs waiting in the queue
        def minute_tick(timestamp: int) -> int:
            start = datetime.fromtimestamp(timestamp, UTC)
            return (
                self.enqueue_nightly(start, start + timedelta(minutes=1)) + self.enqueue_orphaned_triggers()
            )

    # --- enqueueing (synchronous: open the app first, ``with queue.open(): ...``) ---------------------------
    def open(self) -> Any:
        return self.app.open()

    def enqueue_sync(
        self, tenant: Tenant | int, mode: str, reason: str, *, at: datetime | None = None
    ) -> int | None:
        """Queue one sync of the tenant; ``None`` when one of that mode was waiting already (coalesced)."""
        tenant_id = tenant.id if isinstance(tenant, Tenant) else int(tenant)
        if mode not in MODES or reason not in REASONS:
            raise ValueError(f"mode must be one of {MODES} and reason one of {REASONS}")
        deferrer = self.app.configure_task(SYNC_TASK, schedule_at=at, **job_locks(tenant_id, mode))
        try:
            return deferrer.defer(tenant_id=tenant_id, mode=mode, reason=reason)
        except AlreadyEnqueued:
            return None

    async def enqueue_sync_async(self, tenant_id: int, mode: str, reason: str) -> int | None:
        """The same from an event loop (the webhook receiver, the dashboard): the queue opens its pool in
        that loop on first use."""
        async with self._opened_async:
            if not self._open_in_loop:
                await self.app.open_async()
                self._open_in_loop = True
        deferrer = self.app.configure_task(SYNC_TASK, **job_locks(tenant_id, mode))
        try:
            return await deferrer.defer_async(tenant_id=tenant_id, mode=mode, reason=reason)
        except AlreadyEnqueued:
            return None

    def enqueue_nightly(self, start: datetime, end: datetime) -> int:
        """Enqueue the STOCK of every enabled tenant whose nightly slot is in ``[start, end)``."""
        with self.db.pool.connection() as conn:
            ids = [i for (i,) in conn.execute("SELECT id FROM tenants WHERE enabled ORDER BY id")]
        queued = 0
        for tenant_id, moment in nightly_slots(ids, self.settings, start, end):
            if self.enqueue_sync(tenant_id, "stock", "nightly", at=moment) is not None:
                queued += 1
        if queued:
            log.info("nightly: %d STOCK run(s) queued for %s", queued, start.isoformat(timespec="minutes"))
        return queued

    def enqueue_orphaned_triggers(self, *, older_than: float = 60.0) -> int:
        """Queue a DELTA for tenants whose triggers were recorded but never claimed (the receiver lost its
        database between recording and queueing): the safety net of the minute tick."""
        with self.db.pool.connection() as conn:
            ids = [
                i
                for (i,) in conn.execute(
                    "SELECT DISTINCT g.tenant_id FROM triggers g JOIN tenants t ON t.id = g.tenant_id"
                    " WHERE t.enabled AND g.status = 'pending' AND g.attempts = 0"
                    " AND g.received_at < now() - make_interval(secs => %s)",
                    (older_than,),
                )
            ]
        return sum(self.enqueue_sync(i, "delta", "webhook") is not None for i in ids)

    # --- reading the queue ----------------------------------------------------------------------------------
    def stats(self) -> QueueStats:
        with self.db.pool.connection() as conn:
            by_status = dict.fromkeys(("todo", "doing", "succeeded", "failed", "cancelled", "aborted"), 0)
            for status, n in conn.execute(
                "SELECT status::text, count(*) FROM procrastinate_jobs WHERE queue_name = %s GROUP BY status",
                (QUEUE,),
            ):
                by_status[status] = int(n)
            due, oldest = conn.execute(
                "SELECT count(*), extract(epoch FROM now() - min(coalesce(j.scheduled_at,"
                " (SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = j.id))))"
                " FROM procrastinate_jobs j WHERE j.queue_name = %s AND j.status = 'todo'"
                " AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())",
                (QUEUE,),
            ).fetchone()
            (workers,) = conn.execute(
                "SELECT count(*) FROM procrastinate_workers"
                " WHERE last_heartbeat > now() - make_interval(secs => %s)",
                (self.settings.stalled_after,),
            ).fetchone()
        return QueueStats(
            by_status, int(due), None if oldest is None else max(0.0, float(oldest)), int(workers)
        )

    def jobs(self, tenant_id: int | None = None, *, limit: int = 50) -> list[JobInfo]:
        """The newest sync jobs (of one tenant), newest first."""
        with self.db.pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, (args->>'tenant_id')::int, args->>'mode', args->>'reason', status::text,"
                " attempts, scheduled_at FROM procrastinate_jobs WHERE task_name = %s"
                " AND (%s::int IS NULL OR (args->>'tenant_id')::int = %s) ORDER BY id DESC LIMIT %s",
                (SYNC_TASK, tenant_id, tenant_id, limit),
            ).fetchall()
        return [JobInfo(*row) for row in rows]

    # --- recovery -------------------------------------------------------------------------------------------
    async def retry_stalled(self) -> list[int]:
        """Put back the running jobs of workers that stopped sending heartbeats (killed, lost); return ids."""
        manager = self.app.job_manager
        retried = []
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=self.settings.stalled_after):
            try:
                await manager.retry_job(job)
            except Exception as exc:  # another worker put it back first
                log.debug("job %s was put back by another worker (%s)", job.id, type(exc).__name__)
                continue
            log.warning("job %s (%s) of a stalled worker put back in the queue", job.id, job.task_name)
            retried.append(int(job.id or 0))
        return retried
