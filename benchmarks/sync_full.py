"""A STOCK sync of a large company between the two sandboxes, each in its own process, against its floor.

For each size (default 1,000 debtors / 10,000 invoices, then 10,000 / 100,000):
- the Dynaccount sandbox and a fresh My DSO Manager sandbox run as separate server processes (uvicorn on
  loopback, counting TCP connections and HTTP requests);
- the sync runs in its own process (``run_sync``, STOCK): wall time, items/s, requests and connections per
  host, peak RSS of the sync process;
- the floor, in its own process against another fresh My DSO Manager: the same pages fetched by a bare
  keep-alive loop (one signed request per page, with the same ``select=`` field lists as the sync, from
  ``dsobridge.sync.fields.select_fields``) and the same files posted once. The floor also decodes each
  page's JSON (``json.loads(..., parse_float=Decimal)``, as the Dynaccount client does): no sync can use a
  page without decoding it. That decoding is timed apart and the ratio to the bare floor (pages left
  undecoded) is printed too.

Prints the figures and the ratios: sync / floor wall time (target ≤ 1.5), peak RSS (target ≤ 150 MB), and
peak RSS at the large size / at the small size (target ≤ 1.5).

    .venv/bin/python benchmarks/sync_full.py            # both sizes
    .venv/bin/python benchmarks/sync_full.py --quick    # 300 / 3,000 and 1,000 / 10,000
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import date
from pathlib import Path

TODAY = "2026-11-20"
PASSWORD = "bench-password"

SERVER = r"""
import json, sys
from datetime import date
from dsobridge.sandbox import LoopbackServer

kind, db = sys.argv[1], sys.argv[2]
today = date.fromisoformat(sys.argv[3])
if kind == "dynaccount":
    import os
    from dsobridge.sandbox.dynaccount import Credentials, DynaccountSandbox
    creds = Credentials(int(sys.argv[4]), os.environ["BENCH_API_KEY"], os.environ["BENCH_API_SECRET"])
    sandbox = DynaccountSandbox(db, today=today, credentials=creds)
else:
    from dsobridge.sandbox.mydso import MyDsoSandbox
    sandbox = MyDsoSandbox(db, accounts={"bench": sys.argv[4]}, today=today)  # a throwaway password
app = sandbox.app
requests = 0

async def counting(scope, receive, send):
    global requests
    if scope["type"] == "http":
        requests += 1
    await app(scope, receive, send)

server = LoopbackServer(counting).start()
print(json.dumps({"url": server.url}), flush=True)
for line in sys.stdin:
    if line.strip() == "reset":
        requests = 0
        server.connections = 0
    print(json.dumps({"connections": server.connections, "requests": requests}), flush=True)
"""

SYNC = r"""
import json, sys, time
from datetime import date
from pathlib import Path
from dsobridge.sync.config import load_config
from dsobridge.sync.engine import SyncOptions
from dsobridge.sync.runner import run_sync

config = load_config(sys.argv[1])
today = date.fromisoformat(sys.argv[2])
if sys.argv[3] != "-":  # write the files the sync would send, for the floor (not timed)
    options = SyncOptions(export_dir=Path(sys.argv[3]), force=True, allow_mismatch=True)
    export = run_sync(config, options, today=today)
    print(json.dumps({"exported": [[f.kind, f.path] for f in export.files if f.path]}), flush=True)
    raise SystemExit(0)
started = time.perf_counter()
result = run_sync(config, SyncOptions(mode="stock"), today=today)
wall = time.perf_counter() - started
peak = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])  # KiB
files = [[f.label, f.rows, f.sent] for f in result.files]
out = {"wall": wall, "status": result.status, "error": result.error, "files": files,
       "open_items": result.open_count, "requests": result.requests, "peak_kib": peak}
print(json.dumps(out), flush=True)
"""

FLOOR = r"""
import json, os, sys, time
from decimal import Decimal
from pathlib import Path
import httpx2
from dsobridge.dynaccount import signing
from dsobridge.sync.fields import select_fields

