"""Dynaccount sandbox: seeding, rows/s over loopback, the cost of a page at depth, filtered reads.

Prints figures as ratios against floors measured in the same run:

1. rows/s paging ``debtor_invoice`` 1,000 rows at a time through ``DynaccountClient`` over one loopback
   keep-alive connection, against the same page query run directly on the sandbox's SQLite (target ≥ 20,000
   rows/s over HTTP);
2. the cost of one page at depth: ``--depth-table`` (default ``debtor_accounting_module``, ``order=id``)
   paged with ``limit=offset,1000`` over HTTP from the first page to the last; the mean of the first pages
   against the mean of the deepest (ratio, target ≤ 1.5), and a deep page asked cold (no page before it, so
   the server must skip ``offset`` rows — what every deep page cost before);
3. filtered reads (``where`` on ``module_id_``, ``invoice_id_``, ``contact_id``, ``enclosure_id``, ``id``):
   the median over many random values, in milliseconds, over HTTP, against a one-row get by row id.

Usage:
    .venv/bin/python benchmarks/sandbox_dynaccount.py [--debtors 10000 --invoices 100000]
    .venv/bin/python benchmarks/sandbox_dynaccount.py --db big.sqlite3   # an existing company, seeded e.g.
        dsobridge sandbox dynaccount seed --db big.sqlite3 --debtors 100000 --invoices 1100000 \
            --open-share 0.9
Take figures on a quiet machine (say the load average, ``uptime``, with them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import time
from pathlib import Path

from dsobridge.dynaccount import DynaccountClient, RetryPolicy, ValidationError
from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.dynaccount import TABLES, DynaccountSandbox

FILTERS = [  # (table, where field, SQL giving candidate values)
    ("debtor", "module_id_", "SELECT module_id_ FROM debtor"),
    ("debtor_invoice", "module_id_", "SELECT module_id_ FROM debtor"),
    ("debtor_invoice", "invoice_id_", "SELECT invoice_id_ FROM debtor_invoice WHERE invoice_id_ > 0"),
    ("debtor_creditnote", "module_id_", "SELECT module_id_ FROM debtor"),
    ("debtor_accounting_module", "module_id_", "SELECT module_id_ FROM debtor"),
    ("debtor_invoice_match", "module_id_", "SELECT module_id_ FROM debtor"),
    ("debtor_invoice_match", "invoice_id_", "SELECT invoice_id_ FROM debtor_invoice WHERE invoice_id_ > 0"),
    ("contact", "module_id_", "SELECT module_id_ FROM debtor"),
    ("contact_user", "contact_id", "SELECT id FROM contact"),
    ("accounting", "enclosure_id", "SELECT id FROM enclosure"),
    ("debtor_invoice", "id", "SELECT id FROM debtor_invoice"),
]


def _uptime() -> str:
    try:
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average unknown"


def rows_per_second(sb: DynaccountSandbox, client: DynaccountClient, page: int) -> None:
    table = TABLES["debtor_invoice"]
    started = time.perf_counter()
    direct_rows = offset = 0
    while True:
        _, num = sb.store.page(table, order=(("id", False),), offset=offset, count=page)
        direct_rows += num
        offset += num
        if num < page:
            break
    direct_rate = direct_rows / (time.perf_counter() - started)
    started = time.perf_counter()
    http_rows = sum(1 for _ in client.iter_rows("debtor_invoice", page_size=page))
    http_rate = http_rows / (time.perf_counter() - started)
    print(f"floor (SQLite, same page query, JSON):  {direct_rate:>10,.0f} rows/s")
    print(
        f"HTTP loopback keep-alive, pages of {page}: {http_rate:>10,.0f} rows/s ({http_rows} rows) — "
        "target ≥ 20,000"
    )
    print(f"ratio HTTP / SQLite page query: {http_rate / direct_rate:.2f}")


def page_cost_at_depth(client: DynaccountClient, table: str, total: int, page: int) -> None:
    """Mean seconds of the first and the deepest pages of one full paging, and of a cold deep page."""
    costs: list[float] = []
    offset = 0
    while True:
        started = time.perf_counter()
        rows = client.get(table, select=["id"], order="id", limit=(offset, page))
        costs.append(time.perf_counter() - started)
        offset += len(rows)
        if len(rows) < page:
            break
    head = statistics.mean(costs[1:6]) if len(costs) > 6 else costs[0]
    tail = statistics.mean(costs[-6:-1]) if len(costs) > 6 else costs[-1]
    deep = max(0, offset - 2 * page) + 1  # not where any page ended: the server has no key to continue from
    started = time.perf_counter()
    client.get(table, select=["id"], order="id", limit=(deep, page))
    cold = time.perf_counter() - started
    print(f"{table}, {total:,} rows, pages of {page} (order=id, select=id), over HTTP:")
    print(f"  first pages  {head * 1000:8.1f} ms/page")
    print(f"  deepest pages{tail * 1000:8.1f} ms/page  (offset ≈ {offset - page:,})")
    print(f"  ratio deep / first: {tail / head:.2f} — target ≤ 1.5")
    print(
        f"  a cold deep page (no page before it, offset {deep:,}): {cold * 1000:.1f} ms "
        f"({cold / head:.1f}× a first page)"
    )


def filtered_reads(sb: DynaccountSandbox, client: DynaccountClient, samples: int) -> None:
    rng = random.Random(1)
    with sb.store.lock:
        candidates = {sql: [r[0] for r in sb.store.conn.execute(sql)] for *_, sql in FILTERS}
    floor_times = []
    for _ in range(samples):
        started = time.perf_counter()
        client.get("currency", 1)
        floor_times.append(time.perf_counter() - started)
    floor = statistics.median(floor_times)
    print(
        f"filtered reads over HTTP (median of {samples}); floor: a one-row get by row id "
        f"{floor * 1000:.2f} ms"
    )
    for table, field, sql in FILTERS:
        values = candidates[sql]
        if not values:
            continue
        times, rows = [], 0
        try:
            for _ in range(samples):
                value = rng.choice(values)
                started = time.perf_counter()
                rows += len(client.get(table, where={field: value}))
                times.append(time.perf_counter() - started)
        except ValidationError:  # an older sandbox without the field
            print(f"  {table:26s} where {field:13s} refused by this sandbox")
            continue
        with sb.store.lock:
            size = sb.store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        median = statistics.median(times)
        print(
            f"  {table:26s} where {field:13s} {median * 1000:7.2f} ms ({median / floor:5.1f}× floor; "
            f"{rows / samples:6.1f} rows/answer; table {size:,} rows)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debtors", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--open-share", type=float, default=None)
    parser.add_argument("--db", type=Path, help="an existing sandbox database (not reseeded)")
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--depth-table", default="debtor_accounting_module")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--skip-rate", action="store_true", help="skip part 1 (rows/s)")
    args = parser.parse_args()
    print(_uptime())

    sb = (
        DynaccountSandbox(args.db, today=dt.date(2026, 11, 20))
        if args.db
        else DynaccountSandbox(today=dt.date(2026, 11, 20))
    )
    if not args.db:
        started = time.perf_counter()
        counts = sb.seed(debtors=args.debtors, invoices=args.invoices, seed=1, open_share=args.open_share)
        print(
            f"seed: {args.debtors} debtors / {counts['debtor_invoice']} invoices in "
            f"{time.perf_counter() - started:.2f} s"
        )
    with sb.store.lock:
        total = sb.store.conn.execute(f"SELECT count(*) FROM {args.depth_table}").fetchone()[0]  # noqa: S608
    creds = sb.credentials
    with (
        LoopbackServer(sb.app) as server,
        DynaccountClient(
            creds.api_id,
            creds.api_key,
            creds.api_secret,
            base_url=server.url,
            retry=RetryPolicy.never(),
            timeout=300,
        ) as client,
    ):
        if not args.skip_rate:
            rows_per_second(sb, client, args.page)
        page_cost_at_depth(client, args.depth_table, total, args.page)
        filtered_reads(sb, client, args.samples)
        print(f"TCP connections: {server.connections}")
    print(_uptime())
    sb.close()


if __name__ == "__main__":
    main()
