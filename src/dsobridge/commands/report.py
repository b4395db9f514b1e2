"""``dsobridge report aging|dso``: receivables measures computed from Dynaccount data directly."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from dsobridge.commands.sync import _load, config_option, json_option
from dsobridge.receivables import BUCKET_LABELS, BUCKETS, Item, aging, dso
from dsobridge.sync.engine import EXIT_FAILED
from dsobridge.terminal import AMOUNT, COUNT, FIGURE, Column, Grid, ReadProgress

#: The reads of a report (debtors, matches, then each document table open and settled), for the progress bar.
READ_STEPS = 8


def _currencies(items: list[Item], currencies: Iterable[str] | None) -> list[str]:
    from dsobridge.sync.measures import currencies as of_items

    return list(currencies) if currencies is not None else of_items(items)


def aging_table(
    items: list[Item],
    as_of: date,
    *,
    client: str | None = None,
    title: str = "",
    currencies: Iterable[str] | None = None,
) -> Grid:
    """One row per currency with open items: the buckets, unallocated credits, total, overdue %, items."""
    columns = [Column("currency")]
    columns += [Column(BUCKET_LABELS[b], AMOUNT) for b in BUCKETS]
    columns += [
        Column("unallocated credits", AMOUNT),
        Column("total", AMOUNT),
        Column("overdue %", FIGURE, drop=2),
        Column("items", COUNT, drop=1),
    ]
    table = Grid(title or f"aging by due date as of {as_of}", columns)
    for currency in _currencies(items, currencies):
        ag = aging(items, as_of, currency, client_code=client)
        if not ag.items:
            continue
        pct = "" if ag.overdue_pct is None else f"{ag.overdue_pct}"
        table.add_row(
            currency, *(ag.buckets[b] for b in BUCKETS), ag.unallocated_credits, ag.total, pct, ag.items
        )
    return table


def dso_table(
    items: list[Item],
    as_of: date,
    *,
    client: str | None = None,
    title: str = "",
    currencies: Iterable[str] | None = None,
) -> Grid:
    """One row per currency with receivables or sales: countback DSO (≥ when the history ran out), best
    possible DSO, ADD, the 3-month standard DSO and overdue %."""
    columns = [
        Column("currency"),
        Column("receivables", AMOUNT),
        Column("not yet due", AMOUNT, drop=4),
        Column("countback DSO", FIGURE),
        Column("best possible", FIGURE, drop=3),
        Column("ADD", FIGURE, drop=2),
        Column("standard DSO (3 m)", FIGURE, drop=1),
        Column("overdue %", FIGURE, drop=5),
    ]
    table = Grid(title or f"DSO as of {as_of}", columns)
    for currency in _currencies(items, currencies):
        fig = dso(items, as_of, currency, client_code=client)
        if fig.receivables == 0 and fig.standard_sales == 0:
            continue
        bound = "≥ " if fig.countback.lower_bound else ""
        table.add_row(
            currency,
            fig.receivables,
            fig.current_receivables,
            f"{bound}{fig.countback.days} d",
            f"{fig.best_countback.days} d",
            f"{fig.add_countback} d",
            "" if fig.standard is None else f"{fig.standard} d",
            "" if fig.overdue_pct is None else str(fig.overdue_pct),
        )
    return table


def measures_json(
    items: list[Item], what: str, as_of: date, client: str | None, currencies: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    out = []
    for currency in _currencies(items, currencies):
        if what == "aging":
            ag = aging(items, as_of, currency, client_code=client)
            out.append(
                {
                    "currency": currency,
                    "as_of": as_of.isoformat(),
                    "buckets": {k: str(v) for k, v in ag.buckets.items()},
                    "unallocated_credits": str(ag.unallocated_credits),
                    "total": str(ag.total),
                    "items": ag.items,
                }
            )
        else:
            fig = dso(items, as_of, currency, client_code=client)
            out.append(
                {
                    "currency": currency,
                    "as_of": as_of.isoformat(),
                    "receivables": str(fig.receivables),
                    "current_receivables": str(fig.current_receivables),
                    "countback_days": str(fig.countback.days),
                    "countback_lower_bound": fig.countback.lower_bound,
                    "best_countback_days": str(fig.best_countback.days),
                    "add_days": str(fig.add_countback),
                    "standard_days": None if fig.standard is None else str(fig.standard),
                }
            )
    return out


def _report(what: str, config_path: Path, as_of: date | None, client: str | None, as_json: bool) -> None:
    from dsobridge.dynaccount import DynaccountError
    from dsobridge.sync.delivery import dynaccount_client
    from dsobridge.sync.extract import ExtractionError
    from dsobridge.sync.mapping import Mapper
    from dsobridge.sync.measures import measure_input

    config = _load(config_path)
    dyn = config.dynaccount
    day = as_of or date.today()
    console = Console(highlight=False)
    try:
        with (
            dynaccount_client(dyn) as source,
            ReadProgress(READ_STEPS, enabled=console.is_terminal) as progress,
        ):
            data = measure_input(
                source,
                day,
                client=client,
                mapper=Mapper(config.mapping),
                page_size=dyn.page_size,
                progress=progress.step,
            )
    except ExtractionError as exc:  # its text names the table and the cause's type, never a URL
        Console(stderr=True).print(f"reading Dynaccount failed: {exc}", markup=False)
        sys.exit(EXIT_FAILED)
    except DynaccountError as exc:
        Console(stderr=True).print(f"reading Dynaccount failed: {type(exc).__name__}: {exc}", markup=False)
        sys.exit(EXIT_FAILED)
    if as_json:
        console.print_json(json.dumps(measures_json(data.items, what, day, None, data.currencies)))
        return
    build = aging_table if what == "aging" else dso_table
    table = build(data.items, day, currencies=data.currencies)
    if not table.rows:
        who = f" for client {client}" if client else ""
        known = client is None or data.documents > 0
        console.print(
            f"{table.title}: no receivables{who}" + ("" if known else f" ({client} has no document)"),
            markup=False,
            soft_wrap=True,
        )
    elif console.is_terminal:
        console.print(table)
    else:
        print_plain(table, console)


def print_plain(table: Grid, console: Console) -> None:
    """A table as plain lines (a file, a pipe, cron mail): its title, then ``column=value`` per row."""
    console.print(table.title, markup=False, soft_wrap=True)
    for line in table.plain_lines():
        console.print(line, markup=False, soft_wrap=True, highlight=False)


@click.group("report")
def report() -> None:
    """Receivables measures (aging, DSO) computed from Dynaccount data directly."""


@report.command("aging")
@config_option
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Date of the balance (default today).")
@click.option("--client", metavar="CODE", help="One client (its client_code).")
@json_option
def aging_command(config_path: Path, as_of: Any, client: str | None, as_json: bool) -> None:
    """Aging balance by due date: not due, 1–30, 31–60, 61–90, > 90, unallocated credits."""
    _report("aging", config_path, as_of.date() if as_of else None, client, as_json)


@report.command("dso")
@config_option
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Date of the figures (default today).")
@click.option("--client", metavar="CODE", help="One client (its client_code).")
@json_option
def dso_command(config_path: Path, as_of: Any, client: str | None, as_json: bool) -> None:
    """Countback DSO, best possible DSO, ADD and standard DSO per currency."""
    _report("dso", config_path, as_of.date() if as_of else None, client, as_json)
