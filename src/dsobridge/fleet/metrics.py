"""The fleet's Prometheus metrics (``GET /metrics`` of ``fleet serve``), in a registry of their own.

Read from the database at each scrape (:meth:`FleetMetrics.refresh`, then :meth:`FleetMetrics.exposition`):

- **counters** of the runs that finished since this process started (``runs_total{status,mode}``, their
  ``run_duration_seconds{mode}`` histogram, ``items_sent_total``): every scrape reads the runs past the
  highest id seen and those that were still running, so each run is counted once, when it ends, whichever
  worker ran it; a removed tenant never makes a counter go down;
- **gauges** of the fleet now: tenants, tenants failing, the queue (jobs by status, due now, age of the oldest
  due job, live workers) and, per enabled tenant, its freshness (seconds since its last successful run ended;
  since it was added when it never succeeded), whether its last run failed, that run's duration, its open
  items delivered and its triggers waiting;
- ``webhooks_total{code}``: the webhook calls this process answered, by HTTP status;
- ``database_up``: 0 when the last scrape could not read the database (the rest is then the last known).

Money is not exported: a Prometheus sample is a float (see the dashboard for the open amounts).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dsobridge.fleet.db import FleetDatabase
from dsobridge.fleet.jobs import FleetQueue, QueueStats
from dsobridge.fleet.status import TenantStatus, fleet_overview

log = logging.getLogger("dsobridge.fleet.serve")

PREFIX = "dsobridge_fleet"
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)


@dataclass
class Snapshot:
    """The gauges as read at the last successful scrape."""

    tenants: list[TenantStatus] = field(default_factory=list)
    queue: QueueStats | None = None
    taken_at: datetime | None = None
    database_up: bool = False


class FleetMetrics:
    """``metrics.refresh()`` (blocking: a thread), then ``metrics.exposition()`` — the text format."""

    def __init__(self, db: FleetDatabase, queue: FleetQueue) -> None:
        self.db = db
        self.queue = queue
        self.registry = CollectorRegistry(auto_describe=True)
        self.webhooks = Counter(
            f"{PREFIX}_webhooks",
            "Webhook calls answered by this process, by HTTP status",
            ["code"],
            registry=self.registry,
        )
        self.runs = Counter(
            f"{PREFIX}_runs",
            "Sync runs that finished since this process started, by status and mode",
            ["status", "mode"],
            registry=self.registry,
        )
        self.run_duration = Histogram(
            f"{PREFIX}_run_duration_seconds",
            "Duration of the sync runs that finished since this process started",
            ["mode"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.items_sent = Counter(
            f"{PREFIX}_items_sent",
            "Item rows (invoices, credit notes, payments, settlements) delivered to My DSO Manager by"
            " the runs that finished since this process started",
            registry=self.registry,
        )
        self.snapshot = Snapshot()
        self.registry.register(_GaugeCollector(self))
        self._lock = threading.Lock()
        self._seen: int | None = None  # the highest run id read
        self._running: set[int] = set()  # runs at or below it still running at the last read

    def refresh(self) -> None:
        """Read what changed since the last scrape; a database that does not answer sets ``database_up`` 0."""
        with self._lock:
            try:
                self._count_finished_runs()
                tenants, stats = fleet_overview(self.db), self.queue.stats()
            except psycopg.Error as exc:
                log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
                self.snapshot.database_up = False
                return
            self.snapshot = Snapshot(tenants, stats, datetime.now(UTC), True)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def _count_finished_runs(self) -> None:
        with self.db.pool.connection() as conn:
            if self._seen is None:
                (self._seen,) = conn.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()
                self._running = {i for (i,) in conn.execute("SELECT id FROM runs WHERE status = 'running'")}
                return
            rows = conn.execute(_FINISHED_OR_NEW, (self._seen, sorted(self._running))).fetchall()
        still_running = set()
        for run_id, mode, status, seconds, items in rows:
            self._seen = max(self._seen, run_id)
            if status == "running":
                still_running.add(run_id)
                continue
            self.runs.labels(status=status, mode=mode).inc()
            if seconds is not None:
                self.run_duration.labels(mode=mode).observe(max(0.0, float(seconds)))
            self.items_sent.inc(int(items or 0))
        self._running = still_running  # runs of a removed tenant are gone from both


# runs past the highest id read, and those read while running; items: the "items…" files' rows
_FINISHED_OR_NEW = """
SELECT r.id, r.mode, r.status, extract(epoch FROM r.ended_at - r.started_at),
       (SELECT sum((f.value->>'rows')::bigint) FROM json_each(r.counts) f WHERE f.key LIKE 'items%%')
  FROM runs r
 WHERE r.id > %s OR r.id = ANY(%s)
 ORDER BY r.id
