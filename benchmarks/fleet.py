"""The fleet under load: N tenants of a small company through the sandboxes, with 1, 2 and 4 workers.

For each worker count, on a fresh fleet schema: N tenants (each its own Dynaccount sandbox accounting, seeded
once and copied, and its own My DSO Manager sandbox account; every sandbox behind one uvicorn server in this
process, see ``tests/fleet/world.py``), one nightly STOCK queued per tenant, then W ``dsobridge fleet worker``
processes (``--concurrency`` jobs each) until every tenant has run. Prints:

- total wall time, tenants per minute, the slowest tenant's wait (queued → its run started) and the slowest
  tenant's completion;
- requests per second seen by each sandbox (peak over whole seconds, mean) against the configured limit;
- PostgreSQL connections used by the workers (peak of ``pg_stat_activity``), and the CPU time the worker
  processes used per tenant (what sizing a fleet needs: in production the sandboxes' share runs elsewhere);
- the floor measured in the same run: the larger of (a) N x one tenant's STOCK run alone, in this process
  without queue or limits, divided by the jobs that can run at once (at most one per CPU) and (b) the
  requests of all tenants at the configured rate — and the ratio of the wall time to it.

    .venv/bin/python benchmarks/fleet.py                          # 200 tenants, 300 / 5,000, workers 1 2 4
    .venv/bin/python benchmarks/fleet.py --quick                  # 20 tenants, 100 / 1,000
    .venv/bin/python benchmarks/fleet.py --rate 50 --workers 1,2  # another limit

Needs a PostgreSQL (``$DSOBRIDGE_TEST_DATABASE_URL``, default the local ``test`` database).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared sandbox fleet of the tests

from tests.fleet.world import FleetWorld

from dsobridge.fleet import FleetDatabase, PostgresStateStore, set_limit
from dsobridge.fleet.run import engine_sync
from dsobridge.sync.scope import FULL

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


class ConnectionSampler(threading.Thread):
    """Peak number of the workers' PostgreSQL connections, sampled every 0.2 s."""

    def __init__(self, db: FleetDatabase) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        with self.db.connect() as conn:
            while not self._halt.is_set():
                (n,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = %s",
                    (f"dsobridge-worker/{self.db.schema}",),
                ).fetchone()
                self.peak = max(self.peak, int(n))
                self._halt.wait(0.2)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def single_run(world: FleetWorld) -> tuple[float, int, int]:
    """One tenant's STOCK alone, in this process, no queue and no limits: (seconds, requests per service)."""
    name = world.names[-1]
    tenant = world.tenants[name]
    config = world.registry.config(tenant)
    before = world.host.traffic.total("dynaccount"), world.host.traffic.total("mydso")
    started = time.perf_counter()
    with world.db.connect() as conn, PostgresStateStore(conn, tenant.id) as state:
        result = engine_sync(config, "stock", FULL, state=state, today=world.today)
    elapsed = time.perf_counter() - started
    assert result.status == "success", result.error
    with (
        world.db.pool.connection() as conn
    ):  # start the fleet's round from an empty state for this tenant too
        conn.execute("DELETE FROM runs WHERE tenant_id = %s", (tenant.id,))
    dyn = world.host.traffic.total("dynaccount") - before[0]
    dso = world.host.traffic.total("mydso") - before[1]
    return elapsed, dyn, dso


