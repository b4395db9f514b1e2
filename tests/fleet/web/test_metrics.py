"""/metrics: read with prometheus-client's own parser; runs counted once when they end; the fleet's gauges."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.fleet.test_tenants import SECRETS
from tests.fleet.web.conftest import make_context, record_run, signed

from dsobridge.fleet import FleetDatabase, PostgresStateStore, TenantRegistry
from dsobridge.fleet.web import build_app
from dsobridge.sandbox import InProcessTransport
from dsobridge.secret import Secret
from dsobridge.sync.state import RunOutcome


def samples(text: str) -> dict[str, dict[tuple, float]]:
    """``{sample name: {sorted labels: value}}``, parsed by prometheus-client (a bad exposition raises)."""
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def scrape(app, *, client=("127.0.0.1", 50000), headers=None) -> httpx2.Response:
    transport = InProcessTransport(app, client=client)
    with httpx2.Client(transport=transport, base_url="http://fleet.test") as http:
        return http.get("/metrics", headers=headers or {})


def test_runs_are_counted_once_when_they_end_whichever_worker_ran_them(fleet):
    db, metrics = fleet.ctx.db, fleet.ctx.metrics
    record_run(db, fleet.acme, "success", items=99)  # before this process started: not counted
    metrics.refresh()
    with PostgresStateStore(db.pool, fleet.beta.id) as state:
        running = state.start_run("stock")
    record_run(db, fleet.acme, "success", open_count=3, open_total=Decimal("10.00"), items=12)
    record_run(db, fleet.acme, "failed", error="HTTP 503", items=4)
    metrics.refresh()
    first = samples(metrics.exposition().decode())
    assert first["dsobridge_fleet_runs_total"] == {
        (("mode", "delta"), ("status", "success")): 1.0,
        (("mode", "delta"), ("status", "failed")): 1.0,
    }
    assert first["dsobridge_fleet_items_sent_total"] == {(): 16.0}
    with PostgresStateStore(db.pool, fleet.beta.id) as state:
        time.sleep(0.05)
        state.finish_run(running, RunOutcome("success", 0))
    metrics.refresh()
    metrics.refresh()  # a second scrape counts nothing twice
    second = samples(metrics.exposition().decode())
    assert second["dsobridge_fleet_runs_total"][(("mode", "stock"), ("status", "success"))] == 1.0
    assert second["dsobridge_fleet_run_duration_seconds_count"] == {
        (("mode", "delta"),): 2.0,
        (("mode", "stock"),): 1.0,
    }
    assert second["dsobridge_fleet_run_duration_seconds_sum"][(("mode", "stock"),)] > 0.04
    assert second["dsobridge_fleet_run_duration_seconds_bucket"][(("le", "+Inf"), ("mode", "stock"))] == 1.0
    fleet.ctx.registry.remove("acme")  # a removed tenant never makes a counter go down
    metrics.refresh()
    assert (
        samples(metrics.exposition().decode())["dsobridge_fleet_runs_total"]
        == second["dsobridge_fleet_runs_total"]
    )


def test_the_fleet_gauges_freshness_failures_and_the_queue(fleet):
    record_run(fleet.ctx.db, fleet.acme, "success", open_count=7)
    record_run(fleet.ctx.db, fleet.acme, "refused", error="the source looks wiped")
    fleet.ctx.queue.enqueue_sync(fleet.beta, "delta", "manual")
    time.sleep(0.2)
    got = samples(scrape(fleet.app).text)
    acme, beta = (("tenant", "acme"),), (("tenant", "beta"),)
    assert got["dsobridge_fleet_database_up"] == {(): 1.0}
    assert got["dsobridge_fleet_tenants"] == {(("state", "enabled"),): 2.0, (("state", "disabled"),): 0.0}
    assert got["dsobridge_fleet_tenants_failing"] == {(): 1.0}
    assert got["dsobridge_fleet_tenant_failing"] == {acme: 1.0, beta: 0.0}
    assert 0 <= got["dsobridge_fleet_tenant_freshness_seconds"][acme] < 60
    assert got["dsobridge_fleet_tenant_freshness_seconds"][beta] > 0  # never succeeded: since it was added
    assert got["dsobridge_fleet_tenant_open_items"] == {acme: 7.0}
    assert acme in got["dsobridge_fleet_tenant_last_run_duration_seconds"]
    assert got["dsobridge_fleet_queue_depth"] == {(): 1.0}
    assert got["dsobridge_fleet_queue_oldest_pending_seconds"][()] >= 0.2
    assert got["dsobridge_fleet_queue_jobs"][(("status", "todo"),)] == 1.0
    assert got["dsobridge_fleet_workers"] == {(): 0.0}
    fleet.ctx.registry.set_enabled("acme", False)  # a disabled tenant is not watched
    got = samples(scrape(fleet.app).text)
    assert (
        got["dsobridge_fleet_tenants_failing"] == {(): 0.0}
        and acme not in got["dsobridge_fleet_tenant_failing"]
    )


def test_webhook_answers_are_counted_by_status(fleet):
    body = json.dumps({"method": "put", "table": "debtor", "result": {"module_id_": 10001}}).encode()
    url = f"http://fleet.test/hooks/{fleet.token(fleet.acme)}/"
    with httpx2.Client(transport=InProcessTransport(fleet.app), base_url="http://fleet.test") as http:
        http.post(url, content=body, headers=signed(url, body, SECRETS["dynaccount_api_secret"]))
        http.post(url, content=body, headers={"X-Hash": "0" * 40})
        http.post("/hooks/" + "Q" * 32 + "/", content=body)
    got = samples(scrape(fleet.app).text)["dsobridge_fleet_webhooks_total"]
    assert got == {(("code", "202"),): 1.0, (("code", "401"),): 1.0, (("code", "404"),): 1.0}


def test_without_a_token_only_loopback_scrapes_and_with_one_the_bearer_must_match(fleet, pg_url):
    assert scrape(fleet.app, client=("10.1.2.3", 40000)).status_code == 403
    assert scrape(fleet.app, client=("::1", 40000)).status_code == 200
    ctx = make_context(fleet.ctx.db, pg_url, fleet.ctx.registry, metrics_token=Secret("s3cret-scrape-token"))
    app = build_app(ctx)
    remote = ("10.1.2.3", 40000)
    assert scrape(app, client=remote).status_code == 401
    assert scrape(app, client=remote, headers={"Authorization": "Bearer wrong"}).status_code == 401
    answer = scrape(app, client=remote, headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "text/plain; version=0.0.4"
    )


@pytest.mark.parametrize("path", ["/metrics", "/healthz"])
def test_a_database_that_does_not_answer(fleet, pg_url, path):
    lost = FleetDatabase("postgresql://postgres@127.0.0.1:1/none", schema=fleet.ctx.db.schema)
    lost.pool.timeout = 1
    ctx = make_context(lost, pg_url, TenantRegistry(lost, fleet.ctx.registry.keyring))
    with httpx2.Client(transport=InProcessTransport(build_app(ctx)), base_url="http://fleet.test") as http:
        answer = http.get(path)
    lost.close()
    if path == "/healthz":
        assert (answer.status_code, answer.json()) == (503, {"ok": False, "database": "down"})
    else:
        assert answer.status_code == 200 and samples(answer.text)["dsobridge_fleet_database_up"] == {(): 0.0}


def test_metrics_over_loopback(fleet):
    from dsobridge.sandbox import LoopbackServer

    record_run(fleet.ctx.db, fleet.beta, "success", open_count=1)
    with LoopbackServer(fleet.app) as server, httpx2.Client(base_url=server.url) as http:
        answer = http.get("/metrics")
    assert answer.status_code == 200
    assert samples(answer.text)["dsobridge_fleet_tenant_open_items"] == {(("tenant", "beta"),): 1.0}
