"""Jobs: one sync of one tenant, coalesced per tenant and mode, nightly slots, triggers, retries, stalls."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import pytest
from tests.fleet.test_tenants import SECRETS, config_text

from dsobridge.fleet import (
    FleetQueue,
    FleetSettings,
    Keyring,
    PostgresStateStore,
    RetryableRunError,
    RunError,
    TenantRegistry,
    TenantRunner,
    accept_trigger,
    nightly_offset,
    nightly_slots,
)
from dsobridge.fleet.worker import WorkerOptions, _work
from dsobridge.sync.state import RunOutcome


@pytest.fixture
def settings(fleet_db, pg_url):
    return FleetSettings(pg_url, schema=fleet_db.schema, stalled_after=2, heartbeat=0.5)


@pytest.fixture
def registry(fleet_db):
    return TenantRegistry(fleet_db, Keyring([Keyring.new_key()]))


@dataclass
class FakeResult:
    run_id: int
    status: str
    exit_code: int
    error: str | None = None
    error_kind: str | None = None


class FakeSync:
    """Stands in for the engine: records each call and writes a run into the tenant's state."""

    def __init__(self, status="success", error=None):
        self.calls = []
        self.status = status
        self.error = error

    def __call__(self, config, mode, scope, *, state, today, **transports):
        self.calls.append((config.mydso.login, mode, scope.debtors, sorted(transports)))
        run_id = state.start_run(mode)
        code = {"success": 0, "refused": 3}.get(self.status, 1)
        state.finish_run(run_id, RunOutcome(self.status, code, error=self.error))
        return FakeResult(run_id, self.status, code, self.error)


def test_nightly_slots_are_stable_spread_and_cross_midnight(pg_url):
    settings = FleetSettings(pg_url, nightly_start=clock(23, 0), nightly_window_minutes=120, timezone="UTC")
    assert nightly_offset(7, 120) == nightly_offset(7, 120) < timedelta(minutes=120)
    night = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    slots = dict(nightly_slots(range(1, 1001), settings, night, night + timedelta(hours=2)))
    assert len(slots) == 1000 and min(slots.values()) >= night
    per_quarter = [
        sum(
            1
            for m in slots.values()
            if night + timedelta(minutes=15 * q) <= m < night + timedelta(minutes=15 * (q + 1))
        )
        for q in range(8)
    ]
    assert min(per_quarter) > 80  # ~125 per quarter of an hour: nobody starts together
    after_midnight = night + timedelta(hours=1)
    late = nightly_slots(range(1, 1001), settings, after_midnight, after_midnight + timedelta(hours=1))
    assert {t for t, _ in late} == {t for t, m in slots.items() if m >= after_midnight}
    noon = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert nightly_slots(range(1, 1001), settings, noon, noon + timedelta(hours=1)) == []


def test_syncs_coalesce_per_tenant_and_mode(fleet_db, settings, registry):
    acme = registry.add("acme", config_text(), SECRETS)
    queue = FleetQueue(fleet_db, settings)
    with queue.open():
        first = queue.enqueue_sync(acme, "delta", "webhook")
        assert first is not None
        assert queue.enqueue_sync(acme, "delta", "manual") is None
        assert queue.enqueue_sync(acme, "stock", "nightly") is not None
        stats = queue.stats()
    assert stats.by_status["todo"] == 2 and stats.due == 2 and stats.oldest_due_seconds is not None
    jobs = queue.jobs(acme.id)
    assert [(j.mode, j.reason, j.status) for j in jobs] == [
        ("stock", "nightly", "todo"),
        ("delta", "webhook", "todo"),
    ]
    with fleet_db.pool.connection() as conn:
        args = conn.execute("SELECT args::text FROM procrastinate_jobs").fetchall()
    for (text,) in args:  # a job carries the tenant id, never a secret
        assert "SECRET" not in text and set(json.loads(text)) == {"tenant_id", "mode", "reason"}


