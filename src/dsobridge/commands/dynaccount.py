"""``dsobridge dynaccount …``: explore a Dynaccount accounting from the command line."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import click

ENV_ID = "DYNACCOUNT_API_ID"
ENV_KEY = "DYNACCOUNT_API_KEY"
ENV_SECRET = "DYNACCOUNT_API_SECRET"  # noqa: S105 - the variable's name, not a secret
ENV_BASE_URL = "DYNACCOUNT_BASE_URL"
ENV_VERSION = "DYNACCOUNT_VERSION"


@click.group()
def dynaccount() -> None:
    """Talk to the Dynaccount API (credentials from DYNACCOUNT_API_ID / _API_KEY / _API_SECRET)."""


def _client() -> Any:
    from dsobridge.dynaccount import DynaccountClient

    missing = [name for name in (ENV_ID, ENV_KEY, ENV_SECRET) if not os.environ.get(name)]
    if missing:
        raise click.UsageError(f"set {', '.join(missing)} in the environment")
    try:
        return DynaccountClient(
            os.environ[ENV_ID],
            os.environ[ENV_KEY],
            os.environ[ENV_SECRET],
            version=os.environ.get(ENV_VERSION) or "v5",
            base_url=os.environ.get(ENV_BASE_URL) or "https://api.dynaccount.com",
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _parse_where(pairs: Sequence[str]) -> dict[str, str]:
    where: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected FIELD=VALUE, got {pair!r}", param_hint="--where")
        where[key.strip()] = value
    return where


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")  # exact digits, as a string
    return str(value)


def _print_table(table: str, rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    view = Table(title=f"{table} ({len(rows)} rows)")
    for column in columns:
        view.add_column(column, overflow="fold")
    for row in rows:
        view.add_row(*("" if row.get(c) is None else _json_default(row.get(c)) for c in columns))
    Console().print(view)


@dynaccount.command("get")
@click.argument("table")
@click.option("--id", "row_id", type=int, default=0, help="Fetch one row by its id.")
@click.option("--where", "where", multiple=True, metavar="FIELD=VALUE", help="Equality filter; repeatable.")
@click.option("--select", default=None, metavar="A,B", help="Comma-separated field names.")
@click.option(
    "--order", multiple=True, metavar="FIELD [desc]", help="Sort order; repeatable or comma-separated."
)
@click.option("--limit", default=None, metavar="OFFSET,COUNT", help="Page: offset,count.")
@click.option("--all", "all_rows", is_flag=True, help="Page through every row (limit pages of 1000).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
def get_command(
    table: str,
    row_id: int,
    where: tuple[str, ...],
    select: str | None,
    order: tuple[str, ...],
    limit: str | None,
    all_rows: bool,
    as_json: bool,
) -> None:
    """Print rows of TABLE (e.g. debtor, debtor_invoice, vatcode)."""
    from dsobridge.dynaccount import DynaccountError

    if all_rows and (row_id or limit):
        raise click.UsageError(
            "--all pages through the whole table: it cannot be combined with --id or --limit"
        )
    fields = [s.strip() for s in select.split(",") if s.strip()] if select else None
    order_items = [o.strip() for item in order for o in item.split(",") if o.strip()] or None
    filters = _parse_where(where)
    try:
        with _client() as client:
            if all_rows:
                rows: Any = client.iter_rows(table, select=fields, where=filters, order=order_items)
            else:
                rows = client.get(table, row_id, select=fields, where=filters, order=order_items, limit=limit)
            if as_json:
                for row in rows:
                    click.echo(json.dumps(row, default=_json_default, ensure_ascii=False))
            else:
                _print_table(table, list(rows))
    except DynaccountError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