def one_round(args: argparse.Namespace, workers: int, url: str) -> dict[str, float]:
    db = FleetDatabase(url, schema=f"bench_{uuid.uuid4().hex[:10]}", application="dsobridge-bench")
    db.migrate()
    try:
        set_limit(db, "dynaccount", rate=args.rate, concurrency=args.limit_concurrency)
        set_limit(db, "mydso", rate=args.rate, concurrency=args.limit_concurrency)
        with tempfile.TemporaryDirectory(prefix="dsobridge-fleet-bench-") as folder:
            setup = time.perf_counter()
            world = FleetWorld(
                Path(folder),
                db,
                tenants=args.tenants,
                debtors=args.debtors,
                invoices=args.invoices,
                same_data=True,
            )
            try:
                print(f"  {args.tenants} tenants set up in {time.perf_counter() - setup:.1f} s", flush=True)
                alone, dyn_requests, dso_requests = single_run(world)
                queued_at = datetime.now(UTC)
                started = time.perf_counter()
                world.enqueue_all("stock", "nightly")
                sampler = ConnectionSampler(db)
                sampler.start()
                for _ in range(workers):
                    world.start_worker(concurrency=args.concurrency)
                world.wait_until(lambda: len(world.successes("stock")) == args.tenants, args.timeout, "all")
                wall = time.perf_counter() - started
                cpu = world.worker_cpu_seconds()
                sampler.stop()
                with db.pool.connection() as conn:
                    waits = conn.execute(
                        "SELECT max(extract(epoch FROM started_at - %s)),"
                        " max(extract(epoch FROM ended_at - %s)) FROM runs WHERE status = 'success'",
                        (queued_at, queued_at),
                    ).fetchone()
                traffic = world.host.traffic
                at_once = workers * args.concurrency
                floor = max(
                    args.tenants * alone / min(at_once, os.cpu_count() or 1),
                    args.tenants * max(dyn_requests, dso_requests) / args.rate,
                )
                return {
                    "wall": wall,
                    "per_minute": args.tenants / wall * 60,
                    "slowest_wait": float(waits[0]),
                    "slowest_done": float(waits[1]),
                    "dyn_peak": traffic.peak("dynaccount"),
                    "dyn_mean": traffic.mean_rate("dynaccount"),
                    "dso_peak": traffic.peak("mydso"),
                    "dso_mean": traffic.mean_rate("mydso"),
                    "connections": sampler.peak,
                    "alone": alone,
                    "requests": dyn_requests + dso_requests,
                    "dyn_requests": dyn_requests,
                    "cpu_per_tenant": cpu / args.tenants,
                    "floor": floor,
                }
            finally:
                world.close()
    finally:
        db.drop_schema()


def report(r: dict[str, float], rate: float) -> None:
    print(
        f"  wall {r['wall']:.1f} s, {r['per_minute']:.1f} tenants/min,"
        f" slowest wait {r['slowest_wait']:.1f} s, slowest done {r['slowest_done']:.1f} s\n"
        f"  Dynaccount {r['dyn_peak']} req/s peak, {r['dyn_mean']:.1f} mean;"
        f" My DSO {r['dso_peak']} req/s peak, {r['dso_mean']:.1f} mean (limit {rate:g});"
        f" PostgreSQL connections {r['connections']}\n"
        f"  workers' CPU {r['cpu_per_tenant']:.2f} s per tenant;"
        f" one tenant alone {r['alone']:.2f} s, {r['requests']} requests ({r['dyn_requests']} Dynaccount);"
        f" floor {r['floor']:.1f} s;"
        f" wall / floor {r['wall'] / r['floor']:.2f}; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--debtors", type=int, default=300)
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--workers", default="1,2,4", help="worker process counts, comma-separated")
    parser.add_argument("--concurrency", type=int, default=2, help="jobs at once per worker")
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s per service (the default limit)")
    parser.add_argument("--limit-concurrency", type=int, default=4, help="requests in flight per service")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--quick", action="store_true", help="20 tenants of 100 debtors / 1,000 invoices")
    args = parser.parse_args()
    if args.quick:
        args.tenants, args.debtors, args.invoices = 20, 100, 1000
    url = os.environ.get("DSOBRIDGE_TEST_DATABASE_URL", DEFAULT_URL)
    print(
        f"fleet: {args.tenants} tenants x ({args.debtors} debtors / {args.invoices} invoices), "
        f"limits {args.rate:g} req/s and {args.limit_concurrency} in flight per service, "
        f"{args.concurrency} jobs per worker; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rows = []
    for workers in (int(w) for w in args.workers.split(",")):
        print(f"- {workers} worker(s)", flush=True)
        r = one_round(args, workers, url)
        rows.append((workers, r))
        report(r, args.rate)
    base = rows[0][1]["wall"]
    print(
        "scaling (wall of the first / wall): " + ", ".join(f"{w} → {base / r['wall']:.2f}" for w, r in rows)
    )


if __name__ == "__main__":
    main()
