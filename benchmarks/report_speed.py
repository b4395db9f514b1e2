"""``dsobridge report aging|dso`` on a large company, against its floor and against the way it worked before.

For each size (default 500 debtors / 10,000 invoices, then 5,000 / 100,000 — the company of issue 11):
- a Dynaccount sandbox seeded in process, served by its own process (uvicorn on loopback,
  ``benchmarks/sync_full.py``'s server);
- **new**: the command itself, ``dsobridge report aging`` and ``report dso``, each a fresh process as a user
  runs it (plain output, off a terminal), best of ``--reps``;
- **floor**: a fresh process that makes the same reads (the same requests, field lists and filters) with the
  Dynaccount client, each page decoded and its rows dropped: the bare extraction of the same rows;
- **old**: a fresh process doing what the command did before (one filter per document table, whole rows, every
  item in memory, then ``aging``/``dso`` over the whole list), once; its figures (JSON) must equal the new
  command's ``--json`` output.

Each process's wall time includes starting Python and importing dsobridge; its peak RSS is its own (its
``VmHWM``, which the child writes to its stderr as it exits). Prints seconds and MB, the ratios new / floor
and old / new, the memory growth from the small size to the large one, and the load average before and after.

    .venv/bin/python benchmarks/report_speed.py                 # both sizes, with the old way (≈ 3 min)
    .venv/bin/python benchmarks/report_speed.py --no-old        # without the old way
    .venv/bin/python benchmarks/report_speed.py --quick         # 300 / 3,000 and 1,000 / 10,000
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

sys.path.insert(0, str(Path(__file__).parent))
from sync_full import TODAY, Server  # the Dynaccount sandbox in its own process

#: Prefixed to every child: its own peak RSS (VmHWM) as the last line of its stderr when it exits. (The
#: rusage of ``wait4`` would not do: Linux carries the parent's peak RSS at fork over into the child's.)
PEAK = r"""
import atexit, sys
def _peak():
    sys.stderr.write(next(line for line in open("/proc/self/status") if line.startswith("VmHWM")))
atexit.register(_peak)
"""
CLI = PEAK + "from dsobridge.cli import main\nmain()\n"

FLOOR = (
    PEAK
    + r"""
import json, sys
from dsobridge.sync.config import load_config
from dsobridge.sync.delivery import dynaccount_client
from dsobridge.sync.measures import DOCUMENT_READS, MATCH_STATES, REPORT_FIELDS

config = load_config(sys.argv[1])
reads = [("debtor", None), ("debtor_invoice_match", None)]
reads += [(table, {**where, "is_matched": s}) for _, table, where in DOCUMENT_READS for s in MATCH_STATES]
rows = 0
with dynaccount_client(config.dynaccount) as source:
    for table, where in reads:
        for _ in source.iter_rows(table, select=list(REPORT_FIELDS[table]), where=where, order="id"):
            rows += 1
print(json.dumps({"rows": rows}))
"""
)

OLD = (
    PEAK
    + r"""
import json, sys
from datetime import date
from dsobridge.sync.measure_tables import measures_json
from dsobridge.sync.config import load_config
from dsobridge.sync.delivery import dynaccount_client
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.measures import DOCUMENT_READS, allocations, document_item

config, what, as_of = load_config(sys.argv[1]), sys.argv[2], date.fromisoformat(sys.argv[3])
mapper = Mapper(config.mapping)
with dynaccount_client(config.dynaccount) as source:  # one filter per table, whole rows, all items held
    debtors = {i.number: i for i in map(mapper.debtor_info, source.iter_rows("debtor", order="id"))}
    allocated = allocations(source.iter_rows("debtor_invoice_match", order="id"))
    items = []
    for kind, table, where in DOCUMENT_READS:
        for row in source.iter_rows(table, where=where, order="id"):
            item = document_item(kind, row, debtors, allocated[kind], mapper.config.item_types)
            if item is not None:
                items.append(item)
print(json.dumps(measures_json(items, what, as_of, None)))
"""
)


def measured(args: list[str], env: dict[str, str]) -> dict:
    """Run ``python args…`` to its end: wall seconds, its own peak RSS (MB) and its stdout."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=1800)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{args[:3]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    peak_kib = int(proc.stderr.strip().splitlines()[-1].split()[1])
    return {"wall": wall, "peak_mb": peak_kib / 1024, "stdout": proc.stdout}


def best(runs: list[dict]) -> dict:
    return {**min(runs, key=lambda r: r["wall"]), "walls": [round(r["wall"], 2) for r in runs]}


