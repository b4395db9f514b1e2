"""Dynaccount sandbox: seeding time and ``debtor_invoice`` pages of 1,000 rows over loopback keep-alive.

Prints figures as ratios against a floor measured in the same run: the same page query executed directly
on the sandbox's SQLite connection (JSON rendered by SQL, no HTTP). Target: ≥ 20,000 rows/s over HTTP.
Usage: .venv/bin/python benchmarks/sandbox_dynaccount.py [--debtors 10000 --invoices 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import time

from dsobridge.dynaccount import DynaccountClient
from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.dynaccount import TABLES, DynaccountSandbox


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debtors", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args()

    sb = DynaccountSandbox(today=dt.date(2026, 11, 20))
    started = time.perf_counter()
    counts = sb.seed(debtors=args.debtors, invoices=args.invoices, seed=1)
    seed_s = time.perf_counter() - started
    print(
        f"seed: {args.debtors} debtors / {counts['debtor_invoice']} "
        f"invoices in {seed_s:.2f} s (target < 60 s)"
    )

    table = TABLES["debtor_invoice"]
    started = time.perf_counter()
    direct_rows = 0
    offset = 0
    while True:
        _, num = sb.store.page(table, order=(("id", False),), offset=offset, count=args.page)
        direct_rows += num
        offset += num
        if num < args.page:
            break
    direct_s = time.perf_counter() - started
    direct_rate = direct_rows / direct_s

    raw = sqlite3.connect(":memory:")
    sb.store.conn.backup(raw)
    started = time.perf_counter()
    raw_rows = 0
    for off in range(0, direct_rows, args.page):
        raw_rows += len(
            raw.execute(
                "SELECT * FROM debtor_invoice ORDER BY id LIMIT ? OFFSET ?", (args.page, off)
            ).fetchall()
        )
    raw_rate = raw_rows / (time.perf_counter() - started)

    creds = sb.credentials
    with (
        LoopbackServer(sb.app) as server,
        DynaccountClient(creds.api_id, creds.api_key, creds.api_secret, base_url=server.url) as client,
    ):
        started = time.perf_counter()
        http_rows = sum(1 for _ in client.iter_rows("debtor_invoice", page_size=args.page))
        http_s = time.perf_counter() - started
        connections = server.connections
    http_rate = http_rows / http_s
    print(f"floor (SQLite, SELECT * tuples):        {raw_rate:>10,.0f} rows/s")
    print(f"floor (SQLite, same page query, JSON):  {direct_rate:>10,.0f} rows/s")
    print(
        f"HTTP loopback keep-alive, pages of {args.page}: {http_rate:>10,.0f} rows/s "
        f"({http_rows} rows, {connections} TCP connection(s)) — target ≥ 20,000"
    )
    print(f"ratio HTTP / SQLite page query: {http_rate / direct_rate:.2f}")
    print(f"ratio HTTP / SQLite SELECT *:   {http_rate / raw_rate:.2f}")
    sb.close()


if __name__ == "__main__":
    main()
