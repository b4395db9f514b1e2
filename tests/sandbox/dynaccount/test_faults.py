"""Fault injection, set over HTTP or as attributes, seen through the client in both reach modes."""

from __future__ import annotations

import time

import httpx2
import pytest
from sandbox_dynaccount_kit import SANDBOX_HOST

from dsobridge.dynaccount import BadResponse, DynaccountClient, RateLimited, ServerError, TransportError
from dsobridge.sandbox import InProcessTransport
from dsobridge.sandbox.dynaccount import DynaccountSandbox


def _operator(sb: DynaccountSandbox) -> httpx2.Client:
    return httpx2.Client(base_url=f"http://{SANDBOX_HOST}", transport=InProcessTransport(sb.app))


def test_sync_engine_scenario_fails_the_second_invoice_page(
    client: DynaccountClient, sb: DynaccountSandbox
) -> None:
    with _operator(sb) as op:
        settings = op.post(
            "/_sandbox/faults",
            json={"error_rate": 1, "error_status": 500, "tables": ["debtor_invoice"], "after": 1},
        ).json()
    assert (settings["error_rate"], settings["error_status"], settings["tables"], settings["after"]) == (
        1.0,
        500,
        ["debtor_invoice"],
        1,
    )
    assert len(client.get("debtor_invoice", limit=(0, 100))) == 100
    assert len(client.get("debtor", limit=(0, 5))) == 5  # other tables are not affected
    with pytest.raises(ServerError) as err:
        client.get("debtor_invoice", limit=(100, 100))
    assert err.value.status == 500
    assert err.value.error == {"server": "Injected server fault (sandbox)"}
    with pytest.raises(ServerError):
        client.get("debtor_invoice", limit=(100, 100))  # count is null: it keeps failing
    sb.faults.reset()
    assert len(client.get("debtor_invoice", limit=(100, 100))) == 100


def test_count_limits_the_faults(client: DynaccountClient, sb: DynaccountSandbox) -> None:
    sb.faults.update({"error_rate": 1, "count": 2})
    for _ in range(2):
        with pytest.raises(ServerError) as err:
            client.get("unit")
        assert err.value.status == 503
    assert len(client.get("unit")) == 3
    assert (sb.faults.seen, sb.faults.injected) == (3, 2)


def test_rate_limit_with_retry_after(client: DynaccountClient, sb: DynaccountSandbox) -> None:
    sb.faults.update({"rate_limit_rate": 1, "retry_after": 7})
    with pytest.raises(RateLimited) as err:
        client.get("unit")
    assert (err.value.status, err.value.retry_after) == (429, 7.0)
    assert err.value.error == {"rate_limit": "Too many requests"}


def test_broken_json(client: DynaccountClient, sb: DynaccountSandbox) -> None:
    sb.faults.update({"broken_json_rate": 1})
    with pytest.raises(BadResponse):
        client.get("unit")


def test_dropped_connection(client: DynaccountClient, sb: DynaccountSandbox, reach) -> None:
    sb.faults.update({"drop_rate": 1, "count": 1})
    with pytest.raises(TransportError):
        client.get("unit")
    assert len(client.get("unit")) == 3  # the client reconnects
    if reach.server is not None:
        assert reach.server.connections == 2


def test_latency(client: DynaccountClient, sb: DynaccountSandbox) -> None:
    sb.faults.latency_ms = 150
    started = time.perf_counter()
    client.get("unit")
    assert time.perf_counter() - started >= 0.15


def test_fault_settings_over_http(sb: DynaccountSandbox) -> None:
    with _operator(sb) as op:
        response = op.post("/_sandbox/faults", json={"error_rate": 2})
        assert (response.status_code, response.json()) == (
            400,
            {"error": {"request": "error_rate must be a number between 0 and 1"}},
        )
        response = op.post("/_sandbox/faults", json={"colour": 1})
        assert response.json() == {"error": {"request": "Unknown fault setting 'colour'"}}
        op.post("/_sandbox/faults", json={"webhook_fail_rate": 0.5, "count": 3, "retry_after": 2})
        current = op.get("/_sandbox/faults").json()
        assert (current["webhook_fail_rate"], current["count"], current["retry_after"]) == (0.5, 3, 2)
        reset = op.delete("/_sandbox/faults").json()
        assert (reset["webhook_fail_rate"], reset["count"], reset["error_status"], reset["tables"]) == (
            0.0,
            None,
            503,
            None,
        )


def test_faults_attribute_can_be_replaced(sb: DynaccountSandbox) -> None:
    sb.faults = {"error_rate": 0.25, "tables": ["debtor"]}
    assert (sb.faults.error_rate, sb.faults.tables, sb.faults.after) == (0.25, ["debtor"], 0)
    assert sb.faults.decide("unit") == ("none", 0.0)
