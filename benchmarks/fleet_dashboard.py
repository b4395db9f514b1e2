"""``fleet serve`` at fleet scale: the dashboard, /metrics and webhooks with N tenants and their run history.

On a fresh fleet schema: N tenants (written straight into the registry, one sealed secret shared), R runs per
tenant (a tenant in ten failing), one pending trigger per tenant. Then, in this process, through the real app
(``InProcessTransport``, logged in):

- the floor: ``fleet_overview`` (the query behind the fleet page and the gauges), alone;
- ``GET /`` (the fleet page, every tenant), ``GET /tenants/<one>``, a ``/metrics`` scrape (first and later);
- a verified webhook call (receiver cached) and a password check (Argon2id);

each as the median of a few repetitions, and the page and the scrape as a ratio to the floor.

    .venv/bin/python benchmarks/fleet_dashboard.py                    # 5,000 tenants x 30 runs
    .venv/bin/python benchmarks/fleet_dashboard.py --tenants 500 --runs 10

Needs a PostgreSQL (``$DSOBRIDGE_TEST_DATABASE_URL``, default the local ``test`` database).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2
from tests.fleet.test_tenants import SECRETS, config_text
from tests.fleet.web.conftest import PASSWORD, log_in, make_context, signed

from dsobridge.fleet import FleetDatabase, Keyring, TenantRegistry, fleet_overview
from dsobridge.fleet.web import migrate_web
from dsobridge.fleet.web.app import build_app
from dsobridge.sandbox import InProcessTransport
from dsobridge.secret import Secret

COUNTS = json.dumps({"items": {"rows": 12, "added": 3, "updated": 2, "unchanged": 7, "cleared": 2}})


def populate(registry: TenantRegistry, tenants: int, runs: int) -> None:
    template = registry.add("t00000", config_text(1, "login-0"), SECRETS)
    with registry.db.pool.connection() as conn:
        sealed, text = conn.execute(
            "SELECT secrets, config_text FROM tenants WHERE id = %s", (template.id,)
        ).fetchone()
        conn.execute(
            "INSERT INTO tenants (name, config_text, secrets, dynaccount_api_id, mydso_login)"
            " SELECT format('t%%s', lpad(i::text, 5, '0')), %s, %s, i + 1, format('login-%%s', i)"
            " FROM generate_series(1, %s - 1) i",
            (text, sealed, tenants),
        )
        conn.execute(
            "INSERT INTO runs (tenant_id, started_at, ended_at, mode, status, counts, open_count, open_total,"
            " exit_code, facts)"
            " SELECT t.id, now() - make_interval(hours => r),"
            " now() - make_interval(hours => r) + interval '40 s',"
            " CASE WHEN r %% 24 = 0 THEN 'stock' ELSE 'delta' END,"
            " CASE WHEN r = 1 AND t.id %% 10 = 0 THEN 'failed' ELSE 'success' END,"
            ' %s::json, 300, 123456.78, 0, \'{"clearings": {"matched": 2}}\'::json'
            " FROM tenants t, generate_series(%s, 1, -1) r",
            (COUNTS, runs),
        )
        conn.execute("INSERT INTO triggers (tenant_id, tbl, method) SELECT id, 'debtor', 'put' FROM tenants")
        conn.execute("ANALYZE")


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = os.environ.get("DSOBRIDGE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    db = FleetDatabase(url, schema=f"b_{uuid.uuid4().hex[:12]}", application="dsobridge-bench", pool_size=8)
    try:
        migrate_web(db)
        registry = TenantRegistry(db, Keyring([Keyring.new_key()]))
        started = time.perf_counter()
        populate(registry, args.tenants, args.runs)
        print(f"{args.tenants} tenants x {args.runs} runs written in {time.perf_counter() - started:.1f} s")
        ctx = make_context(db, url, registry)
        ctx.users.add("admin", Secret(PASSWORD))
        with ctx.queue.open():
            measure(ctx, args)
    finally:
        db.drop_schema()


def measure(ctx, args: argparse.Namespace) -> None:
    app = build_app(ctx)
    floor = median_seconds(lambda: fleet_overview(ctx.db), args.repeat)
    with httpx2.Client(transport=InProcessTransport(app), base_url="http://fleet.test", timeout=300) as http:
        log_in(http)
        login = median_seconds(lambda: ctx.users.authenticate("admin", PASSWORD), args.repeat)
        page = median_seconds(lambda: http.get("/").raise_for_status(), args.repeat)
        size = len(http.get("/").content)
        tenant = median_seconds(lambda: http.get("/tenants/t00042").raise_for_status(), args.repeat)
        first_scrape = median_seconds(lambda: http.get("/metrics").raise_for_status(), 1)
        scrape = median_seconds(lambda: http.get("/metrics").raise_for_status(), args.repeat)
        scraped = len(http.get("/metrics").content)
        token = ctx.paths.token(registry_id(ctx, "t00042"))
        hook = f"http://fleet.test/hooks/{token}/"
        body = json.dumps({"method": "put", "table": "debtor", "result": {"module_id_": 10001}}).encode()
        headers = signed(hook, body, SECRETS["dynaccount_api_secret"])
        http.post(hook, content=body, headers=headers)  # the receiver built once
        webhook = median_seconds(
            lambda: http.post(hook, content=body, headers=headers).raise_for_status(), 20
        )
    load = os.getloadavg()[0]
    print(f"fleet_overview (floor): {floor * 1000:.0f} ms for {args.tenants} tenants")
    print(f"GET / : {page * 1000:.0f} ms ({size / 1e6:.1f} MB of HTML), {page / floor:.1f} x the floor")
    print(f"GET /tenants/<one> : {tenant * 1000:.0f} ms")
    print(
        f"GET /metrics : {scrape * 1000:.0f} ms ({scraped / 1e6:.2f} MB), {scrape / floor:.1f} x the floor;"
        f" the first scrape {first_scrape * 1000:.0f} ms"
    )
    print(
        f"webhook (verified, recorded, coalesced): {webhook * 1000:.1f} ms;"
        f" a password check (Argon2id): {login * 1000:.0f} ms"
    )
    print(f"load average {load:.2f}")


def registry_id(ctx, name: str) -> int:
    return ctx.registry.get(name).id


if __name__ == "__main__":
    main()
