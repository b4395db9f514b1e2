"""End to end: 20 tenants, each its own seeded Dynaccount accounting and My DSO Manager account, 2 worker
processes: after a nightly round and a round of webhook changes, every tenant's My DSO Manager ledger equals
its Dynaccount open items, item by item — and a worker killed with ``kill -9`` mid-run changes nothing."""

from __future__ import annotations

import signal
import time

import pytest
from tests.fleet.world import FleetWorld

from dsobridge.fleet import FleetQueue, accept_trigger, set_limit

pytestmark = pytest.mark.slow

TENANTS = 20


@pytest.fixture
def world(tmp_path, fleet_db):
    set_limit(fleet_db, "dynaccount", rate=60, concurrency=4)
    set_limit(fleet_db, "mydso", rate=60, concurrency=4)
    w = FleetWorld(tmp_path, fleet_db, tenants=TENANTS, debtors=12, invoices=150)
    yield w
    w.close()


def assert_ledgers_agree(world: FleetWorld) -> None:
    for name in world.names:
        expected = world.dynaccount_open(name)
        assert expected, f"{name}: the seeded company has open items"
        assert world.mydso_ledger(name) == expected, name


def kill_a_worker_mid_run(world: FleetWorld) -> int:
    """Wait until the first worker is inside a run (holding a tenant's lock, its run recorded), then
    ``kill -9`` it; return its pid."""
    victim = world.workers[0]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with world.db.pool.connection() as conn:
            held = conn.execute(
                "SELECT count(*) FROM run_lock l JOIN pg_stat_activity a ON a.pid = l.backend_pid"
                " WHERE l.pid = %s AND l.run_id IS NOT NULL",
                (victim.pid,),
            ).fetchone()[0]
        if held:
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            return victim.pid
        time.sleep(0.02)
    raise AssertionError("the first worker never started a run")


def test_a_fleet_of_twenty_keeps_every_ledger_equal_through_nights_webhooks_and_a_kill(world):
    world.start_worker(concurrency=2)
    world.start_worker(concurrency=2)
    world.enqueue_all("stock", "nightly")
    killed = kill_a_worker_mid_run(world)
    world.start_worker(concurrency=2)  # the service manager restarts it
    world.wait_until(lambda: len(world.successes("stock")) == TENANTS, 600, "every nightly STOCK")
    assert_ledgers_agree(world)
    with world.db.pool.connection() as conn:  # the killed worker's run was cut short and run again
        interrupted = conn.execute("SELECT count(*) FROM runs WHERE status = 'interrupted'").fetchone()[0]
        left = conn.execute("SELECT count(*) FROM run_lock WHERE pid = %s", (killed,)).fetchone()[0]
    assert interrupted >= 1 and left == 0
    assert world.host.traffic.peak("dynaccount") <= 60 + 1 and world.host.traffic.peak("mydso") <= 60 + 1

    # a round of changes: days pass, payments and new invoices are booked, webhooks arrive (two per tenant)
    world.stop_workers()
    world.advance(10)
    stale = [n for n in world.names if world.mydso_ledger(n) != world.dynaccount_open(n)]
    assert len(stale) > TENANTS // 2  # payments and invoices booked: the ledgers now differ
    last_stock = max(world.successes("stock").values())
    queue = FleetQueue(world.db, world.settings())
    with queue.open():
        for tenant in world.tenants.values():
            first = accept_trigger(world.db, queue, tenant, "debtor_invoice", "insert", None)
            second = accept_trigger(world.db, queue, tenant, "accounting", "insert", None)
            assert first.job_id is not None and second.job_id is None  # coalesced into one DELTA
    world.start_worker(concurrency=2)
    world.start_worker(concurrency=2)
    kill_a_worker_mid_run(world)
    world.start_worker(concurrency=2)
    world.wait_until(lambda: len(world.successes("delta", last_stock)) == TENANTS, 600, "every webhook DELTA")
    world.wait_until(lambda: _triggers_done(world), 120, "every trigger done")
    assert_ledgers_agree(world)
    assert_no_secret_in_the_logs(world)


def assert_no_secret_in_the_logs(world: FleetWorld) -> None:
    logs = "".join(p.read_text(errors="replace") for p in world.folder.glob("worker-*.log"))
    assert "Starting job" in logs  # the workers did log their jobs
    for name in world.names:
        for secret in world.secrets(name).values():
            assert secret.reveal() not in logs, name


def _triggers_done(world: FleetWorld) -> bool:
    with world.db.pool.connection() as conn:
        counts = dict(conn.execute("SELECT status, count(*) FROM triggers GROUP BY status").fetchall())
    return counts.get("done", 0) == 2 * TENANTS
