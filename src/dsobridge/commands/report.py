"""``dsobridge report aging|dso``: receivables measures computed from Dynaccount data directly."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from dsobridge.commands.sync import _load, config_option, json_option
from dsobridge.sync.engine import EXIT_FAILED


def aging_table(items: list[Any], as_of: date, *, client: str | None = None, title: str = "") -> Table:
    from dsobridge.receivables import BUCKET_LABELS, BUCKETS, aging
    from dsobridge.sync.measures import currencies

    table = Table(title=title or f"aging by due date as of {as_of}", title_justify="left")
    table.add_column("currency")
    for b in BUCKETS:
        table.add_column(BUCKET_LABELS[b], justify="right")
    for name in ("unallocated credits", "total", "overdue %", "items"):
        table.add_column(name, justify="right")
    for currency in currencies(items):
        ag = aging(items, as_of, currency, client_code=client)
        if not ag.items:
            continue
        pct = "" if ag.overdue_pct is None else f"{ag.overdue_pct}"
        table.add_row(
            currency,
            *(str(ag.buckets[b]) for b in BUCKETS),
            str(ag.unallocated_credits),
            str(ag.total),
            pct,
            str(ag.items),
        )
    return table


def dso_table(items: list[Any], as_of: date, *, client: str | None = None, title: str = "") -> Table:
    from dsobridge.receivables import dso
    from dsobridge.sync.measures import currencies

    table = Table(title=title or f"DSO as of {as_of}", title_justify="left")
    for name in (
        "currency",
        "receivables",
        "not yet due",
        "countback DSO",
        "best possible",
        "ADD",
        "standard DSO (3 m)",
        "overdue %",
    ):
        table.add_column(name, justify="right" if name != "currency" else "left")
    for currency in currencies(items):
        fig = dso(items, as_of, currency, client_code=client)
        if fig.receivables == 0 and fig.standard_sales == 0:
            continue
        bound = "≥ " if fig.countback.lower_bound else ""
        table.add_row(
            currency,
            str(fig.receivables),
            str(fig.current_receivables),
            f"{bound}{fig.countback.days} d",
            f"{fig.best_countback.days} d",
            f"{fig.add_countback} d",
            "" if fig.standard is None else f"{fig.standard} d",
            "" if fig.overdue_pct is None else str(fig.overdue_pct),
        )
    return table


def measures_json(items: list[Any], what: str, as_of: date, client: str | None) -> list[dict[str, Any]]:
    from dsobridge.receivables import aging, dso
    from dsobridge.sync.measures import currencies

    out = []
    for currency in currencies(items):
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
    from dsobridge.sync.mapping import Mapper
    from dsobridge.sync.measures import receivable_items

    config = _load(config_path)
    dyn = config.dynaccount
    day = as_of or date.today()
    try:
        with dynaccount_client(dyn) as source:
            items = receivable_items(source, mapper=Mapper(config.mapping), page_size=dyn.page_size)
    except DynaccountError as exc:
        Console(stderr=True).print(f"reading Dynaccount failed: {type(exc).__name__}: {exc}", markup=False)
        sys.exit(EXIT_FAILED)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)  # a file or a pipe: never squeeze the table
    if as_json:
        console.print_json(json.dumps(measures_json(items, what, day, client)))
        return
    table = (
        aging_table(items, day, client=client) if what == "aging" else dso_table(items, day, client=client)
    )
    if not table.rows:
        who = f" for client {client}" if client else ""
        known = client is None or any(i.client_code == client for i in items)
        console.print(
            f"{table.title}: no receivables{who}" + ("" if known else f" ({client} has no document)"),
            markup=False,
        )
    elif console.is_terminal:
        console.print(table)
    else:
        print_plain(table, console)


def print_plain(table: Table, console: Console) -> None:
    """A table as plain lines (a file, a pipe, cron mail): its title, then ``column=value`` per row."""
    console.print(str(table.title), markup=False, soft_wrap=True)
    columns = [(str(c.header), list(c.cells)) for c in table.columns]
    for i in range(table.row_count):
        line = " ".join(
            f"{header.replace(' ', '_')}={str(cells[i]).replace(' ', '')}" for header, cells in columns
        )
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
