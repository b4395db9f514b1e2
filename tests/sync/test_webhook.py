"""The webhook receiver (verify, bound, record) and the trigger worker (waits for the lock, one run a
burst)."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsobridge.dynaccount.signing import compute_hash
from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sync.receiver import build_receiver
from dsobridge.sync.run import RunResult
from dsobridge.sync.scope import FULL, Scope
from dsobridge.sync.state import SqliteStateStore
from dsobridge.sync.triggers import TriggerWorker, scope_of
from dsobridge.sync.webhook import debtors_of, nesting_depth

SECRET = "0123456789abcdef0123456789abcdef01234567"
BODY = json.dumps(
    {"method": "insert", "table": "debtor_invoice", "result": {"id": 7, "module_id_": 10001}}
).encode()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, frozenset[str] | None]] = []

    def __call__(self, table, method, debtors):
        self.calls.append((table, method, debtors))
        return len(self.calls)


def client(app):
    return httpx2.Client(transport=InProcessTransport(app), base_url="http://hooks.test")


def signed(body: bytes, url: str = "hooks.test/dynaccount-webhook/") -> dict[str, str]:
    return {"X-Hash": compute_hash(url, body, SECRET)}


def test_verifies_both_variants_and_rejects_the_rest():
    record = Recorder()
    app = build_receiver(SECRET, record)
    with client(app) as http:
        r1 = http.post("/dynaccount-webhook/", content=BODY, headers=signed(BODY))
        r2 = http.post(
            "/dynaccount-webhook/",
            content=BODY,
            headers=signed(BODY, "http://hooks.test/dynaccount-webhook/"),
        )
        r3 = http.post("/dynaccount-webhook/", content=BODY, headers={"X-Hash": "0" * 40})
        r4 = http.post("/dynaccount-webhook/", content=BODY + b" ", headers=signed(BODY))
        status = http.get("/status").json()
    assert (r1.status_code, r1.json()) == (202, {"ok": True, "verified": "without_scheme", "trigger": 1})
    assert (r2.status_code, r2.json()["verified"]) == (202, "with_scheme")
    assert (r3.status_code, r3.json()["error"]) == (401, "BAD_HASH") and r4.status_code == 401
    assert record.calls == [("debtor_invoice", "insert", frozenset({"10001"}))] * 2
    assert status["webhooks"] == {
        "received": 4,
        "rejected": 2,
        "without_scheme": 1,
        "with_scheme": 1,
        "ignored": 0,
    }
    assert status["events"] == {"debtor_invoice:insert": 2}


def test_public_url_is_what_gets_hashed():
    app = build_receiver(SECRET, Recorder(), public_url="https://hooks.example.dk/dynaccount-webhook/")
    with client(app) as http:
        good = signed(BODY, "hooks.example.dk/dynaccount-webhook/")
        assert http.post("/dynaccount-webhook/", content=BODY, headers=good).status_code == 202
        assert http.post("/dynaccount-webhook/", content=BODY, headers=signed(BODY)).status_code == 401


def test_a_change_that_cannot_touch_receivables_is_verified_and_ignored():
    record = Recorder()
    body = json.dumps({"method": "put", "table": "product", "result": {"id": 3}}).encode()
    with client(build_receiver(SECRET, record)) as http:
        answer = http.post("/dynaccount-webhook/", content=body, headers=signed(body))
    assert answer.status_code == 202 and "ignored" in answer.json() and record.calls == []


def test_a_body_over_the_cap_is_refused_before_it_is_read_and_before_the_hash():
    """A 300 MB body announced by Content-Length: 413 at once, with no body read and nothing recorded."""
    record = Recorder()
    app = build_receiver(SECRET, record, max_body=1024)
    with LoopbackServer(app) as server, socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(
            b"POST /dynaccount-webhook/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 300000000\r\nX-Hash: " + b"0" * 40 + b"\r\n\r\n" + b"[" * 4096
        )
        sock.settimeout(5)
        answer = b""
        while b"TOO_LARGE" not in answer and (chunk := sock.recv(4096)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413") and b"TOO_LARGE" in answer
    assert record.calls == []


def test_a_chunked_body_over_the_cap_is_refused_while_it_streams():
    record = Recorder()
    app = build_receiver(SECRET, record, max_body=1024)

    def chunks():
        for _ in range(1000):
            yield b" " * 512

    with LoopbackServer(app) as server, httpx2.Client(base_url=server.url) as http:
        answer = http.post("/dynaccount-webhook/", content=chunks(), headers={"X-Hash": "0" * 40})
    assert answer.status_code == 413 and record.calls == []


def test_deep_nesting_with_a_valid_hash_is_a_400_not_a_500():
    body = b"[" * 100_000 + b"]" * 100_000
    app = build_receiver(SECRET, Recorder(), max_body=1 << 20, max_depth=32)
    with client(app) as http:
        answer = http.post("/dynaccount-webhook/", content=body, headers=signed(body))
    assert (answer.status_code, answer.json()["error"]) == (400, "TOO_DEEP")
    assert nesting_depth(b'{"a": "[[[[", "b": [[1]]}') == 3


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
    ),
    sign=st.booleans(),
    content_type=st.sampled_from(["application/json", "text/plain", "", "multipart/form-data"]),
)
def test_no_body_and_no_header_gives_a_5xx(body, sign, content_type):
    app = build_receiver(SECRET, Recorder(), max_body=4096, max_depth=8)
    headers = signed(body) if sign else {"X-Hash": "zz"}
    if content_type:
        headers["Content-Type"] = content_type
    with client(app) as http:
        answer = http.post("/dynaccount-webhook/", content=body, headers=headers)
    assert answer.status_code in (202, 400, 401, 413), answer.text


@pytest.mark.parametrize(
    ("payload", "debtors"),
    [
        (
            {
                "method": "insert",
                "table": "accounting",
                "result": {
                    "type": "DEBTOR_INVOICE",
                    "accountoff_id_": "10007",
                    "invoice_id_": "1001",
                    "amount": "-500.00",
                },
            },
            frozenset({"10007"}),
        ),
        (
            {
                "method": "insert",
                "table": "accounting",
                "result": [
                    {"type": "LEDGER", "account_id_": 5820, "accountoff_id_": ""},
                    {"type": "DEBTOR_INVOICE", "accountoff_id_": 10008, "account_id_": ""},
                ],
            },
            frozenset({"10008"}),
        ),
        (
            {"method": "insert", "table": "accounting", "result": {"type": "LEDGER", "account_id_": 1000}},
            frozenset(),
        ),
        (
            {"method": "put", "table": "debtor", "result": [{"id": 5, "module_id_": 10001}]},
            frozenset({"10001"}),
        ),
        ({"method": "delete", "table": "debtor", "result": {"id": 5}}, None),
        (
            {"method": "action", "table": "book_debtor_invoice", "result": [{"module_id_": 10002}]},
            frozenset({"10002"}),
        ),
        (
            {
                "method": "action",
                "table": "book_draft",
                "result": {"booked": 2, "lines": [{"type": "DEBTOR_INVOICE", "accountoff_id_": 10003}]},
            },
            frozenset({"10003"}),
        ),
        ({"method": "action", "table": "book_draft", "result": {"booked": 2}}, None),
        ({"method": "put", "table": "debtor_group", "result": {"id": 1}}, None),
        ({"method": "put", "table": "currency", "result": {"id": 1}}, None),
        ({"method": "put", "table": "something_new", "result": {"module_id_": 1}}, None),
        ({"method": "put", "table": "product", "result": {"id": 1}}, frozenset()),
        ({"method": "put", "table": "creditor_invoice", "result": {"module_id_": 9}}, frozenset()),
    ],
)
def test_what_a_webhook_touches(payload, debtors):
    assert debtors_of(payload) == debtors


def test_a_burst_runs_once_for_the_union_of_its_debtors_or_everything():
    from dsobridge.sync.state import Trigger

    def t(debtors):
        return Trigger(1, None, "accounting", "insert", debtors)  # type: ignore[arg-type]

    assert scope_of([t(("1",)), t(("2", "3"))]) == Scope.of(["1", "2", "3"])
    assert scope_of([t(("1",)), t(None)]) == FULL


class FakeRuns:
    """A sync that records its scopes; may fail, and may wait inside the run."""

    def __init__(self) -> None:
        self.scopes: list[str] = []
        self.fail = False
        self.overlaps = 0
        self._running = threading.Lock()

    def __call__(self, options, state):
        if not self._running.acquire(blocking=False):
            self.overlaps += 1
        try:
            state.acquire_lock()
            run_id = state.start_run("delta", scope=options.scope.describe())
            state.release_lock()
            self.scopes.append(options.scope.describe())
            status = "failed" if self.fail else "success"
            return RunResult(
                run_id,
                "delta",
                status,
                1 if self.fail else 0,
                scope=options.scope.describe(),
                error="HTTP 503" if self.fail else None,
            )
        finally:
            self._running.release()


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_triggers_wait_for_a_running_sync_then_run_once_and_survive_a_restart(tmp_path):
    path = tmp_path / "state.sqlite3"
    runs = FakeRuns()
    with SqliteStateStore(path) as holder, SqliteStateStore(path) as receiver:
        holder.acquire_lock()  # a nightly STOCK is running
        worker = TriggerWorker(lambda: SqliteStateStore(path), runs, debounce=0.05).start()
        try:
            for debtor in ("10001", "10002", "10001"):
                receiver.add_trigger("accounting", "insert", [debtor])
                worker.poke()
            time.sleep(0.5)
            assert runs.scopes == [] and len(receiver.pending_triggers()) == 3  # waiting for the lock
            holder.release_lock()
            wait_for(lambda: runs.scopes)
            time.sleep(0.3)
            assert runs.scopes == ["debtors:10001,10002"]  # one run for the burst
            assert receiver.trigger_counts()["done"] == 3
        finally:
            worker.close()
        # a trigger recorded while no worker runs is picked up by the next one (a restart)
        receiver.add_trigger("debtor_group", "put", None)
        restarted = TriggerWorker(lambda: SqliteStateStore(path), runs, debounce=0.05).start()
        try:
            wait_for(lambda: len(runs.scopes) == 2)
            assert runs.scopes[-1] == "full" and runs.overlaps == 0
        finally:
            restarted.close()


def test_a_failed_run_leaves_its_triggers_pending_and_is_tried_again(tmp_path):
    path = tmp_path / "state.sqlite3"
    runs = FakeRuns()
    runs.fail = True
    worker = TriggerWorker(lambda: SqliteStateStore(path), runs, debounce=0.01, backoff=0.2).start()
    try:
        with SqliteStateStore(path) as receiver:
            receiver.add_trigger("accounting", "insert", ["10001"])
            worker.poke()
            wait_for(lambda: len(runs.scopes) == 1)
            wait_for(lambda: receiver.last_trigger_failure() is not None)
            assert receiver.trigger_counts()["pending"] == 1
            assert receiver.last_trigger_failure().error == "HTTP 503"
            runs.fail = False
            wait_for(lambda: receiver.trigger_counts()["done"] == 1)
            assert len(runs.scopes) == 2
            status = worker.status(receiver)
            assert status["triggers"]["done"] == 1 and status["last_run"]["status"] == "success"
    finally:
        worker.close()
