"""``dsobridge mydso …``: send a file to My DSO Manager, or check it locally first.

Credentials come from the environment only (``MYDSO_LOGIN``, ``MYDSO_PASSWORD``, ``MYDSO_BASE_URL``,
``MYDSO_FTP_HOST``, ``MYDSO_FTP_PORT``, ``MYDSO_FTP_TLS``,
``MYDSO_FTP_CAFILE``), never from the command line (``ps`` shows it).
Exit status: 0 imported cleanly, 3 imported with rejected rows, 1 file refused or not delivered, 2 usage.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
from pathlib import Path
from typing import Any

import click

KINDS = ("clients", "items", "contacts", "users")


def _env(name: str, *, required: bool = True, default: str | None = None) -> str | None:
    value = os.environ.get(name, default)
    if required and not value:
        raise click.UsageError(f"set {name} in the environment")
    return value


def _report_dict(report: Any) -> dict[str, Any]:
    return {
        "success": report.success,
        "error_code": report.error_code,
        "message": report.message,
        "file_type": report.file_type,
        "mode": report.mode,
        "rows": report.rows,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "cleared": report.cleared,
        "rejected": report.rejected,
        "rejected_rows": [
            {"line": r.line, "column": r.column, "reason": r.reason} for r in report.rejected_rows
        ],
    }


def _print_report(report: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(_report_dict(report), default=str, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    status = "[green]imported[/green]" if report.success else f"[red]refused ({report.error_code})[/red]"
    console.print(f"{report.file_type or ''} {report.mode or ''} {status} {report.message or ''}".strip())
    table = Table("rows", "added", "updated", "unchanged", "cleared", "rejected")
    table.add_row(
        *(str(getattr(report, k)) for k in ("rows", "added", "updated", "unchanged", "cleared", "rejected"))
    )
    console.print(table)
    if report.rejected_rows:
        rejected = Table("line", "column", "reason", title="rejected rows")
        for r in report.rejected_rows:
            rejected.add_row(str(r.line), r.column or "", r.reason or "")
        console.print(rejected)


@click.group()
def mydso() -> None:
    """Deliver CSV files to My DSO Manager (HTTP, asynchronous or FTP) and check them locally."""


@mydso.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--stock/--delta", default=None, help="items: STOCK clears what the file omits. Default: DELTA."
)
@click.option("--encoding", default="UTF-8", show_default=True, help="Encoding of FILE, sent as the option.")
@click.option("--replace-users-association", is_flag=True, default=None, help="users: replace client links.")
@click.option("--via", type=click.Choice(["http", "async", "ftp"]), default="http", show_default=True)
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Seconds to wait for a report.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def send(
    kind: str,
    file: Path,
    stock: bool | None,
    encoding: str,
    replace_users_association: bool | None,
    via: str,
    timeout: float,
    as_json: bool,
) -> None:
    """Send FILE (an existing CSV) as a KIND file and print the import report."""
    from dsobridge.mydso import DEFAULT_BASE_URL, FtpDrop, ImportRejected, MyDsoClient, MyDsoError

    if stock is not None and kind != "items":
        raise click.UsageError("--stock/--delta apply to items files only")
    if replace_users_association and kind != "users":
        raise click.UsageError("--replace-users-association applies to users files only")
    login = _env("MYDSO_LOGIN")
    password = _env("MYDSO_PASSWORD")
    try:
        if via == "ftp":
            port = int(_env("MYDSO_FTP_PORT", required=False, default="21") or "21")
            tls = (_env("MYDSO_FTP_TLS", required=False) or "").lower() in ("1", "true", "yes")
            cafile = _env("MYDSO_FTP_CAFILE", required=False)  # a private CA, or the sandbox's FTP_CERT
            if cafile and not tls:
                raise click.UsageError("MYDSO_FTP_CAFILE is set but MYDSO_FTP_TLS is not: FTPS needs both")
            context = ssl.create_default_context(cafile=cafile) if cafile else None
            drop = FtpDrop(
                _env("MYDSO_FTP_HOST") or "", port, login or "", password or "", tls=tls, ssl_context=context
            )
            report = drop.deliver(kind, file, stock=stock, encoding=encoding, report_timeout=timeout)
        else:
            base_url = _env("MYDSO_BASE_URL", required=False) or DEFAULT_BASE_URL
            with MyDsoClient(login or "", password or "", base_url=base_url) as client:
                options = {"encoding": encoding, "stock": stock}
                if replace_users_association:
                    options["replace_users_association"] = True
                if via == "async":
                    report = client.import_file_async(kind, file, timeout=timeout, **options)
                else:
                    report = client.import_file(kind, file, **options)
    except ImportRejected as exc:
        _print_report(exc.report, as_json)
        sys.exit(1)
    except MyDsoError as exc:
        if as_json:
            click.echo(json.dumps({"success": False, "error": type(exc).__name__, "message": str(exc)}))
        else:
            click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    _print_report(report, as_json)
    sys.exit(3 if report.rejected or report.rejected_rows else 0)


@mydso.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--encoding", default="UTF-8", show_default=True)
def check(kind: str, file: Path, encoding: str) -> None:
    """Check FILE locally with the writer's rules and print every rejection (exit 1 if any)."""
    from dsobridge.mydso import check_file

    problems = check_file(kind, file.read_bytes(), encoding=encoding)
    for problem in problems:
        click.echo(f"{file.name}: {problem}")
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"{file.name}: ok")
