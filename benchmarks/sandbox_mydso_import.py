"""Items imports into the My DSO Manager sandbox, beside floors measured in the same run.

floor       = csv.reader over the same file + executemany of its rows into a table shaped like ``item``
              (same primary key, same pragmas), nothing else, one commit;
STOCK fresh = ``MyDsoSandbox.import_file`` (parse, validate, stage, apply, events, one transaction) of ROWS
              rows on a fresh account;
STOCK again = the same file into the account that now holds those ROWS items (the nightly case: all
              unchanged);
DELTA       = 10-row DELTA files (3 new items, 4 partial payments, 3 payments in full: 10 events) into that
              ROWS-item account, 20 times, median and max; its floor is the same 10 rows inserted by
              executemany into the floor's ROWS-row table with one commit (median of 20);
HTTP        = STOCK fresh over a loopback socket (streamed body).

The ROWS-item account of the DELTA runs is the one the two STOCK imports built (no separate seeding path).
Each measurement runs in a child process so that its peak RSS is its own. Usage:
    .venv/bin/python benchmarks/sandbox_mydso_import.py [ROWS]     (default 1,000,000; memory also at ROWS/10)
Targets: STOCK >= 60,000 rows/s fresh and again; DELTA of 10 rows into 1,000,000 items < 100 ms; peak memory
flat from 100k to 1M rows.
"""

from __future__ import annotations

import csv
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

CLIENTS = 2000
DELTA_ROWS = 10
DELTA_RUNS = 20
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


def child_floor(path: Path, workdir: Path, rows: int) -> dict:
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
    delta_floor = []
    for run in range(DELTA_RUNS):  # the same 10 rows a DELTA brings, inserted with one commit
        delta = csv.reader(io.StringIO(delta_csv(run, rows).decode()), delimiter=";")
        values = [fields[:8] for fields in delta][1:]
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT OR REPLACE INTO item (account, item_key, client_code, item_type, item_number, "
            "issue_date, due_date, currency, amount_initial, amount_remaining, payment_date, cleared_by, "
            "data, created_on, updated_on) "
            "VALUES ('bench', ?3 || '|' || ?1 || '|' || ?2 || '|' || substr(?4, 1, 4), "
            "?3, ?1, ?2, ?4, ?5, ?8, ?6, ?7, NULL, NULL, '{}', '2025-12-31', '2025-12-31')",
            values,
        )
        conn.execute("COMMIT")
        delta_floor.append(time.perf_counter() - t0)
    store.close()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mib": peak_rss_mib() - base,
        "delta": statistics.median(delta_floor),
    }


def child_import(path: Path, workdir: Path, rows: int, with_delta: bool = True) -> dict:
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
    if with_delta:
        figures["delta"] = delta_runs(workdir / "sandbox.sqlite3", rows)
    return figures


def delta_runs(db: Path, rows: int) -> list[float]:
    """20 DELTA imports of 10 rows into the account the STOCK imports left (a fresh sandbox object on the same
    database, as a server that has been running), each checked."""
    from dsobridge.sandbox.mydso import ImportOptions, MyDsoSandbox

    sb = MyDsoSandbox(db, accounts={"bench": "bench"}, today=date(2026, 1, 5))
    seconds = []
    for run in range(DELTA_RUNS):
        body = delta_csv(run, rows)
        t0 = time.perf_counter()
        report = sb.import_file("bench", "items", io.BytesIO(body), ImportOptions(stock=False))
        seconds.append(time.perf_counter() - t0)
        counts = (report["rows"], report["added"], report["updated"], report["cleared"], report["rejected"])
        assert report["success"] and counts == (DELTA_ROWS, 3, 7, 3, 0), report
    sb.close()
    return seconds


def delta_csv(run: int, rows: int) -> bytes:
    """10 rows: 3 new items, 4 partial payments and 3 payments in full of items the STOCK file holds."""
    header = (*HEADER, "item_date_payment")
    lines = [";".join(f'"{h}"' for h in header)]
    start = date(2025, 1, 1)
    for n in range(DELTA_ROWS):
        k = run * DELTA_ROWS + n
        number = rows + k if n < 3 else k * 4_999 % rows  # new, or an item of the file (never the same twice)
        issue = start + timedelta(days=number % 365)
        amount = f"{(number * 7919) % 100000 + 1}.{number % 100:02d}"
        remaining = amount if n < 3 else "1.00"
        paid = (date(2026, 1, 5) - timedelta(days=n)).isoformat() if n >= 7 else ""
        fields = ("FAC", f"{number:08d}", f"C{number % CLIENTS:05d}", issue.isoformat(),
                  (issue + timedelta(days=30)).isoformat(), amount, remaining, "DKK", paid)  # fmt: skip
        lines.append(";".join(f'"{v}"' for v in fields))
    return ("\r\n".join(lines) + "\r\n").encode()


def child_http(path: Path, workdir: Path, rows: int) -> dict:
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
        imp_small = run_child("import-small", little, small)
        http = run_child("http", big, rows)
    floor_rate, floor_cpu_rate = rows / floor["seconds"], rows / floor["cpu"]
    print(f"file: {rows:,} rows, {size_mib:.1f} MiB (quoted, ';', CRLF, ISO dates); wall and CPU time")
    line("floor: csv.reader + executemany", rows, floor["seconds"], floor["cpu"], floor_rate, floor_cpu_rate)
    line("import STOCK, fresh account", rows, imp["first"], imp["first_cpu"], floor_rate, floor_cpu_rate)
    line(
        "import STOCK again, all unchanged", rows, imp["again"], imp["again_cpu"], floor_rate, floor_cpu_rate
    )
    line("import STOCK over loopback HTTP", rows, http["seconds"], None, floor_rate, floor_cpu_rate)
    delta = imp["delta"]
    median = statistics.median(delta)
    print(
        f"{'import DELTA 10 rows into ' + format(rows, ',') + ' items':<36}{median * 1000:>10.1f} ms median "
        f"of {len(delta)} (max {max(delta) * 1000:.1f} ms; floor {floor['delta'] * 1000:.1f} ms, "
        f"{floor['delta'] / median:.2f}x)"
    )
    print("targets: STOCK >= 60,000 rows/s fresh and again; DELTA of 10 rows into 1,000,000 items < 100 ms")
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
        path, workdir = Path(path_text), Path(workdir_text)
        children = {
            "floor": lambda: child_floor(path, workdir, int(rows_text)),
            "import": lambda: child_import(path, workdir, int(rows_text)),
            "import-small": lambda: child_import(path, workdir, int(rows_text), with_delta=False),
            "http": lambda: child_http(path, workdir, int(rows_text)),
        }
        print(json.dumps(children[kind]()))
    else:
        main()