def test_the_nightly_tick_queues_the_stock_of_the_tenants_due(fleet_db, settings, registry):
    tenants = [registry.add(f"t{i}", config_text(api_id=1000 + i), SECRETS) for i in range(3)]
    registry.set_enabled("t2", False)
    queue = FleetQueue(fleet_db, settings)
    start = datetime.combine(datetime(2026, 11, 21).date(), settings.nightly_start, tzinfo=settings.zone)
    with queue.open():
        queued = queue.enqueue_nightly(start, start + timedelta(minutes=settings.nightly_window_minutes))
        again = queue.enqueue_nightly(start, start + timedelta(minutes=settings.nightly_window_minutes))
    assert (queued, again) == (2, 0)
    modes = sorted((j.tenant_id, j.mode, j.reason) for j in queue.jobs())
    assert modes == [(tenants[0].id, "stock", "nightly"), (tenants[1].id, "stock", "nightly")]


def test_a_trigger_recorded_but_never_queued_is_picked_up_by_the_minute_tick(fleet_db, settings, registry):
    from dsobridge.fleet import record_trigger

    acme = registry.add("acme", config_text(), SECRETS)
    record_trigger(fleet_db, acme, "debtor", "put", ["10001"])  # … and the receiver lost the database here
    queue = FleetQueue(fleet_db, settings)
    with queue.open():
        assert queue.enqueue_orphaned_triggers(older_than=60) == 0  # too young: its own job may be on the way
        assert queue.enqueue_orphaned_triggers(older_than=0) == 1
        assert queue.enqueue_orphaned_triggers(older_than=0) == 0  # coalesced with the waiting one
    assert [(j.mode, j.reason) for j in queue.jobs(acme.id)] == [("delta", "webhook")]


def test_a_delta_job_takes_every_trigger_and_runs_once_for_their_debtors(fleet_db, settings, registry):
    acme = registry.add("acme", config_text(), SECRETS)
    queue, fake = FleetQueue(fleet_db, settings), FakeSync()
    with queue.open():
        first = accept_trigger(fleet_db, queue, acme, "accounting", "insert", ["10002"])
        second = accept_trigger(fleet_db, queue, acme, "debtor", "put", ["10001"])
    assert first.job_id is not None and second.job_id is None  # one coalesced DELTA
    runner = TenantRunner(fleet_db, registry, None, sync=fake)
    assert "success" in runner(acme.id, "delta", "webhook")
    assert fake.calls == [("acme-api", "delta", frozenset({"10001", "10002"}), [])]
    assert "no pending trigger" in runner(acme.id, "delta", "webhook") and len(fake.calls) == 1
    with PostgresStateStore(fleet_db.pool, acme.id) as state:
        assert state.trigger_counts() == {"pending": 0, "running": 0, "done": 2, "failed": 0}
        state.add_trigger("debtor_group", "put", None)
        state.add_trigger("debtor", "put", ["10003"])
    runner(acme.id, "delta", "manual")
    assert fake.calls[-1][2] is None  # one trigger cannot be scoped: a full DELTA
    runner(acme.id, "stock", "nightly")
    runner(acme.id, "delta", "manual")
    assert [c[1:3] for c in fake.calls[-2:]] == [("stock", None), ("delta", None)]  # no trigger: everything


def test_a_failed_run_puts_its_triggers_back_and_is_retried(fleet_db, settings, registry):
    acme = registry.add("acme", config_text(), SECRETS)
    with PostgresStateStore(fleet_db.pool, acme.id) as state:
        state.add_trigger("debtor", "put", ["10001"])
        state.claim_triggers()  # a worker killed after claiming: left running
    failing = FakeSync("failed", error="My DSO Manager answered 503")
    runner = TenantRunner(fleet_db, registry, None, sync=failing)
    with pytest.raises(RetryableRunError, match="503"):
        runner(acme.id, "delta", "webhook")
    with PostgresStateStore(fleet_db.pool, acme.id) as state:
        assert state.trigger_counts()["pending"] == 1 and state.lock_holder() is None
        assert state.pending_triggers()[0].attempts == 2
    refused = TenantRunner(fleet_db, registry, None, sync=FakeSync("refused", error="guard"))
    assert "refused" in refused(acme.id, "delta", "webhook")
    with PostgresStateStore(fleet_db.pool, acme.id) as state:
        assert state.trigger_counts()["failed"] == 1