def one_size(debtors: int, invoices: int, work: Path, reps: int, old: bool) -> dict:
    from dsobridge.sandbox.dynaccount import DynaccountSandbox

    work.mkdir(parents=True, exist_ok=True)
    db = work / "dynaccount.sqlite3"
    with DynaccountSandbox(db, today=date.fromisoformat(TODAY)) as sandbox:
        counts = sandbox.seed(debtors=debtors, invoices=invoices, seed=1)
        api_id = sandbox.credentials.api_id
    key, secret = secrets.token_hex(20), secrets.token_hex(20)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSOBRIDGE_")}
    env.update(BENCH_API_KEY=key, BENCH_API_SECRET=secret)
    dyn = Server("dynaccount", db, env, api_id)
    config = work / "dsobridge.toml"
    config.write_text(
        textwrap.dedent(
            f"""\
            [dynaccount]
            api_id = {api_id}
            base_url = "{dyn.url}"
            [mydso]
            base_url = "http://127.0.0.1:9"
            login = "bench"
            [sync]
            state = "state.sqlite3"
            """
        ),
        encoding="utf-8",
    )
    child = {
        **env,
        "DSOBRIDGE_CONFIG": str(config),
        "DSOBRIDGE_DYNACCOUNT_API_KEY": key,
        "DSOBRIDGE_DYNACCOUNT_API_SECRET": secret,
        "DSOBRIDGE_MYDSO_PASSWORD": "unused",
    }
    out: dict = {"debtors": debtors, "invoices": invoices, "counts": counts}
    try:
        floors, news = [], {"aging": [], "dso": []}
        for _ in range(reps):
            floors.append(measured(["-c", FLOOR, str(config)], child))
            for what in news:
                news[what].append(measured(["-c", CLI, "report", what, "--as-of", TODAY], child))
        out["floor"] = best(floors)
        out["rows"] = json.loads(out["floor"]["stdout"])["rows"]
        out["new"] = {what: best(runs) for what, runs in news.items()}
        for what in news:
            figures = measured(["-c", CLI, "report", what, "--as-of", TODAY, "--json"], child)["stdout"]
            out["new"][what]["json"] = json.loads(figures)
            if old:
                out.setdefault("old", {})[what] = before = measured(
                    ["-c", OLD, str(config), what, TODAY], child
                )
                before["same"] = json.loads(before["stdout"]) == out["new"][what]["json"]
    finally:
        dyn.stop()
    return out


def report(r: dict) -> None:
    floor = r["floor"]
    print(f"--- {r['debtors']:,} debtors / {r['invoices']:,} invoices ({r['rows']:,} rows read)")
    print(f"floor       {floor['wall']:6.2f} s  peak RSS {floor['peak_mb']:6.1f} MB   walls {floor['walls']}")
    for what, new in r["new"].items():
        print(
            f"report {what:5s}{new['wall']:6.2f} s  peak RSS {new['peak_mb']:6.1f} MB   walls {new['walls']}"
            f"   = {new['wall'] / floor['wall']:.2f}× the floor's time,"
            f" {new['peak_mb'] / floor['peak_mb']:.2f}× its RSS"
        )
    for what, before in r.get("old", {}).items():
        new = r["new"][what]
        print(
            f"old {what:5s}   {before['wall']:6.2f} s  peak RSS {before['peak_mb']:6.1f} MB"
            f"   = {before['wall'] / new['wall']:.1f}× the new time,"
            f" {before['peak_mb'] / new['peak_mb']:.2f}× its RSS"
            f" · figures {'identical' if before['same'] else 'DIFFERENT'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (300/3,000 and 1,000/10,000)")
    parser.add_argument(
        "--reps", type=int, default=3, help="runs of the floor and of each report (best kept)"
    )
    parser.add_argument(
        "--no-old", action="store_true", help="skip the old way (a minute a report at 100,000)"
    )
    args = parser.parse_args()
    sizes = [(300, 3_000), (1_000, 10_000)] if args.quick else [(500, 10_000), (5_000, 100_000)]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    results = []
    with tempfile.TemporaryDirectory(prefix="dsobridge-report-bench-") as tmp:
        for debtors, invoices in sizes:
            result = one_size(debtors, invoices, Path(tmp) / f"{invoices}", args.reps, not args.no_old)
            report(result)
            results.append(result)
    small, large = results
    for what in ("aging", "dso"):
        growth = large["new"][what]["peak_mb"] / small["new"][what]["peak_mb"]
        print(
            f"peak RSS of report {what} at {large['invoices']:,} / at {small['invoices']:,} invoices:"
            f" {growth:.2f}×"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if any(not before["same"] for r in results for before in r.get("old", {}).values()):
        raise SystemExit("the new figures differ from the old way's")


if __name__ == "__main__":
    main()
