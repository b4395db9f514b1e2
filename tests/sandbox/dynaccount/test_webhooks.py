"""Webhooks: delivered after commit to a receiver on a loopback port, signed per spec §7, retried."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import pytest
from sandbox_dynaccount_kit import SANDBOX_HOST, Receiver

from dsobridge.dynaccount import DynaccountClient, ValidationError, verify_webhook
from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    with LoopbackServer(rec.app) as server:
        yield rec, f"{server.url}/hook/"


@pytest.fixture
def fast_sb(sb: DynaccountSandbox) -> DynaccountSandbox:
    sb.webhooks.retry_delays = (0.01, 0.02, 0.03)
    return sb


def test_put_triggers_a_signed_webhook(
    fast_sb: DynaccountSandbox, client: DynaccountClient, receiver
) -> None:
    rec, url = receiver
    fast_sb.subscribe_webhook(url, "debtor", "insert")
    created = client.put("debtor", 0, {"name": "Webhook ApS"})
    client.put("debtor", created["id"], {"city": "Odense C"})  # update: not subscribed
    client.put("unit", 0, {"name": "æske"})  # other table: not subscribed
    assert fast_sb.webhooks.wait_idle(5)
    assert len(rec.received) == 1
    body, x_hash = rec.received[0]
    assert verify_webhook(url, body, x_hash, fast_sb.credentials.api_secret) == "without_scheme"
    payload = json.loads(body)
    assert (payload["method"], payload["table"]) == ("insert", "debtor")
    assert (payload["result"]["id"], payload["result"]["name"]) == (created["id"], "Webhook ApS")
    assert fast_sb.webhooks.log[0]["delivered"] is True


def test_actions_and_deletes_with_wildcards(
    fast_sb: DynaccountSandbox, client: DynaccountClient, receiver
) -> None:
    rec, url = receiver
    fast_sb.subscribe_webhook(url, "*", "*")
    unit = client.put("unit", 0, {"name": "rulle"})
    client.delete("unit", unit["id"])
    client.action("get_next_enc_id_")
    with pytest.raises(ValidationError):
        client.put("unit", 0, {"name": "stk"})  # refused: nothing committed, nothing sent
    assert fast_sb.webhooks.wait_idle(5)
    events = [(json.loads(b)["method"], json.loads(b)["table"]) for b, _ in rec.received]
    assert events == [("insert", "unit"), ("delete", "unit"), ("action", "get_next_enc_id_")]
    assert json.loads(rec.received[1][0])["result"] == {"id": unit["id"]}


def test_failed_delivery_is_retried(fast_sb: DynaccountSandbox, client: DynaccountClient) -> None:
    rec = Receiver(fail_first=2)
    with LoopbackServer(rec.app) as server:
        fast_sb.subscribe_webhook(f"{server.url}/hook/", "unit", "insert")
        client.put("unit", 0, {"name": "spand"})
        assert fast_sb.webhooks.wait_idle(5)
    entry = fast_sb.webhooks.log[-1]
    assert (entry["attempts"], entry["delivered"], entry["status"]) == (3, True, 200)
    assert rec.calls == 3 and len(rec.received) == 1


def test_injected_webhook_failures_give_up(
    fast_sb: DynaccountSandbox, client: DynaccountClient, receiver
) -> None:
    rec, url = receiver
    fast_sb.faults.webhook_fail_rate = 1.0
    fast_sb.subscribe_webhook(url, "unit", "insert")
    client.put("unit", 0, {"name": "bundt"})
    assert fast_sb.webhooks.wait_idle(5)
    entry = fast_sb.webhooks.log[-1]
    assert (entry["attempts"], entry["delivered"], entry["error"]) == (4, False, "injected failure")
    assert rec.calls == 0


def test_operator_webhook_endpoints(fast_sb: DynaccountSandbox, receiver) -> None:
    rec, url = receiver
    with httpx2.Client(base_url=f"http://{SANDBOX_HOST}", transport=InProcessTransport(fast_sb.app)) as op:
        bad = op.post("/_sandbox/webhooks", json={"url": url, "table": "unit", "method": "upsert"})
        assert bad.status_code == 400
        sub = op.post("/_sandbox/webhooks", json={"url": url, "table": "debtor", "method": "action"}).json()
        assert (sub["table"], sub["method"]) == ("debtor", "action")
        fast_sb.webhooks.emit("action", "debtor", '{"id":1}')
        log = op.get("/_sandbox/webhooks/log", params={"wait": "1"}).json()["deliveries"]
    assert [(d["table"], d["method"], d["delivered"]) for d in log] == [("debtor", "action", True)]
    assert json.loads(rec.received[0][0]) == {"method": "action", "table": "debtor", "result": {"id": 1}}
