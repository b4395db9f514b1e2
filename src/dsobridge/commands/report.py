"""``dsobridge report aging|dso``: receivables measures computed from Dynaccount data directly."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from dsobridge.commands.sync import _load, config_option, json_option
from dsobridge.sync.engine import EXIT_FAILED
from dsobridge.sync.measure_tables import aging_table, dso_table, measures_json
from dsobridge.terminal import Grid, ReadProgress

#: The reads of a report (debtors, matches, then each document table open and settled), for the progress bar.
READ_STEPS = 8


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