def test_errors_of_a_run_never_carry_a_secret(fleet_db, settings, registry):
    acme = registry.add("acme", config_text(), SECRETS)

    def leaky(config, mode, scope, **kw):
        raise ValueError(
            f"GET /v5/592912/{config.dynaccount.api_key.reveal()}/get/debtor failed; "
            f"password {config.mydso.password.reveal()}"
        )

    with pytest.raises(RunError) as raised:
        TenantRunner(fleet_db, registry, None, sync=leaky)(acme.id, "stock", "manual")
    assert "SECRET" not in str(raised.value) and raised.value.__cause__ is None
    assert "/v5/592912/***/get/debtor" in str(raised.value)


def test_a_locked_tenant_is_retried_and_a_removed_or_disabled_one_skipped(fleet_db, settings, registry):
    acme = registry.add("acme", config_text(), SECRETS)
    fake = FakeSync()
    runner = TenantRunner(fleet_db, registry, None, sync=fake)
    with PostgresStateStore(fleet_db.connect(), acme.id) as held:
        held.acquire_lock()
        with pytest.raises(RetryableRunError, match="lock"):
            runner(acme.id, "stock", "nightly")
    registry.set_enabled("acme", False)
    assert "disabled" in runner(acme.id, "stock", "nightly")
    registry.remove("acme")
    assert "removed" in runner(acme.id, "stock", "nightly")
    assert fake.calls == []


def test_a_worker_runs_one_job_per_tenant_at_a_time(fleet_db, settings, registry):
    tenants = [registry.add(f"t{i}", config_text(api_id=2000 + i), SECRETS) for i in range(2)]
    spans: dict[int, list[tuple[float, float]]] = {t.id: [] for t in tenants}
    guard = threading.Lock()

    def body(tenant_id, mode, reason):
        started = time.monotonic()
        time.sleep(0.3)
        with guard:
            spans[tenant_id].append((started, time.monotonic()))
        return "ok"

    queue = FleetQueue(fleet_db, settings, body=body)
    with queue.open():
        for tenant in tenants:
            queue.enqueue_sync(tenant, "stock", "nightly")
            queue.enqueue_sync(tenant, "delta", "webhook")
            queue.enqueue_sync(tenant, "delta", "manual")  # joins the waiting DELTA
    for _ in range(5):  # with wait=False a worker stops when nothing can be fetched: a blocked job waits
        asyncio.run(_work(queue, settings, WorkerOptions(concurrency=4, wait=False)))
        if queue.stats().by_status["todo"] == 0:
            break
    for tenant in tenants:
        runs = sorted(spans[tenant.id])
        assert len(runs) == 2
        assert runs[0][1] <= runs[1][0]  # the tenant's two jobs did not overlap
    assert queue.stats().by_status["todo"] == 0


def test_the_jobs_of_a_dead_worker_are_put_back(fleet_db, settings, registry):
    acme = registry.add("acme", config_text(), SECRETS)
    queue = FleetQueue(fleet_db, settings)
    with queue.open():
        job = queue.enqueue_sync(acme, "stock", "manual")
    with fleet_db.pool.connection() as conn:  # a worker took it, then stopped sending heartbeats (kill -9)
        (worker,) = conn.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat)"
            " VALUES (now() - interval '1 minute') RETURNING id"
        ).fetchone()
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s", (worker, job)
        )

    async def reap():
        async with queue.app.open_async():
            return await queue.retry_stalled()

    assert asyncio.run(reap()) == [job]
    assert [(j.id, j.status) for j in queue.jobs(acme.id)] == [(job, "todo")]
