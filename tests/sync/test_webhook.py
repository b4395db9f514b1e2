"""The webhook receiver: X-Hash verification (both URL variants) and the debounced sync trigger."""

from __future__ import annotations

import json
import threading
import time

import httpx2

from dsobridge.commands.webhook import Debouncer, build_app
from dsobridge.dynaccount.signing import compute_hash
from dsobridge.sandbox import InProcessTransport

SECRET = "0123456789abcdef0123456789abcdef01234567"
BODY = json.dumps({"method": "insert", "table": "debtor_invoice", "result": {"id": 7}}).encode()


def client(app):
    return httpx2.Client(transport=InProcessTransport(app), base_url="http://hooks.test")


def test_verifies_both_variants_and_rejects_the_rest():
    pokes = []
    app = build_app(SECRET, lambda: pokes.append(1))
    with client(app) as http:
        bare = compute_hash("hooks.test/dynaccount-webhook/", BODY, SECRET)
        schemed = compute_hash("http://hooks.test/dynaccount-webhook/", BODY, SECRET)
        r1 = http.post("/dynaccount-webhook/", content=BODY, headers={"X-Hash": bare})
        r2 = http.post("/dynaccount-webhook/", content=BODY, headers={"X-Hash": schemed})
        r3 = http.post("/dynaccount-webhook/", content=BODY, headers={"X-Hash": "0" * 40})
        r4 = http.post("/dynaccount-webhook/", content=BODY + b" ", headers={"X-Hash": bare})
        status = http.get("/status").json()
    assert (r1.status_code, r1.json()) == (202, {"ok": True, "verified": "without_scheme"})
    assert (r2.status_code, r2.json()) == (202, {"ok": True, "verified": "with_scheme"})
    assert r3.status_code == 401 and r4.status_code == 401
    assert len(pokes) == 2
    assert status == {
        "webhooks": {"received": 4, "rejected": 2, "without_scheme": 1, "with_scheme": 1},
        "events": {"debtor_invoice:insert": 2},
    }


def test_public_url_is_what_gets_hashed():
    app = build_app(SECRET, lambda: None, public_url="https://hooks.example.dk/dynaccount-webhook/")
    with client(app) as http:
        good = compute_hash("hooks.example.dk/dynaccount-webhook/", BODY, SECRET)
        assert http.post("/dynaccount-webhook/", content=BODY, headers={"X-Hash": good}).status_code == 202
        local = compute_hash("hooks.test/dynaccount-webhook/", BODY, SECRET)
        assert http.post("/dynaccount-webhook/", content=BODY, headers={"X-Hash": local}).status_code == 401


def test_a_burst_of_pokes_runs_one_sync_and_never_two_at_once():
    running = threading.Lock()
    overlaps = []
    calls = []

    def action():
        if not running.acquire(blocking=False):
            overlaps.append(1)
            return None
        try:
            calls.append(time.monotonic())
            time.sleep(0.05)
            return len(calls)
        finally:
            running.release()

    debouncer = Debouncer(action, 0.1)
    try:
        for _ in range(5):
            debouncer.poke()
            time.sleep(0.01)
        deadline = time.monotonic() + 3
        while debouncer.runs < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert debouncer.runs == 1 and debouncer.last_result == 1
        debouncer.poke()
        while debouncer.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert debouncer.runs == 2 and not debouncer.pending
        assert overlaps == []
    finally:
        debouncer.close()
