"""A STOCK sync of a large company between the two sandboxes, each in its own process, against its floor.

For each size (``--open 100k,300k,1M``: the number of open items; the company has a tenth as many debtors
and is seeded with 90 % of its invoices open), the Dynaccount sandbox and fresh My DSO Manager sandboxes run
as separate server processes (uvicorn on loopback, counting TCP connections and HTTP requests), and:

- the sync runs in its own process (``run_sync``, STOCK, fresh state): wall time, items/s, requests and
  connections per host, peak RSS, and the state file's bytes per delivered item;
- then a DELTA with nothing changed, on that state: its wall time and peak RSS;
- the floor, in its own process against another fresh My DSO Manager: a bare keep-alive loop fetching the
  same pages (one signed request per page, the same ``select=`` field lists, pages NOT decoded), then the same
  files posted once. Its JSON decoding (``json.loads(..., parse_float=Decimal)``, which any sync must do) is
  estimated from the first 50 pages (kept, decoded after the run, the time scaled to every page) and printed
  beside it.

Prints: sync / floor (target ≤ 1.2, and < 60 s at 1M), peak RSS (≤ 150 MB at 1M, ≤ 1.3× the 100k
figure), state bytes per item (≤ 100), the nothing-changed DELTA against the floor's fetch time (≤ 1×),
connections per host (1). Each figure is the best (min) of ``--reps`` runs.

    .venv/bin/python benchmarks/sync_full.py                  # 100k open items
    .venv/bin/python benchmarks/sync_full.py --open 100k,300k,1M --reps 3
    .venv/bin/python benchmarks/sync_full.py --quick          # 10k: a smoke run
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
from dsobridge.sync import SyncOptions, load_config, run_sync

config = load_config(sys.argv[1])
today = date.fromisoformat(sys.argv[2])
if sys.argv[3] not in ("stock", "delta"):  # write the files the sync would send, for the floor (not timed)
    options = SyncOptions(export_dir=Path(sys.argv[3]), force=True, allow_mismatch=True)
    export = run_sync(config, options, today=today)
    print(json.dumps({"exported": [[f.kind, f.path] for f in export.files if f.path]}), flush=True)
    raise SystemExit(0)
started = time.perf_counter()
result = run_sync(config, SyncOptions(mode=sys.argv[3]), today=today)
wall = time.perf_counter() - started
peak = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])  # KiB
files = [[f.label, f.rows, f.sent] for f in result.files]
state = sum(p.stat().st_size for p in config.state_path.parent.glob(config.state_path.name + "*"))
out = {"wall": wall, "status": result.status, "error": result.error, "files": files,
       "open_items": result.open_count, "requests": result.requests, "peak_kib": peak, "state_bytes": state}
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
page = int(os.environ.get("BENCH_PAGE_SIZE", "1000"))
started = time.perf_counter()
requests = 0
bodies = []  # the first 50 pages, kept only to estimate the decoding afterwards, apart from the fetch
with httpx2.Client(limits=httpx2.Limits(max_connections=1, max_keepalive_connections=1), timeout=120) as http:
    for table, where in tables:
        offset = 0
        while True:
            path = f"/v5/{api_id}/{key}/get/{table}/json/"
            query = f"{selects.get(table, '')}{where}order=id&limit={offset}%2C{page}"
            digest = signing.compute_hash(signing.url_without_scheme(host, path, query), "", secret)
            r = http.post(f"{dyn_url}{path}?{query}", content=f"__api_hash={digest}",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
            requests += 1
            r.raise_for_status()
            rows = r.content.count(b'"id"')  # how many rows, without decoding the page
            if len(bodies) < 50:
                bodies.append(r.content)
            if rows < page:
                break
            offset += page
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
t = time.perf_counter()
for b in bodies:
    json.loads(b, parse_float=Decimal)["result"]
decoding = (time.perf_counter() - t) * requests / max(len(bodies), 1)  # the first 50 pages' time, scaled
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
    """Run a script in a child process; ``BENCH_SYNC_SRC`` (another checkout's ``src``) puts that version of
    dsobridge under the sync — a before/after comparison on the same sandboxes and the same floor."""
    if script is SYNC and os.environ.get("BENCH_SYNC_SRC"):
        env = {**env, "PYTHONPATH": os.environ["BENCH_SYNC_SRC"]}
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=900
    )
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


SIZES = {"10k": 10_000, "100k": 100_000, "300k": 300_000, "1M": 1_000_000}
OPEN_SHARE = 0.9


def seed(work: Path, open_items: int) -> tuple[Path, int, dict, float]:
    """A company with ``open_items`` open invoices (a tenth as many debtors), seeded once per size."""
    from dsobridge.sandbox.dynaccount import DynaccountSandbox

    dyn_db = work / "dynaccount.sqlite3"
    t = time.perf_counter()
    with DynaccountSandbox(dyn_db, today=date.fromisoformat(TODAY)) as sandbox:
        counts = sandbox.seed(
            debtors=max(open_items // 10, 10),
            invoices=round(open_items / OPEN_SHARE),
            seed=1,
            open_share=OPEN_SHARE,
        )
        api_id = sandbox.credentials.api_id
    return dyn_db, api_id, counts, time.perf_counter() - t


def one_size(open_items: int, work: Path, reps: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    dyn_db, api_id, counts, seeded = seed(work, open_items)
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
        page = env.get("BENCH_PAGE_SIZE", "")
        path.write_text(
            textwrap.dedent(
                f"""\
                [dynaccount]
                api_id = {api_id}
                base_url = "{dyn.url}"
                {f"page_size = {page}" if page else ""}
                [mydso]
                base_url = "{dso_url}"
                login = "bench"
                timeout = 900
                [sync]
                state = "{state}.sqlite3"
                """
            ),
            encoding="utf-8",
        )
        return path

    syncs, deltas, floors = [], [], []
    try:
        exported = run_child(
            SYNC, [str(config_for("http://127.0.0.1:9", "export")), TODAY, str(work / "export")], child_env
        )
        files = exported["exported"]
        for rep in range(reps):
            dso_sync = Server("mydso", work / f"mydso-sync-{rep}.sqlite3", env)
            dso_floor = Server("mydso", work / f"mydso-floor-{rep}.sqlite3", env)
            try:
                config = str(config_for(dso_sync.url, f"state-{rep}"))
                dyn.stats(reset=True)
                sync = run_child(SYNC, [config, TODAY, "stock"], child_env)
                if sync["status"] != "success":
                    raise SystemExit(f"sync did not succeed: {sync['status']} {sync['error']}")
                sync["dynaccount"], sync["mydso"] = dyn.stats(), dso_sync.stats()
                dyn.stats(reset=True)
                delta = run_child(SYNC, [config, TODAY, "delta"], child_env)
                delta["dynaccount"] = dyn.stats()
                dyn.stats(reset=True)
                floor = run_child(
                    FLOOR, [dyn.url, str(api_id), dso_floor.url, PASSWORD, json.dumps(files)], env
                )
                syncs.append(sync)
                deltas.append(delta)
                floors.append(floor)
            finally:
                dso_sync.stop()
                dso_floor.stop()
                for leftover in work.glob(f"mydso-*-{rep}.sqlite3*"):
                    leftover.unlink()
    finally:
        dyn.stop()
    return {
        "open": open_items,
        "seeded_s": seeded,
        "counts": counts,
        "sync": min(syncs, key=lambda r: r["wall"]),
        "sync_peak_kib": max(r["peak_kib"] for r in syncs),
        "delta": min(deltas, key=lambda r: r["wall"]),
        "floor": min(floors, key=lambda r: r["wall"]),
        "reps": reps,
        "sync_walls": [round(r["wall"], 2) for r in syncs],
        "floor_walls": [round(r["wall"], 2) for r in floors],
    }


def report(r: dict) -> None:
    sync, delta, floor = r["sync"], r["delta"], r["floor"]
    items = sync["open_items"]
    debtors = r["counts"].get("debtor", 0)
    print(f"--- {r['open']:,} open items ({debtors:,} debtors; seeded in {r['seeded_s']:.0f} s)")
    print(f"sync  STOCK {sync['wall']:.2f} s · {items:,} open items · {items / sync['wall']:,.0f} items/s")
    for host, stats in (("Dynaccount", sync["dynaccount"]), ("My DSO Manager", sync["mydso"])):
        print(f"      {host}: {stats['requests']} HTTP requests, {stats['connections']} TCP connection(s)")
    print(f"      files: {', '.join(f'{label} {rows}' for label, rows, sent in sync['files'] if sent)}")
    per_item = sync["state_bytes"] / items
    print(f"      peak RSS {r['sync_peak_kib'] / 1024:.1f} MiB · state {per_item:.0f} bytes per item")
    print(
        f"floor {floor['wall']:.2f} s (bare page loop {floor['fetch']:.2f} s, {floor['requests']} requests;"
        f" + files posted) · decoding those pages would add ≈ {floor['decoding']:.2f} s est. (first 50 pages)"
    )
    print(f"ratio sync / floor = {sync['wall'] / floor['wall']:.2f}× (target ≤ 1.2), best of {r['reps']}")
    versus = delta["wall"] / floor["fetch"]
    print(
        f"DELTA, nothing changed: {delta['wall']:.2f} s = {versus:.2f}× the floor's fetch (target ≤ 1) · "
        f"{delta['dynaccount']['requests']} requests · peak RSS {delta['peak_kib'] / 1024:.1f} MiB"
    )
    print(f"      all walls: sync {r['sync_walls']} · floor {r['floor_walls']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--open", default="100k", help="open items per size: 10k, 100k, 300k, 1M (comma-separated)"
    )
    parser.add_argument("--quick", action="store_true", help="one 10k size, one run")
    parser.add_argument("--reps", type=int, default=3, help="runs of the sync and of the floor (min is kept)")
    args = parser.parse_args()
    sizes = ["10k"] if args.quick else [s.strip() for s in args.open.split(",")]
    reps = 1 if args.quick else args.reps
    results = []
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="dsobridge-bench-") as tmp:
        for size in sizes:
            result = one_size(SIZES[size], Path(tmp) / size, reps)
            report(result)
            results.append(result)
    print(f"load average after: {os.getloadavg()}")
    if len(results) > 1:
        base, top = results[0], results[-1]
        growth = top["sync_peak_kib"] / base["sync_peak_kib"]
        print(f"memory growth: peak RSS at {top['open']:,} / at {base['open']:,} open items = {growth:.2f}×")


if __name__ == "__main__":
    main()
