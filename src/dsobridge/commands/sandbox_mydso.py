"""``dsobridge sandbox mydso serve``: run the local My DSO Manager emulator (HTTP, async path, FTP drop)."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from dsobridge.commands._serving import idle_until_interrupted, sandbox_day, stop_on_sigterm


def _accounts(values: tuple[str, ...]) -> dict[str, str]:
    accounts: dict[str, str] = {}
    for value in values:
        login, sep, password = value.partition(":")
        if not sep or not login or not password:
            raise click.BadParameter("expected LOGIN:PASSWORD", param_hint="--account")
        accounts[login] = password
    return accounts


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
    "--ftps",
    is_flag=True,
    help="Make the FTP drop explicit FTPS (AUTH TLS), required on control and data channels.",
)
@click.option(
    "--ftps-allow-plain",
    is_flag=True,
    help="With --ftps, also accept sessions that never start TLS (TLS offered, not required).",
)
@click.option(
    "--ftp-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="FTPS certificate chain, PEM (default: a self-signed one for localhost/127.0.0.1, made at start).",
)
@click.option(
    "--ftp-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="FTPS private key, PEM (default: read from --ftp-cert).",
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
@click.option(
    "--tls",
    is_flag=True,
    help="Serve HTTPS with a generated self-signed certificate; prints CA_FILE= (trust it with "
    "SSL_CERT_FILE).",
)
def serve(
    port: int,
    host: str,
    ftp_port: int | None,
    ftps: bool,
    ftps_allow_plain: bool,
    ftp_cert: Path | None,
    ftp_key: Path | None,
    account_values: tuple[str, ...],
    db: Path | None,
    today: str | None,
    max_body_mib: int,
    tls: bool,
) -> None:
    """Serve /api/{items|clients|contacts|users}, /apiPutFiles/ and the ledger; prints where and who.

    Passwords given with --account are not printed; the demo account's password is (it is a test secret).
    With --ftps, FTP_CERT= names the certificate a client should trust (never the key).
    """
    from dsobridge.sandbox import KeepAlive, LoopbackServer
    from dsobridge.sandbox.mydso import MyDsoSandbox
    from dsobridge.sandbox.tls import TlsServer

    if (ftps or ftps_allow_plain or ftp_cert or ftp_key) and ftp_port is None:
        raise click.UsageError("--ftps, --ftps-allow-plain, --ftp-cert and --ftp-key need --ftp-port")
    if (ftps_allow_plain or ftp_cert or ftp_key) and not ftps:
        raise click.UsageError("--ftps-allow-plain, --ftp-cert and --ftp-key need --ftps")
    if ftp_key and not ftp_cert:
        raise click.UsageError("--ftp-key needs --ftp-cert")
    accounts = _accounts(account_values)
    sb = MyDsoSandbox(
        db, accounts=accounts or None, today=sandbox_day(today), max_body_bytes=max_body_mib << 20
    )
    # My DSO Manager's limits are not public: the common server default, as the Dynaccount sandbox (5 s, 100)
    server = (TlsServer if tls else LoopbackServer)(
        sb.app, host=host, port=port, keepalive=KeepAlive()
    ).start()
    # SIGTERM (a service manager, `kill`) stops as cleanly as Ctrl-C: servers stopped, temporary db removed
    previous_term = stop_on_sigterm()
    try:
        base = server.url
        click.echo(f"BASE_URL={base}/api/")
        click.echo(f"ASYNC_URL={base}/apiPutFiles/")
        if isinstance(server, TlsServer):
            click.echo(f"CA_FILE={server.certfile}")
        if ftp_port is not None:
            try:
                ftp_host, bound = sb.start_ftp(
                    host,
                    ftp_port,
                    tls=ftps,
                    certfile=ftp_cert,
                    keyfile=ftp_key,
                    tls_control_required=not ftps_allow_plain,
                    tls_data_required=not ftps_allow_plain,
                )
            except (OSError, ValueError) as exc:
                raise click.ClickException(f"cannot start the FTP drop: {exc}") from None
            click.echo(f"FTP={ftp_host}:{bound}")
            if ftps and sb.ftp is not None:
                click.echo(f"FTP_TLS={'optional' if ftps_allow_plain else 'required'}")
                click.echo(f"FTP_CERT={sb.ftp.certfile}")
        for login in sb.accounts:
            click.echo(f"LOGIN={login}")
            if not accounts:
                click.echo(f"PASSWORD={sb.accounts[login]}")
        click.echo(
            f"My DSO Manager sandbox on {base} (clock {sb.today}, db {sb.store.path}); Ctrl-C to stop.",
            err=True,
        )
        idle_until_interrupted()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        server.stop()
        sb.close()
