"""Webhooks end to end over loopback: a payment booked while the nightly STOCK runs is not lost.

Issue: ``webhook serve`` ran its DELTA once; when a STOCK held the lock it got exit 3 and never ran again —
in 4 of 4 trials a payment booked during a STOCK stayed wrong at My DSO Manager until a later trigger.
Now the trigger is recorded, waits for the lock and runs (targeted at the payment's debtor) after it.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from decimal import Decimal

import httpx2
import pytest

from dsobridge.dynaccount.signing import compute_hash
from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox
from dsobridge.sandbox.dynaccount import ledger as dyn_ledger
from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.sync.config import load_config
from dsobridge.sync.receiver import build_receiver
from dsobridge.sync.run import SyncOptions
from dsobridge.sync.runner import run_sync
from dsobridge.sync.state import SqliteStateStore
from dsobridge.sync.triggers import TriggerWorker

TODAY = date(2026, 11, 20)
PASSWORD = "hook-password"
HOOK = "hooks.test/dynaccount-webhook/"


@pytest.fixture
def world(tmp_path, sync_config):
    dyn = DynaccountSandbox(tmp_path / "dyn.sqlite3", today=TODAY)
    dso = MyDsoSandbox(tmp_path / "dso.sqlite3", accounts={"acme": PASSWORD}, today=TODAY)
    dyn.seed(debtors=20, invoices=200, seed=11)
    with LoopbackServer(dyn.app) as dyn_srv, LoopbackServer(dso.app) as dso_srv:
        path, env = sync_config(tmp_path, dyn, dyn_srv.url, dso_srv.url, PASSWORD)
        config = load_config(path, env=env)
        yield dyn, dso, dso_srv, config, path, env
    dyn.close()
    dso.close()


def open_invoices(dyn) -> list[tuple[int, int, int]]:
    """(debtor number, invoice number, remaining in hundredths) of every open invoice."""
    with dyn.store.lock:
        return dyn.store.conn.execute(
            "SELECT module_id_, invoice_id_, _remaining FROM debtor_invoice"
            " WHERE is_booked = 'YES' AND _remaining > 0 ORDER BY invoice_id_"
        ).fetchall()


def book_payment(dyn, debtor: int, invoice: int, cents: int) -> None:
    with dyn.store.tx() as c:
        dyn_ledger.book_payment(c, debtor, cents, dyn.today, "Indbetaling", dyn.today, invoice_no=invoice)


def ledger_remaining(dso_url: str, key: str) -> Decimal:
    with httpx2.Client(auth=httpx2.BasicAuth("acme", PASSWORD)) as http:
        body = http.get(f"{dso_url}/ledger/items", params={"status": "all"}).json()
    rows = body["items"] if isinstance(body, dict) else body
    return next(Decimal(r["amount_open"]) for r in rows if r["item_key"] == key)


def test_a_payment_booked_during_a_running_stock_reaches_the_ledger_after_it(world, capsys):
    dyn, _, dso_srv, config, _, _ = world
    assert run_sync(config, SyncOptions(mode="stock"), today=TODAY).exit_code == 0
    worker = TriggerWorker(
        lambda: SqliteStateStore(config.state_path),
        lambda options, state: run_sync(config, options, state=state, today=TODAY),
        debounce=0.1,
    ).start()
    receiver_state = SqliteStateStore(config.state_path)

    def record(table, method, debtors):
        trigger = receiver_state.add_trigger(table, method, debtors)
        worker.poke()
        return trigger

    app = build_receiver(dyn.credentials.api_secret, record)
    hooks = httpx2.Client(transport=InProcessTransport(app), base_url="http://hooks.test")
    latencies = []
    try:
        for trial in range(20):
            candidates = open_invoices(dyn)
            debtor, invoice, remaining = candidates[(7 * trial) % len(candidates)]
            paid = remaining if trial % 2 else remaining // 2  # full and partial payments
            booked = threading.Event()

            def pay_during_the_stock(label, debtor=debtor, invoice=invoice, paid=paid, booked=booked):
                if label == "clients" and not booked.is_set():  # the STOCK holds the lock, mid-delivery
                    book_payment(dyn, debtor, invoice, paid)
                    body = json.dumps(
                        {
                            "method": "insert",
                            "table": "accounting",
                            "result": {
                                "type": "DEBTOR_INVOICE",
                                "accountoff_id_": debtor,
                                "invoice_id_": invoice,
                                "amount": f"-{paid / 100:.2f}",
                            },
                        }
                    ).encode()
                    answer = hooks.post(
                        "/dynaccount-webhook/",
                        content=body,
                        headers={"X-Hash": compute_hash(HOOK, body, dyn.credentials.api_secret)},
                    )
                    assert answer.status_code == 202, answer.text
                    booked.set()

            stock = run_sync(
                config, SyncOptions(mode="stock"), today=TODAY, after_delivery=pay_during_the_stock
            )
            ended = time.monotonic()
            assert stock.exit_code == 0 and booked.is_set(), stock.error
            expected = Decimal(remaining - paid) / 100
            key = f"INVOICE-{invoice}"
            while ledger_remaining(dso_srv.url, key) != expected:
                assert time.monotonic() - ended < 10, f"trial {trial}: {key} still wrong after 10 s"
                time.sleep(0.02)
            latencies.append(time.monotonic() - ended)
            while receiver_state.trigger_counts()["done"] < trial + 1:  # the delta's run has ended
                time.sleep(0.02)
    finally:
        worker.close()
        receiver_state.close()
        hooks.close()
    assert len(latencies) == 20
    with capsys.disabled():
        median, worst = statistics.median(latencies), max(latencies)
        print(f"\nwebhook during STOCK → ledger after the STOCK: median {median:.2f} s, max {worst:.2f} s")


def test_webhook_serve_as_a_process_records_and_syncs_and_survives_a_restart(world, tmp_path):
    """``dsobridge webhook serve`` on a real socket: a forged call is refused and starts nothing; a signed one
    is recorded and runs one targeted DELTA; a trigger recorded while the server is down runs at its start."""
    dyn, _, dso_srv, config, path, env = world
    assert run_sync(config, SyncOptions(mode="stock"), today=TODAY).exit_code == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    debtor, invoice, remaining = open_invoices(dyn)[0]
    book_payment(dyn, debtor, invoice, remaining)
    body = json.dumps(
        {
            "method": "insert",
            "table": "accounting",
            "result": {"type": "DEBTOR_INVOICE", "accountoff_id_": debtor, "invoice_id_": invoice},
        }
    ).encode()
    proc = serve(path, env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx2.Client(base_url=base, timeout=5) as http:
            wait_until_up(http, proc)
            forged = http.post("/dynaccount-webhook/", content=body, headers={"X-Hash": "0" * 40})
            assert forged.status_code == 401
            url = f"127.0.0.1:{port}/dynaccount-webhook/"
            ok = http.post(
                "/dynaccount-webhook/",
                content=body,
                headers={"X-Hash": compute_hash(url, body, dyn.credentials.api_secret)},
            )
            assert ok.status_code == 202 and ok.json()["verified"] == "without_scheme"
            status = wait_for_status(http, lambda s: s["triggers"]["done"] == 1)
            assert (
                status["last_run"]["status"] == "success"
                and status["last_run"]["scope"] == f"debtors:{debtor}"
            )
            assert status["webhooks"]["rejected"] == 1
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0].decode()
    assert ledger_remaining(dso_srv.url, f"INVOICE-{invoice}") == 0
    for secret in (dyn.credentials.api_key, dyn.credentials.api_secret, PASSWORD):
        assert secret not in output
    # down: a trigger recorded meanwhile (as by another receiver) is run when the server starts again
    debtor2, invoice2, remaining2 = open_invoices(dyn)[0]
    book_payment(dyn, debtor2, invoice2, remaining2)
    with SqliteStateStore(config.state_path) as state:
        state.add_trigger("accounting", "insert", [str(debtor2)])
    proc = serve(path, env, port)
    try:
        with httpx2.Client(base_url=base, timeout=5) as http:
            wait_until_up(http, proc)
            wait_for_status(http, lambda s: s["triggers"]["done"] == 2)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert ledger_remaining(dso_srv.url, f"INVOICE-{invoice2}") == 0


def serve(path, env, port):
    command = "from dsobridge.cli import cli; cli()"
    args = ["webhook", "serve", "--config", str(path), "--port", str(port), "--debounce", "0.1"]
    return subprocess.Popen(
        [sys.executable, "-c", command, *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_until_up(http, proc):
    deadline = time.monotonic() + 20
    while True:
        try:
            if http.get("/status").status_code == 200:
                return
        except httpx2.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)


def wait_for_status(http, done, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not done(status := http.get("/status").json()):
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    return status
