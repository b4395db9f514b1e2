"""``dsobridge sandbox dynaccount serve|seed``: run or fill the local Dynaccount emulator."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import click

from dsobridge.commands._serving import idle_until_interrupted, sandbox_day, stop_on_sigterm

DEFAULT_DB = Path("dynaccount-sandbox.sqlite3")


@click.group()
def dynaccount() -> None:
    """The local Dynaccount sandbox (API v5/v7 over SQLite)."""


@dynaccount.command()
@click.option("--port", type=int, default=8081, show_default=True, help="TCP port (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file (default: a temporary, freshly seeded demo company).",
)
@click.option("--today", help="Sandbox clock, YYYY-MM-DD (default: the stored clock or today).")
@click.option(
    "--debtors", type=int, default=300, show_default=True, help="Demo size when seeding a new database."
)
@click.option(
    "--invoices", type=int, default=5000, show_default=True, help="Demo size when seeding a new database."
)
@click.option(
    "--api-key", envvar="DSOBRIDGE_SANDBOX_API_KEY", help="Fixed API_KEY (default: random per run)."
)
@click.option(
    "--api-secret", envvar="DSOBRIDGE_SANDBOX_API_SECRET", help="Fixed API_SECRET (default: random per run)."
)
@click.option(
    "--tls",
    is_flag=True,
    help="Serve HTTPS with a generated self-signed certificate; prints CA_FILE= (trust it with "
    "SSL_CERT_FILE).",
)
def serve(
    port: int,
    host: str,
    db: Path | None,
    today: str | None,
    debtors: int,
    invoices: int,
    api_key: str | None,
    api_secret: str | None,
    tls: bool,
) -> None:
    """Serve the sandbox API; prints API_ID=…, API_KEY=…, API_SECRET=… and the base URL.

    The key and secret are random for each run unless given (options or environment variables); they are
    never stored in the database. With --tls the base URL is https:// and CA_FILE= names the certificate to
    trust (a client's default https path uses it with SSL_CERT_FILE=<CA_FILE>).
    """
    from dsobridge.sandbox import KeepAlive, LoopbackServer
    from dsobridge.sandbox.dynaccount import Credentials, DynaccountSandbox
    from dsobridge.sandbox.dynaccount.sandbox import temporary_db
    from dsobridge.sandbox.tls import TlsServer

    if (api_key or api_secret) and not (api_key and api_secret and api_key.isascii() and api_key.isalnum()):
        raise click.BadParameter("give both --api-key (letters and digits) and --api-secret")
    fresh = db is None
    path = db or temporary_db()
    sb = DynaccountSandbox(path, today=sandbox_day(today))
    if api_key and api_secret:
        sb.credentials = Credentials(sb.credentials.api_id, api_key, api_secret)
    if fresh:
        sb.seed(debtors=debtors, invoices=invoices, seed=1)
    # the real server's limits (seed: Keep-Alive: timeout=5, max=100)
    server = (TlsServer if tls else LoopbackServer)(
        sb.app, host=host, port=port, keepalive=KeepAlive()
    ).start()
    creds = sb.credentials
    click.echo(f"API_ID={creds.api_id}")
    click.echo(f"API_KEY={creds.api_key}")
    click.echo(f"API_SECRET={creds.api_secret}")
    click.echo(f"BASE_URL={server.url}")
    if isinstance(server, TlsServer):
        click.echo(f"CA_FILE={server.certfile}")
    click.echo(
        f"Dynaccount sandbox on {server.url} (clock {sb.today}, database {path}"
        f"{', removed on exit' if fresh else ''}); Ctrl-C to stop.",
        err=True,
    )
    stop_on_sigterm()  # `kill` stops it as cleanly as Ctrl-C
    try:
        idle_until_interrupted()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        sb.close()
        if fresh:  # the demo company lives only as long as the server
            shutil.rmtree(path.parent, ignore_errors=True)


@dynaccount.command()
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DB,
    show_default=True,
    help="SQLite file to (re)fill (serve it with `serve --db`).",
)
@click.option("--debtors", type=int, default=300, show_default=True)
@click.option("--invoices", type=int, default=5000, show_default=True)
@click.option(
    "--seed",
    "seed_value",
    type=int,
    default=1,
    show_default=True,
    help="Random seed (same seed, same company).",
)
@click.option("--today", help="Sandbox clock, YYYY-MM-DD (default: today).")
@click.option(
    "--open-share",
    type=click.FloatRange(0, 1),
    default=None,
    help="Share of the invoices still open at the clock date, 0..1 (default: the payment behaviour decides, "
    "about 0.1). 1M open items: --debtors 100000 --invoices 1100000 --open-share 0.9.",
)
def seed(
    db: Path, debtors: int, invoices: int, seed_value: int, today: str | None, open_share: float | None
) -> None:
    """Build a deterministic Danish company in --db (replaces its data, keeps its API_ID)."""
    from dsobridge.sandbox.dynaccount import DynaccountSandbox

    if debtors < 1 or invoices < 0:
        raise click.BadParameter("need --debtors ≥ 1 and --invoices ≥ 0")
    started = time.perf_counter()
    with DynaccountSandbox(db, today=sandbox_day(today) or dt.date.today()) as sb:
        counts = sb.seed(debtors=debtors, invoices=invoices, seed=seed_value, open_share=open_share)
        open_items = sb.open_item_count()
        click.echo(
            f"Seeded {counts['debtor']} debtors, {counts['debtor_invoice']} invoices, "
            f"{counts['debtor_creditnote']} credit notes, {counts['payments']} payments "
            f"in {time.perf_counter() - started:.1f} s (clock {sb.today}); {open_items} open items."
        )
        click.echo(f"Database: {db} (serve it: dsobridge sandbox dynaccount serve --db {db})")
