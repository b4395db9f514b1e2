"""Items/s and peak memory of the My DSO Manager CSV writer, beside the floor of the stdlib csv module.

    .venv/bin/python benchmarks/mydso_writer.py [--rows 1000000]

Floor: ``csv.writer(quoting=QUOTE_ALL, delimiter=';', lineterminator='\\r\\n')`` writing the same cells,
already formatted as strings, to a sink that drops them. Ours: ``iter_csv`` on typed ``Item`` rows (formatting
dates and Decimal amounts, every check on, UTF-8 encoding), chunks dropped; then ``CsvLayout.line`` alone,
one call per row, as the sync engine spools lines (every check but the duplicate key, which is the caller's).
All read rows from a list built beforehand, so the figures are the writers' own cost. Memory: tracemalloc
peak while streaming rows from a generator (so the duplicate-key table cannot be sized in advance and grows
by doubling); "bytes/row more" is the growth of that peak per extra row between the two sizes.
"""

from __future__ import annotations

import argparse
import csv
import gc
import time
import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from dsobridge.mydso import CsvLayout, CsvOptions, Item, iter_csv

COLUMNS = [
    "client_code",
    "item_number",
    "item_type",
    "item_date_issue",
    "item_date_due",
    "item_amount_initial_inc_tax",
    "item_amount_remaining_inc_tax",
    "item_currency",
    "item_erp_type",
]
DATES = [date(2025, 1, 1) + timedelta(days=i) for i in range(400)]
AMOUNTS = [Decimal(f"{i * 37 % 100000}.{i % 100:02d}") for i in range(1, 1001)]
CLIENTS = [f"C{i:05d}" for i in range(5000)]


def item(i: int) -> Item:
    return Item(
        client_code=CLIENTS[i % 5000],
        item_number=str(100000 + i),
        item_type="FAC",
        item_date_issue=DATES[i % 365],
        item_date_due=DATES[i % 365 + 30],
        item_amount_initial_inc_tax=AMOUNTS[i % 1000],
        item_amount_remaining_inc_tax=AMOUNTS[(i + 7) % 1000],
        item_currency="DKK",
        item_erp_type="Invoice",
    )


def items(n: int) -> Iterator[Item]:
    return (item(i) for i in range(n))


class NullSink:
    def write(self, _text: str) -> None:
        pass


def floor(rows: list[tuple[str, ...]]) -> float:
    writer = csv.writer(NullSink(), quoting=csv.QUOTE_ALL, delimiter=";", lineterminator="\r\n")
    start = time.perf_counter()
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return time.perf_counter() - start


def ours(rows: list[Any], options: CsvOptions) -> float:
    start = time.perf_counter()
    for _chunk in iter_csv("items", rows, options):
        pass
    return time.perf_counter() - start


def lines(rows: list[Any], options: CsvOptions) -> float:
    layout = CsvLayout("items", options)
    line = layout.line
    start = time.perf_counter()
    layout.header()
    for n, row in enumerate(rows, 1):
        line(row, n)
    return time.perf_counter() - start


def peak_memory(n: int, options: CsvOptions) -> int:
    gc.collect()
    tracemalloc.start()
    for _chunk in iter_csv("items", items(n), options):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def speeds(n: int, repeat: int, checked: CsvOptions, unchecked: CsvOptions) -> dict[str, float]:
    """The best time of each measure, run interleaved: a busy machine slows all of them alike."""
    typed = list(items(n))
    formatted = [
        (r.client_code, r.item_number, r.item_type, r.item_date_issue.isoformat(),
         r.item_date_due.isoformat(), f"{r.item_amount_initial_inc_tax:.2f}",
         f"{r.item_amount_remaining_inc_tax:.2f}", r.item_currency, r.item_erp_type)
        for r in typed
    ]  # fmt: skip
    mappings = [{c: getattr(r, c) for c in COLUMNS} for r in typed]  # rows as the sync engine builds them
    measures = {
        "floor  csv.writer, pre-formatted str": lambda: floor(formatted),
        "ours   iter_csv, all checks": lambda: ours(typed, checked),
        "ours   iter_csv, no duplicate check": lambda: ours(typed, unchecked),
        "ours   iter_csv, dict rows, all checks": lambda: ours(mappings, checked),
        "ours   CsvLayout.line": lambda: lines(typed, checked),
        "ours   CsvLayout.line, dict rows": lambda: lines(mappings, checked),
    }
    best = dict.fromkeys(measures, float("inf"))
    for _ in range(repeat):
        for label, measure in measures.items():
            best[label] = min(best[label], measure())
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.rows
    checked = CsvOptions(columns=COLUMNS)
    unchecked = CsvOptions(columns=COLUMNS, check_duplicates=False)

    best = speeds(n, args.repeat, checked, unchecked)
    t_floor = best["floor  csv.writer, pre-formatted str"]
    print(f"rows: {n:,}  columns: {len(COLUMNS)}  best of {args.repeat}")
    for label, seconds in best.items():
        print(f"{label:<40} {n / seconds:>12,.0f} items/s  {seconds / t_floor:5.2f}x floor time")

    small = max(n // 10, 1)
    for label, options in (("all checks", checked), ("no duplicate check", unchecked)):
        m_small = peak_memory(small, options)
        m_big = peak_memory(n, options)
        print(
            f"peak memory ({label:<18}) {small:>9,} rows {m_small / 2**20:7.1f} MiB   {n:>9,} rows "
            f"{m_big / 2**20:7.1f} MiB   ratio {m_big / m_small:.2f}   "
            f"{(m_big - m_small) / max(n - small, 1):5.1f} bytes/row more"
        )


if __name__ == "__main__":
    main()
