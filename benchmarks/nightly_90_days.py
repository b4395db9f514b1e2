"""90 simulated days of the seeded demo company left alone: how many nightly STOCK runs are refused?

Each day the Dynaccount sandbox moves one day on (new invoices, payments as booked vouchers, credit notes),
a DELTA runs every third day during the day, and the nightly STOCK runs; after every run the My DSO Manager
sandbox ledger is compared with Dynaccount's open items, item by item. Then the webhook latency OUTSIDE a
running STOCK: 20 payments, each followed by its webhook, timed until the ledger shows it (a targeted delta).
(The latency DURING a running STOCK is measured by tests/sync/test_webhook_e2e.py.)

    .venv/bin/python benchmarks/nightly_90_days.py [--days 90] [--debtors 300] [--invoices 5000]

Prints: runs refused (target 0), runs failed, days on which the ledgers disagreed after any run (target 0),
runs after which they disagreed (target 0), clearings by reason, the webhook latency median / max. Not a speed
benchmark: no floor ratio applies.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx2

from dsobridge.dynaccount.signing import compute_hash
from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox
from dsobridge.sandbox.dynaccount import ledger as dyn_ledger
from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.sync.config import load_config
from dsobridge.sync.delivery import Endpoints
from dsobridge.sync.extract import Extractor
from dsobridge.sync.openitems import open_items
from dsobridge.sync.receiver import build_receiver
from dsobridge.sync.run import SyncOptions
from dsobridge.sync.runner import run_sync
from dsobridge.sync.state import SqliteStateStore
from dsobridge.sync.triggers import TriggerWorker

PASSWORD = "bench-90-days"
START = date(2026, 9, 1)


def write_config(folder: Path, dyn: DynaccountSandbox, dyn_url: str, dso_url: str) -> tuple[Path, dict]:
    path = folder / "dsobridge.toml"
    path.write_text(
        f'[dynaccount]\napi_id = {dyn.credentials.api_id}\nbase_url = "{dyn_url}"\n'
        f'[mydso]\nbase_url = "{dso_url}"\nlogin = "acme"\n[filters]\nexclude_groups = ["Koncern"]\n'
    )
    env = {
        "DSOBRIDGE_DYNACCOUNT_API_KEY": dyn.credentials.api_key,
        "DSOBRIDGE_DYNACCOUNT_API_SECRET": dyn.credentials.api_secret,
        "DSOBRIDGE_MYDSO_PASSWORD": PASSWORD,
    }
    return path, env


def dynaccount_open(config) -> dict[str, Decimal]:
    with Endpoints(config) as ends:
        ex = Extractor(ends.source)
        excluded = {str(d["module_id_"]) for d in ex.debtors() if d.get("module_group_name") == "Koncern"}
        items = open_items(
            matches=ex.open_matches(),
            invoices=ex.open_invoices(),
            creditnotes=ex.open_creditnotes(),
            payments=ex.open_payments(),
        )
        return {i.unique_key: i.remaining for i in items if i.debtor not in excluded}


def ledger_open(http: httpx2.Client, url: str) -> dict[str, Decimal]:
    body = http.get(f"{url}/ledger/items", params={"status": "open"}).json()
    rows = body["items"] if isinstance(body, dict) else body
    return {r["item_key"]: Decimal(r["amount_open"]) for r in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--debtors", type=int, default=300)
    parser.add_argument("--invoices", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dsobridge-90-days-") as tmp:
        folder = Path(tmp)
        dyn = DynaccountSandbox(folder / "dyn.sqlite3", today=START)
        dso = MyDsoSandbox(folder / "dso.sqlite3", accounts={"acme": PASSWORD}, today=START)
        dyn.seed(debtors=args.debtors, invoices=args.invoices, seed=1)
        with (
            LoopbackServer(dyn.app) as dyn_srv,
            LoopbackServer(dso.app) as dso_srv,
            httpx2.Client(auth=httpx2.BasicAuth("acme", PASSWORD), timeout=60) as http,
        ):
            path, env = write_config(folder, dyn, dyn_srv.url, dso_srv.url)
            config = load_config(path, env=env)
            outcome = simulate(args.days, dyn, dso, config, http, dso_srv.url)
            latencies = webhook_latency(dyn, config, http, dso_srv.url)
        dyn.close()
        dso.close()
    print(json.dumps({**outcome, "webhook_latency_outside_stock_s": latencies}, indent=1))
    return 0 if outcome["stock_refused"] == 0 and outcome["days_disagreeing"] == 0 else 1


def simulate(days: int, dyn, dso, config, http, dso_url: str) -> dict:
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    disagreeing: list[int] = []  # the days on which the ledgers disagreed after any run
    runs_disagreeing = 0
    first = run_sync(config, SyncOptions(mode="stock", history_months=6), today=dyn.today)
    statuses[f"stock:{first.status}"] += 1
    for day in range(1, days + 1):
        dyn.advance(1, seed=day)
        dso.today = dyn.today
        runs = [SyncOptions(mode="delta")] if day % 3 == 0 else []
        for options in [*runs, SyncOptions(mode="stock")]:
            result = run_sync(config, options, today=dyn.today)
            statuses[f"{options.mode}:{result.status}"] += 1
            reasons.update(c.reason for c in result.clearings)
            if result.status != "success":
                print(f"day {day} {options.mode}: {result.status}: {result.error}", file=sys.stderr)
            if ledger_open(http, dso_url) != dynaccount_open(config):
                runs_disagreeing += 1
                if not disagreeing or disagreeing[-1] != day:
                    disagreeing.append(day)
    return {
        "days": days,
        "runs": dict(statuses),
        "stock_refused": statuses["stock:refused"],
        "failed": sum(n for k, n in statuses.items() if k.endswith(":failed")),
        "days_disagreeing": len(disagreeing),
        "runs_disagreeing": runs_disagreeing,
        "clearings_by_reason": dict(reasons),
    }


def webhook_latency(dyn, config, http, dso_url: str, trials: int = 20) -> dict:
    """A payment, then its webhook (receiver and trigger worker): seconds until the ledger shows it."""
    worker = TriggerWorker(
        lambda: SqliteStateStore(config.state_path),
        lambda options, state: run_sync(config, options, state=state, today=dyn.today),
        debounce=0.05,
    ).start()
    state = SqliteStateStore(config.state_path)

    def record(table, method, debtors):
        trigger = state.add_trigger(table, method, debtors)
        worker.poke()
        return trigger

    hooks = httpx2.Client(
        transport=InProcessTransport(build_receiver(dyn.credentials.api_secret, record)), base_url="http://h"
    )
    seconds = []
    try:
        for trial in range(trials):
            with dyn.store.lock:
                candidates = dyn.store.conn.execute(
                    "SELECT i.module_id_, i.invoice_id_, i._remaining FROM debtor_invoice i JOIN debtor d"
                    " ON d.module_id_ = i.module_id_ WHERE i.is_booked = 'YES' AND i._remaining > 0"
                    " AND d.module_group_name != 'Koncern' ORDER BY i.invoice_id_"
                ).fetchall()
            debtor, invoice, remaining = candidates[(7 * trial) % len(candidates)]
            with dyn.store.tx() as c:
                dyn_ledger.book_payment(
                    c, debtor, remaining, dyn.today, "Indbetaling", dyn.today, invoice_no=invoice
                )
            body = json.dumps(
                {
                    "method": "insert",
                    "table": "accounting",
                    "result": {"type": "DEBTOR_INVOICE", "accountoff_id_": debtor, "invoice_id_": invoice},
                }
            ).encode()
            started = time.monotonic()
            signature = compute_hash("h/dynaccount-webhook/", body, dyn.credentials.api_secret)
            hooks.post("/dynaccount-webhook/", content=body, headers={"X-Hash": signature})
            while f"INVOICE-{invoice}" in ledger_open(http, dso_url):
                if time.monotonic() - started > 60:
                    raise RuntimeError(f"INVOICE-{invoice} still open at My DSO Manager after 60 s")
                time.sleep(0.01)
            seconds.append(time.monotonic() - started)
    finally:
        worker.close()
        state.close()
        hooks.close()
    return {"trials": trials, "median": round(statistics.median(seconds), 3), "max": round(max(seconds), 3)}


if __name__ == "__main__":
    raise SystemExit(main())
