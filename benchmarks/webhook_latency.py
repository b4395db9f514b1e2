"""Targeted deltas: a payment booked in the Dynaccount sandbox, its webhooks, and the My DSO Manager ledger.

A company with ``--open`` open items (default 100k; the issue's figure is ``--open 1M``) is seeded and
synced once (STOCK); then ``dsobridge webhook serve`` runs as its own process, subscribed to the Dynaccount
sandbox's webhooks (each process separate: the two sandboxes, the receiver, this script). Each trial books a
payment through the operator endpoint ``POST /_sandbox/payments`` (a voucher in a journal, its lines, booked:
the sandbox fires ``insert accounting`` and ``action book_draft`` webhooks) and times how long until the My
DSO Manager ledger shows the invoice's new open amount. The receiver runs ONE targeted delta per burst: the
debtor's rows only.

Prints: the median and max over ``--trials`` (target: median < 2 s at 1M), the Dynaccount requests a trial
cost, and the receiver's resident memory before and after the trials (flat). The floor: one one-row
request to Dynaccount and a one-row DELTA file posted to My DSO Manager, timed in the same run.

    .venv/bin/python benchmarks/webhook_latency.py [--open 100k|300k|1M] [--trials 20]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).parent))
import sync_full as bench


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS")).split()[1])


def open_invoices(db: Path, count: int) -> list[tuple[int, int, int]]:
    """(debtor, invoice number, open hundredths) of invoices open in full, spread over the company."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT module_id_, invoice_id_, _remaining FROM debtor_invoice WHERE is_booked = 'YES'"
            " AND _remaining = total_amount AND _remaining > 0 ORDER BY id LIMIT ?",
            (count * 997,),
        ).fetchall()
    return rows[::997][:count]


def ledger_open(http: httpx2.Client, url: str, client: str, key: str) -> Decimal | None:
    body = http.get(f"{url}/ledger/items", params={"status": "all", "client_code": client}).json()
    rows = body["items"] if isinstance(body, dict) else body
    return next((Decimal(r["amount_open"]) for r in rows if r["item_key"] == key), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", default="100k", choices=sorted(bench.SIZES))
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="dsobridge-hooks-") as tmp:
        work = Path(tmp)
        dyn_db, api_id, counts, seeded = bench.seed(work, bench.SIZES[args.open])
        print(f"seeded {counts.get('debtor', 0):,} debtors, {args.open} open items in {seeded:.0f} s")
        key, secret = secrets.token_hex(20), secrets.token_hex(20)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DSOBRIDGE_")}
        env.update(BENCH_API_KEY=key, BENCH_API_SECRET=secret)
        dyn = bench.Server("dynaccount", dyn_db, env, api_id)
        dso = bench.Server("mydso", work / "mydso.sqlite3", env)
        port = free_port()
        config = work / "dsobridge.toml"
        config.write_text(
            textwrap.dedent(
                f"""\
                [dynaccount]
                api_id = {api_id}
                base_url = "{dyn.url}"
                [mydso]
                base_url = "{dso.url}"
                login = "bench"
                timeout = 900
                [webhook]
                port = {port}
                debounce = 0.05
                """
            )
        )
        child_env = {
            **env,
            "DSOBRIDGE_DYNACCOUNT_API_KEY": key,
            "DSOBRIDGE_DYNACCOUNT_API_SECRET": secret,
            "DSOBRIDGE_MYDSO_PASSWORD": bench.PASSWORD,
        }
        serve = None
        try:
            t = time.perf_counter()
            first = bench.run_child(bench.SYNC, [str(config), bench.TODAY, "stock"], child_env)
            print(f"first STOCK: {first['status']} in {time.perf_counter() - t:.0f} s")
            serve = subprocess.Popen(
                [sys.executable, "-m", "dsobridge", "webhook", "serve", "--config", str(config)],
                env=child_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            hook = f"http://127.0.0.1:{port}"
            with (
                httpx2.Client(timeout=60) as http,
                httpx2.Client(auth=httpx2.BasicAuth("bench", bench.PASSWORD), timeout=60) as dso_http,
            ):
                wait_up(http, hook, serve)
                for table, method in (("accounting", "insert"), ("book_draft", "action")):
                    http.post(
                        f"{dyn.url}/_sandbox/webhooks",
                        json={"url": f"{hook}/dynaccount-webhook/", "table": table, "method": method},
                    )
                figures = trials(http, dso_http, dyn, dso.url, dyn_db, args.trials, serve.pid, hook)
                floor = floor_of(http, dso_http, dyn.url, dso.url)
        finally:
            if serve is not None:
                serve.terminate()
                serve.wait(timeout=30)
            dyn.stop()
            dso.stop()
    report(args, figures, floor)
    print(f"load average after: {os.getloadavg()}")


def wait_up(http: httpx2.Client, hook: str, serve: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if http.get(f"{hook}/healthz").status_code == 200:
                return
        except httpx2.TransportError:
            pass
        if serve.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("webhook serve did not start")
        time.sleep(0.1)


def trials(http, dso_http, dyn, dso_url, dyn_db, count, pid, hook) -> dict:
    before = rss_kib(pid)
    seconds, requests = [], []
    for debtor, invoice, cents in open_invoices(dyn_db, count):
        paid = cents // 2  # half: the item stays open with its new amount
        dyn.stats(reset=True)
        started = time.perf_counter()
        answer = http.post(
            f"{dyn.url}/_sandbox/payments",
            json={"module_id_": debtor, "amount": f"{paid / 100:.2f}", "invoice_id_": invoice},
        )
        answer.raise_for_status()
        expected = Decimal(cents - paid) / 100
        while ledger_open(dso_http, dso_url, str(debtor), f"INVOICE-{invoice}") != expected:
            if time.perf_counter() - started > 120:
                raise SystemExit(
                    f"INVOICE-{invoice} not updated after 120 s: {http.get(hook + '/status').text}"
                )
            time.sleep(0.01)
        seconds.append(time.perf_counter() - started)
        time.sleep(0.2)  # let the run end before the next trial
        requests.append(dyn.stats()["requests"] - 1)  # the payment call itself is not the sync's
    return {"seconds": seconds, "requests": requests, "rss_before": before, "rss_after": rss_kib(pid)}


def floor_of(http, dso_http, dyn_url, dso_url) -> float:
    """The least any delivery of a change costs: one round trip to the Dynaccount sandbox and a one-row file
    imported by the My DSO Manager sandbox."""
    started = time.perf_counter()
    http.get(f"{dyn_url}/_sandbox/clock").raise_for_status()
    body = '"client_code";"client_business_name"\r\n"F1";"Floor ApS"\r\n'
    dso_http.post(
        f"{dso_url}/api/clients", params={"encoding": "UTF-8"}, content=body.encode()
    ).raise_for_status()
    return time.perf_counter() - started


def report(args, figures: dict, floor: float) -> None:
    seconds = figures["seconds"]
    print(f"--- {args.open} open items: {len(seconds)} payments, booked → webhooks → targeted delta → ledger")
    print(
        f"latency median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s (target: median < 2 s);"
        f" floor (one read + one one-row file) {floor:.3f} s"
    )
    print(f"Dynaccount requests per trial: {sorted(set(figures['requests']))}")
    print(
        f"webhook serve RSS: {figures['rss_before'] / 1024:.1f} MiB before the trials, "
        f"{figures['rss_after'] / 1024:.1f} MiB after"
    )
    print(json.dumps({"seconds": [round(s, 3) for s in seconds]}))


if __name__ == "__main__":
    main()
