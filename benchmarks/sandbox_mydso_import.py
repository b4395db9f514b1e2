"""A 1,000,000-row STOCK items import into the My DSO Manager sandbox, beside a floor measured in the same
run.

floor  = csv.reader over the same file + executemany of its rows into a table shaped like ``item`` (same
         primary key, same pragmas), nothing else;
import = ``MyDsoSandbox.import_file`` (parse, validate, stage, apply, events, one transaction) on a fresh
         store,
         then the same file again (every row unchanged), then over HTTP on a loopback socket (streamed body).

Each measurement runs in a child process so that its peak RSS is its own. Usage:
    .venv/bin/python benchmarks/sandbox_mydso_import.py [ROWS]     (default 1,000,000; memory also at ROWS/10)
Targets: >= 50,000 rows/s, >= 0.4x the floor, peak memory flat from 100k to 1M rows.
"""

from __future__ import annotations

import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

CLIENTS = 2000
HEADER = (
    "item_type", "item_number", "client_code", "item_date_issue", "item_date_due",
    "item_amount_initial_inc_tax", "item_amount_remaining_inc_tax", "item_currency",
)  # fmt: skip


def write_items(path: Path, rows: int) -> None:
    start = date(2025, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(";".join(f'"{h}"' for h in HEADER) + "\r\n")
        for i in range(rows):
            issue = start + timedelta(days=i % 365)
            due = issue + timedelta(days=30)
            amount = f"{(i * 7919) % 100000 + 1}.{i % 100:02d}"
            fields = ("FAC", f"{i:08d}", f"C{i % CLIENTS:05d}", issue.isoformat(), due.isoformat(), amount,
                      amount, "DKK")  # fmt: skip
            fh.write(";".join(f'"{v}"' for v in fields) + "\r\n")


def clients_csv() -> bytes:
    lines = ['"client_code";"client_business_name"']
    lines += [f'"C{i:05d}";"Client {i}"' for i in range(CLIENTS)]
    return ("\r\n".join(lines) + "\r\n").encode()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_floor(path: Path, workdir: Path) -> dict:
    from dsobridge.sandbox.mydso import Store

    store = Store(workdir / "floor.sqlite3")  # same schema and pragmas as the sandbox
    conn = store.writer
    base = peak_rss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    conn.execute("BEGIN IMMEDIATE")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        next(reader)
        conn.executemany(
            "INSERT INTO item (account, item_key, client_code, item_type, item_number, issue_date, "
            "due_date, currency, amount_initial, amount_remaining, payment_date, cleared_by, data, "
            "created_on, updated_on) "
            "VALUES ('bench', ?3 || '|' || ?1 || '|' || ?2 || '|' || substr(?4, 1, 4), "
            "?3, ?1, ?2, ?4, ?5, ?8, ?6, ?7, NULL, NULL, '{}', '2025-12-31', '2025-12-31')",
            reader,
        )
    conn.execute("COMMIT")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    store.close()
    return {"seconds": seconds, "cpu": cpu, "peak_mib": peak_rss_mib() - base}


def child_import(path: Path, workdir: Path, rows: int) -> dict:
    import io

    from dsobridge.sandbox.mydso import ImportOptions, MyDsoSandbox

    sb = MyDsoSandbox(workdir / "sandbox.sqlite3", accounts={"bench": "bench"}, today=date(2025, 12, 31))
    assert sb.import_file("bench", "clients", io.BytesIO(clients_csv()))["added"] == CLIENTS
    base = peak_rss_mib()
    figures = {}
    for label in ("first", "again"):
        t0, c0 = time.perf_counter(), time.process_time()
        with path.open("rb") as fh:
            report = sb.import_file("bench", "items", fh, ImportOptions(stock=True))
        figures[label] = time.perf_counter() - t0
        figures[label + "_cpu"] = time.process_time() - c0
        assert report["success"] and report["rows"] == rows and report["rejected"] == 0, report
    assert report["unchanged"] == rows
    figures["peak_mib"] = peak_rss_mib() - base
    sb.close()
    return figures


def child_http(path: Path, workdir: Path, rows: int) -> dict:
    import io

    import httpx2

    from dsobridge.sandbox import LoopbackServer
    from dsobridge.sandbox.mydso import MyDsoSandbox

    sb = MyDsoSandbox(workdir / "http.sqlite3", accounts={"bench": "bench"}, today=date(2025, 12, 31))
    sb.import_file("bench", "clients", io.BytesIO(clients_csv()))
    base = peak_rss_mib()
    with LoopbackServer(sb.app) as server, httpx2.Client(base_url=server.url, timeout=600) as client:
        t0 = time.perf_counter()
        with path.open("rb") as fh:
            response = client.post(
                "/api/items?clear_items_not_modified=true", content=_chunks(fh), auth=("bench", "bench")
            )
        seconds = time.perf_counter() - t0
    report = response.json()
    assert report["success"] and report["added"] == rows, report
    sb.close()
    return {"seconds": seconds, "peak_mib": peak_rss_mib() - base}


def _chunks(fh):
    while chunk := fh.read(1 << 16):
        yield chunk


def run_child(kind: str, path: Path, rows: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-mydso-") as workdir:
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(path), str(rows), workdir],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    small = max(1, rows // 10)
    with tempfile.TemporaryDirectory(prefix="bench-mydso-files-") as tmp:
        big, little = Path(tmp) / "items_big.csv", Path(tmp) / "items_small.csv"
        write_items(big, rows)
        write_items(little, small)
        size_mib = big.stat().st_size / 2**20
        floor = run_child("floor", big, rows)
        imp = run_child("import", big, rows)
        imp_small = run_child("import", little, small)
        http = run_child("http", big, rows)
    floor_rate, floor_cpu_rate = rows / floor["seconds"], rows / floor["cpu"]
    print(f"file: {rows:,} rows, {size_mib:.1f} MiB (quoted, ';', CRLF, ISO dates); wall and CPU time")
    line("floor: csv.reader + executemany", rows, floor["seconds"], floor["cpu"], floor_rate, floor_cpu_rate)
    line("import STOCK, fresh account", rows, imp["first"], imp["first_cpu"], floor_rate, floor_cpu_rate)
    line(
        "import STOCK again, all unchanged", rows, imp["again"], imp["again_cpu"], floor_rate, floor_cpu_rate
    )
    line("import STOCK over loopback HTTP", rows, http["seconds"], None, floor_rate, floor_cpu_rate)
    print("targets: >= 50,000 rows/s and >= 0.40x the floor (fresh account)")
    growth = imp["peak_mib"] / max(imp_small["peak_mib"], 0.1)
    print(
        f"peak RSS growth during import: {small:,} rows {imp_small['peak_mib']:.1f} MiB, "
        f"{rows:,} rows {imp['peak_mib']:.1f} MiB (x{growth:.2f}); floor {floor['peak_mib']:.1f} MiB, "
        f"HTTP {http['peak_mib']:.1f} MiB"
    )


def line(
    label: str, rows: int, seconds: float, cpu: float | None, floor_rate: float, floor_cpu: float
) -> None:
    ratio = rows / seconds / floor_rate
    text = f"{label:<36}{rows / seconds:>10,.0f} rows/s wall ({seconds:6.2f} s, {ratio:.2f}x)"
    if cpu is not None:
        text += f"  {rows / cpu:>10,.0f} rows/s CPU ({rows / cpu / floor_cpu:.2f}x)"
    print(text)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _, _, kind, path_text, rows_text, workdir_text = sys.argv
        child = {"floor": child_floor, "import": child_import, "http": child_http}[kind]
        args = (Path(path_text), Path(workdir_text)) + (() if kind == "floor" else (int(rows_text),))
        print(json.dumps(child(*args)))
    else:
        main()
