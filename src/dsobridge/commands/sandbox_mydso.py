"""``dsobridge sandbox mydso serve``: run the local My DSO Manager emulator (HTTP, async path, FTP drop)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click


def _accounts(values: tuple[str, ...]) -> dict[str, str]:
    accounts: dict[str, str] = {}
    for value in values:
        login, sep, password = value.partition(":")
        if not sep or not login or not password:
            raise click.BadParameter("expected LOGIN:PASSWORD", param_hint="--account")
        accounts[login] = password
    return accounts


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD", param_hint="--today") from None


@click.group()
def mydso() -> None:
    """The local My DSO Manager sandbox (import interface and receivables ledger over SQLite)."""


@mydso.command()
@click.option("--port", type=int, default=8082, show_default=True, help="HTTP port (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--ftp-port", type=int, default=None, help="Also run the FTP drop on this port (0: any free port)."
)
@click.option(
    "--account",
    "account_values",
    multiple=True,
    metavar="LOGIN:PASSWORD",
    help="An API account (repeatable). Without one, a demo account is created and its password printed.",
)
@click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), help="SQLite file (default: a temporary one)."
)
@click.option("--today", help="Sandbox clock, YYYY-MM-DD (default: the real date).")
@click.option("--max-body-mib", type=int, default=256, show_default=True, help="Body size cap (413 above).")
def serve(
    port: int,
    host: str,
    ftp_port: int | None,
    account_values: tuple[str, ...],
    db: Path | None,
    today: str | None,
    max_body_mib: int,
) -> None:
    """Serve /api/{items|clients|contacts|users}, /apiPutFiles/ and the ledger; prints where and who.

    Passwords given with --account are not printed; the demo account's password is (it is a test secret).
    """
    from dsobridge.sandbox import LoopbackServer
    from dsobridge.sandbox.mydso import MyDsoSandbox

    accounts = _accounts(account_values)
    sb = MyDsoSandbox(db, accounts=accounts or None, today=_date(today), max_body_bytes=max_body_mib << 20)
    server = LoopbackServer(sb.app, host=host, port=port).start()
    base = f"http://{host}:{server.port}"
    click.echo(f"BASE_URL={base}/api/")
    click.echo(f"ASYNC_URL={base}/apiPutFiles/")
    if ftp_port is not None:
        ftp_host, bound = sb.start_ftp(host, ftp_port)
        click.echo(f"FTP={ftp_host}:{bound}")
    for login in sb.accounts:
        click.echo(f"LOGIN={login}")
        if not accounts:
            click.echo(f"PASSWORD={sb.accounts[login]}")
    click.echo(
        f"My DSO Manager sandbox on {base} (clock {sb.today}, db {sb.store.path}); Ctrl-C to stop.", err=True
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        sb.close()