dyn_url, api_id, dso_url, password, files = sys.argv[1:6]
selects = {t: "select=" + ",".join(names) + "&" for t, names in select_fields().items()}  # what the sync asks
key, secret = os.environ["BENCH_API_KEY"], os.environ["BENCH_API_SECRET"]
files = json.loads(files)
tables = [
    ("debtor", ""), ("contact", ""), ("contact_user", ""),
    ("debtor_invoice_match", "is_matched=NO&"),
    ("debtor_invoice", "is_booked=YES&is_matched=NO&"),
    ("debtor_creditnote", "is_booked=YES&is_matched=NO&"),
    ("debtor_accounting_module", "type=PAYMENT&is_matched=NO&"),
]
host = dyn_url.split("://", 1)[1]
started = time.perf_counter()
requests = 0
decoding = 0.0  # the one thing every sync must do with a page: decode it (timed apart, reported)
with httpx2.Client(limits=httpx2.Limits(max_connections=1, max_keepalive_connections=1), timeout=120) as http:
    for table, where in tables:
        offset = 0
        while True:
            path = f"/v5/{api_id}/{key}/get/{table}/json/"
            query = f"{selects.get(table, '')}{where}order=id&limit={offset}%2C1000"
            digest = signing.compute_hash(signing.url_without_scheme(host, path, query), "", secret)
            r = http.post(f"{dyn_url}{path}?{query}", content=f"__api_hash={digest}",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
            requests += 1
            r.raise_for_status()
            t = time.perf_counter()
            rows = json.loads(r.content, parse_float=Decimal)["result"]  # no other work on the rows
            decoding += time.perf_counter() - t
            if len(rows) < 1000:
                break
            offset += 1000
    fetch = time.perf_counter() - started
    auth = httpx2.BasicAuth("bench", password)
    for kind, path in files:
        params = {"encoding": "UTF-8"}
        if kind == "items":
            params["clear_items_not_modified"] = "true" if path.endswith(".stock.csv") else "false"
        r = http.post(f"{dso_url}/api/{kind}", params=params, content=Path(path).read_bytes(), auth=auth,
                      headers={"Content-Type": "text/csv; charset=UTF-8"})
        r.raise_for_status()
        assert r.json().get("success") is True, r.text[:300]
wall = time.perf_counter() - started
peak = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])  # KiB
out = {"wall": wall, "fetch": fetch, "decoding": decoding, "requests": requests, "peak_kib": peak}
print(json.dumps(out), flush=True)
"""


class Server:
    def __init__(self, kind: str, db: Path, env: dict[str, str], api_id: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, kind, str(db), TODAY, str(api_id) if api_id else PASSWORD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.url = json.loads(self.proc.stdout.readline())["url"]

    def stats(self, reset: bool = False) -> dict[str, int]:
        self.proc.stdin.write("reset\n" if reset else "stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


def run_child(script: str, args: list[str], env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=900
    )
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def one_size(debtors: int, invoices: int, work: Path, reps: int) -> dict:
    from dsobridge.sandbox.dynaccount import DynaccountSandbox

    work.mkdir(parents=True, exist_ok=True)
    dyn_db = work / "dynaccount.sqlite3"
    t = time.perf_counter()
    with DynaccountSandbox(dyn_db, today=date.fromisoformat(TODAY)) as sandbox:
        counts = sandbox.seed(debtors=debtors, invoices=invoices, seed=1)
        api_id = sandbox.credentials.api_id
    seeded = time.perf_counter() - t
    key, secret = secrets.token_hex(20), secrets.token_hex(20)  # passed to the children in their environment
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSOBRIDGE_")}
    env.update(BENCH_API_KEY=key, BENCH_API_SECRET=secret)
    dyn = Server("dynaccount", dyn_db, env, api_id)
    child_env = {
        **env,
        "DSOBRIDGE_DYNACCOUNT_API_KEY": key,
        "DSOBRIDGE_DYNACCOUNT_API_SECRET": secret,
        "DSOBRIDGE_MYDSO_PASSWORD": PASSWORD,
    }

    def config_for(dso_url: str, state: str) -> Path:
        path = work / f"{state}.toml"
        path.write_text(
            textwrap.dedent(
                f"""\
                [dynaccount]
                api_id = {api_id}
                base_url = "{dyn.url}"
                page_size = 1000
                [mydso]
                base_url = "{dso_url}"
                login = "bench"
                [sync]
                state = "{state}.sqlite3"
                """
            ),
            encoding="utf-8",
        )
        return path

    syncs, floors = [], []
    try:
        exported = run_child(
            SYNC, [str(config_for("http://127.0.0.1:9", "export")), TODAY, str(work / "export")], child_env
        )
        files = exported["exported"]
        for rep in range(reps):
            dso_sync = Server("mydso", work / f"mydso-sync-{rep}.sqlite3", env)
            dso_floor = Server("mydso", work / f"mydso-floor-{rep}.sqlite3", env)
            try:
                dyn.stats(reset=True)
                sync = run_child(SYNC, [str(config_for(dso_sync.url, f"state-{rep}")), TODAY, "-"], child_env)
                if sync["status"] != "success":
                    raise SystemExit(f"sync did not succeed: {sync['status']} {sync['error']}")
                sync["dynaccount"] = dyn.stats()
                sync["mydso"] = dso_sync.stats()
                dyn.stats(reset=True)
                floor = run_child(
                    FLOOR, [dyn.url, str(api_id), dso_floor.url, PASSWORD, json.dumps(files)], env
                )
                syncs.append(sync)
                floors.append(floor)
            finally:
                dso_sync.stop()
                dso_floor.stop()
    finally:
        dyn.stop()
    best_sync = min(syncs, key=lambda r: r["wall"])
    best_sync["peak_kib"] = max(r["peak_kib"] for r in syncs)
    return {
        "debtors": debtors,
        "invoices": invoices,
        "seeded_s": seeded,
        "counts": counts,
        "sync": best_sync,
        "floor": min(floors, key=lambda r: r["wall"]),
        "reps": reps,
        "sync_walls": [round(r["wall"], 2) for r in syncs],
        "floor_walls": [round(r["wall"], 2) for r in floors],
    }


def report(r: dict) -> None:
    sync, floor = r["sync"], r["floor"]
    items = sync["open_items"]
    print(f"--- {r['debtors']:,} debtors / {r['invoices']:,} invoices (seeded in {r['seeded_s']:.1f} s)")
    print(f"sync  wall {sync['wall']:.2f} s · {items:,} open items · {items / sync['wall']:,.0f} items/s")
    dyn, dso = sync["dynaccount"], sync["mydso"]
    for host, stats in (("Dynaccount", dyn), ("My DSO Manager", dso)):
        print(f"      {host}: {stats['requests']} HTTP requests, {stats['connections']} TCP connection(s)")
    print(f"      files: {', '.join(f'{label} {rows}' for label, rows, sent in sync['files'] if sent)}")
    print(f"      peak RSS of the sync process {sync['peak_kib'] / 1024:.1f} MB (target ≤ 150)")
    print(
        f"floor wall {floor['wall']:.2f} s (pages {floor['fetch']:.2f} s of which JSON decoding "
        f"{floor['decoding']:.2f} s, {floor['requests']} requests) · "
        f"peak RSS {floor['peak_kib'] / 1024:.1f} MB"
    )
    print(f"ratio sync / floor = {sync['wall'] / floor['wall']:.2f}× (target ≤ 1.5), best of {r['reps']}")
    bare = floor["wall"] - floor["decoding"]
    print(f"      (sync / bare floor, pages not decoded: {bare:.2f} s = {sync['wall'] / bare:.2f}×)")
    print(f"      all walls: sync {r['sync_walls']} · floor {r['floor_walls']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (300/3,000 and 1,000/10,000)")
    parser.add_argument(
        "--reps", type=int, default=3, help="runs of the sync and of the floor (best is kept)"
    )
    args = parser.parse_args()
    sizes = [(300, 3_000), (1_000, 10_000)] if args.quick else [(1_000, 10_000), (10_000, 100_000)]
    results = []
    with tempfile.TemporaryDirectory(prefix="dsobridge-bench-") as tmp:
        for debtors, invoices in sizes:
            result = one_size(debtors, invoices, Path(tmp) / f"{debtors}-{invoices}", args.reps)
            report(result)
            results.append(result)
    small, large = results
    growth = large["sync"]["peak_kib"] / small["sync"]["peak_kib"]
    print(
        f"memory growth: peak RSS at {large['invoices']:,} invoices / at {small['invoices']:,} "
        f"= {growth:.2f}× "
        "(target ≤ 1.5)"
    )


if __name__ == "__main__":
    main()
