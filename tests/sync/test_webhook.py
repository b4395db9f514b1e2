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


def test_webhook_serve_runs_as_a_server_and_a_verified_call_syncs(tmp_path, sync_config):
    """``dsobridge webhook serve`` in its own process, on a real socket: a forged call is refused and starts
    nothing; a signed one starts one DELTA sync that fills the My DSO Manager sandbox."""
    import os
    import socket
    import subprocess
    import sys
    from datetime import date

    from dsobridge.sandbox import LoopbackServer
    from dsobridge.sandbox.dynaccount import DynaccountSandbox
    from dsobridge.sandbox.mydso import MyDsoSandbox
    from dsobridge.sync.state import StateStore

    today = date(2026, 11, 20)
    dyn = DynaccountSandbox(tmp_path / "dyn.sqlite3", today=today)
    dso = MyDsoSandbox(tmp_path / "dso.sqlite3", accounts={"acme": "hook-password"}, today=today)
    dyn.seed(debtors=10, invoices=80, seed=5)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LoopbackServer(dyn.app) as dyn_srv, LoopbackServer(dso.app) as dso_srv:
        config, secrets = sync_config(tmp_path, dyn, dyn_srv.url, dso_srv.url, "hook-password")
        env = {**os.environ, **secrets}
        command = "from dsobridge.cli import cli; cli()"
        args = ["webhook", "serve", "--config", str(config), "--port", str(port), "--debounce", "0.2"]
        proc = subprocess.Popen(
            [sys.executable, "-c", command, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx2.Client(base_url=base, timeout=5) as http:
                deadline = time.monotonic() + 20
                while True:
                    try:
                        if http.get("/status").status_code == 200:
                            break
                    except httpx2.TransportError:
                        pass
                    assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                    time.sleep(0.05)
                forged = http.post("/dynaccount-webhook/", content=BODY, headers={"X-Hash": "0" * 40})
                assert forged.status_code == 401
                time.sleep(0.4)  # longer than the debounce: a forged call must not start a sync
                assert http.get("/status").json()["syncs_run"] == 0
                url = f"127.0.0.1:{port}/dynaccount-webhook/"
                signed = compute_hash(url, BODY, dyn.credentials.api_secret)
                ok = http.post("/dynaccount-webhook/", content=BODY, headers={"X-Hash": signed})
                assert (ok.status_code, ok.json()) == (202, {"ok": True, "verified": "without_scheme"})
                while (status := http.get("/status").json())["syncs_run"] < 1:
                    assert time.monotonic() < deadline + 20, status
                    time.sleep(0.05)
            assert status["webhooks"] == {"received": 2, "rejected": 1, "without_scheme": 1, "with_scheme": 0}
            assert status["last_sync"]["status"] == "success" and status["sync_pending"] is False
        finally:
            proc.terminate()
            output = proc.communicate(timeout=10)[0].decode()
        with StateStore(tmp_path / "state.sqlite3") as state:
            runs = state.runs()
            assert [(r.id, r.mode, r.status) for r in runs] == [
                (status["last_sync"]["run_id"], "delta", "success")
            ]
            open_delivered = state.count("items", open_only=True)
        with httpx2.Client(auth=httpx2.BasicAuth("acme", "hook-password")) as http:
            ledger = http.get(f"{dso_srv.url}/ledger/items", params={"status": "open"}).json()
        rows = ledger["items"] if isinstance(ledger, dict) else ledger
        assert len(rows) == open_delivered == runs[0].open_count > 0
    assert f"delta sync run {runs[0].id}: success (exit 0)" in output
    for secret in (dyn.credentials.api_key, dyn.credentials.api_secret, "hook-password"):
        assert secret not in output
    dyn.close()
    dso.close()