"""


class _GaugeCollector(Collector):
    def __init__(self, metrics: FleetMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        snap = self.metrics.snapshot
        yield _gauge(
            "database_up", "1 when the last scrape read the fleet's database", value=int(snap.database_up)
        )
        if snap.taken_at is None or snap.queue is None:
            return
        yield from _fleet_gauges(snap.tenants, snap.queue)
        yield from _tenant_gauges([s for s in snap.tenants if s.tenant.enabled], snap.taken_at)


def _gauge(
    name: str, doc: str, labels: tuple[str, ...] = (), value: float | None = None
) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        f"{PREFIX}_{name}", doc, value=value, labels=None if value is not None else labels
    )


def _fleet_gauges(tenants: list[TenantStatus], stats: QueueStats) -> Iterator[Metric]:
    counts = _gauge("tenants", "Tenants in the registry, enabled or disabled", ("state",))
    enabled = sum(1 for s in tenants if s.tenant.enabled)
    counts.add_metric(["enabled"], enabled)
    counts.add_metric(["disabled"], len(tenants) - enabled)
    yield counts
    failing = sum(1 for s in tenants if s.tenant.enabled and s.failing)
    yield _gauge(
        "tenants_failing", "Enabled tenants whose last run failed, was refused or interrupted", value=failing
    )
    jobs = _gauge("queue_jobs", "Sync and tick jobs in the queue, by status", ("status",))
    for status, n in sorted(stats.by_status.items()):
        jobs.add_metric([status], n)
    yield jobs
    yield _gauge("queue_depth", "Jobs due now and waiting for a worker", value=stats.due)
    yield _gauge(
        "queue_oldest_pending_seconds",
        "How long the oldest job due now has waited (0: none waiting)",
        value=stats.oldest_due_seconds or 0.0,
    )
    yield _gauge("workers", "Workers with a live heartbeat", value=stats.workers)


def _tenant_gauges(tenants: list[TenantStatus], now: datetime) -> Iterator[Metric]:
    labels = ("tenant",)
    fresh = _gauge(
        "tenant_freshness_seconds",
        "Seconds since the tenant's last successful run ended (since it was added, if it never succeeded)",
        labels,
    )
    failing = _gauge(
        "tenant_failing", "1 when the tenant's last run failed, was refused or interrupted", labels
    )
    duration = _gauge(
        "tenant_last_run_duration_seconds", "Duration of the tenant's last finished run", labels
    )
    open_items = _gauge(
        "tenant_open_items", "Open items delivered to My DSO Manager, as of the last success", labels
    )
    triggers = _gauge("tenant_triggers_pending", "Webhook triggers waiting for a run", labels)
    for s in tenants:
        name = [s.tenant.name]
        age = s.freshness_seconds(now)
        fresh.add_metric(name, age if age is not None else (now - s.tenant.created_at).total_seconds())
        failing.add_metric(name, int(s.failing))
        run = s.last_run
        if run is not None and run.ended_at is not None:
            duration.add_metric(name, (run.ended_at - run.started_at).total_seconds())
        if s.open_count is not None:
            open_items.add_metric(name, s.open_count)
        triggers.add_metric(name, s.pending_triggers)
    yield from (fresh, failing, duration, open_items, triggers)
