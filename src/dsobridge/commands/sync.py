"""``dsobridge init | check | sync | export | history | show``: the commands an integrator runs."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from dsobridge.sync.config import (
    DEFAULT_CONFIG_NAME,
    FILE_KINDS,
    ConfigError,
    SyncConfig,
    load_config,
    render_template,
)
from dsobridge.sync.engine import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, SyncOptions

CONFIG_ENV = "DSOBRIDGE_CONFIG"


def _console() -> Console:
    """stdout; plain lines (no wrapping) when it is not a terminal, so logs and pipes stay greppable."""
    return Console(highlight=False, soft_wrap=True)


def _err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def config_option(f: Any) -> Any:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=CONFIG_ENV,
        default=DEFAULT_CONFIG_NAME,
        show_default=True,
        help=f"Config file (or ${CONFIG_ENV}).",
    )(f)


def json_option(f: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")(f)


def _load(config_path: Path) -> SyncConfig:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        _err_console().print(f"configuration error: {exc}", markup=False)
        sys.exit(EXIT_CONFIG)


def parse_history(value: str | None) -> int | None:
    """``6m``, ``6`` or ``12months`` → months; ``None`` stays ``None``."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*(m|mo|month|months)?\s*", value.lower())
    if not match:
        raise click.BadParameter(f"{value!r}: give a number of months, e.g. 6m")
    return int(match.group(1))


def parse_only(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset(FILE_KINDS)
    kinds = {v.strip().lower() for v in value.split(",") if v.strip()}
    unknown = kinds - set(FILE_KINDS)
    if unknown:
        raise click.BadParameter(f"unknown file(s) {sorted(unknown)}; choose from {', '.join(FILE_KINDS)}")
    return frozenset(kinds)


# --------------------------------------------------------------------------------------------------------- in
@click.command("init")
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG_NAME,
    show_default=True,
    help="Where to write the config file.",
)
@click.option("--api-id", type=int, default=0, help="Dynaccount API_ID of the accounting.")
@click.option("--dynaccount-url", default="https://api.dynaccount.com", show_default=True)
@click.option("--mydso-url", default="https://account.mydsomanager.com", show_default=True)
@click.option("--mydso-login", default="", help="My DSO Manager API login (not the password).")
@click.option(
    "--secrets-file",
    default="~/.config/dsobridge/secrets.toml",
    show_default=True,
    help="Owner-only file for the secrets; created empty (mode 600) if missing.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def init_command(
    path: Path,
    api_id: int,
    dynaccount_url: str,
    mydso_url: str,
    mydso_login: str,
    secrets_file: str,
    force: bool,
) -> None:
    """Write a commented config file (dsobridge.toml). Secrets never go in it, nor on the command line."""
    console = _console()
    if path.exists() and not force:
        _err_console().print(f"{path} exists; use --force to overwrite it", markup=False)
        sys.exit(EXIT_CONFIG)
    path.write_text(
        render_template(
            api_id=api_id,
            dynaccount_url=dynaccount_url,
            mydso_url=mydso_url,
            mydso_login=mydso_login,
            secrets_file=secrets_file,
        ),
        encoding="utf-8",
    )
    console.print(f"wrote {path}", markup=False)
    secrets = Path(os.path.expanduser(secrets_file))
    if not secrets.is_absolute():
        secrets = path.resolve().parent / secrets
    if not secrets.exists():
        secrets.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(
                "# dsobridge secrets — readable by its owner only (chmod 600). Fill in and keep out of git.\n"
                '# dynaccount_api_key = ""\n# dynaccount_api_secret = ""\n# mydso_password = ""\n'
            )
        console.print(
            f"created {secrets} (mode 600): put the secrets there, or use the environment", markup=False
        )
    console.print(
        "secrets: DSOBRIDGE_DYNACCOUNT_API_KEY, DSOBRIDGE_DYNACCOUNT_API_SECRET, DSOBRIDGE_MYDSO_PASSWORD "
        "(environment) or the secrets file; then run `dsobridge check`",
        markup=False,
    )


# -------------------------------------------------------------------------------------------------------- che
def check_endpoints(
    config: SyncConfig, *, dynaccount_transport: Any = None, mydso_transport: Any = None
) -> list:
    """``[(what, ok, detail)]`` for Dynaccount, My DSO Manager and the state store; nothing is changed."""
    from dsobridge.dynaccount import AuthError, DynaccountError
    from dsobridge.dynaccount import TransportError as DynTransportError
    from dsobridge.mydso import AccessDenied, ImportRejected, MyDsoError
    from dsobridge.mydso import TransportError as DsoTransportError
    from dsobridge.sync.delivery import dynaccount_client, mydso_client
    from dsobridge.sync.state import StateStore

    checks: list[tuple[str, bool, str]] = []
    dyn = config.dynaccount
    try:
        with dynaccount_client(dyn, transport=dynaccount_transport) as client:
            rows = client.get("debtor", limit=(0, 1))
        checks.append(
            ("Dynaccount", True, f"{dyn.base_url} answered a signed {dyn.version} request ({len(rows)} row)")
        )
    except AuthError as exc:
        payload = getattr(exc, "error", None)
        if isinstance(payload, dict) and "hash" in payload:
            detail = (
                "the request signature was refused: API_SECRET is wrong (API_ID and API_KEY were accepted)"
            )
        else:
            detail = "API_ID or API_KEY is unknown to Dynaccount"
        checks.append(("Dynaccount", False, detail))
    except DynTransportError:
        checks.append(("Dynaccount", False, f"cannot reach {dyn.base_url} (network, DNS, TLS or timeout)"))
    except DynaccountError as exc:
        checks.append(("Dynaccount", False, f"unexpected answer: {type(exc).__name__}: {exc}"))

    md = config.mydso
    try:
        with mydso_client(md, transport=mydso_transport) as dso:
            # a header-only contacts file: authenticated, then refused as CSV_EMPTY; it imports nothing
            dso.import_file("contacts", b'"client_code";"contact_lastname"\r\n')
        checks.append(("My DSO Manager", True, "login accepted"))
    except ImportRejected as exc:
        if exc.error_code == "CSV_EMPTY":
            checks.append(
                (
                    "My DSO Manager",
                    True,
                    f"{md.base_url}: login accepted (empty probe file refused as expected)",
                )
            )
        else:
            checks.append(("My DSO Manager", False, f"probe refused with {exc.error_code}"))
    except AccessDenied:
        checks.append(
            ("My DSO Manager", False, f"ACCESS_DENIED: the login {md.login!r} or its password is wrong")
        )
    except DsoTransportError:
        checks.append(("My DSO Manager", False, f"cannot reach {md.base_url} (network, DNS, TLS or timeout)"))
    except MyDsoError as exc:
        checks.append(("My DSO Manager", False, f"unexpected answer: {type(exc).__name__}: {exc}"))

    try:
        with StateStore(config.state_path) as state:
            runs = state.runs(1)
            held = state.db.execute("SELECT pid, host FROM lock").fetchone()
        last = f"last run {runs[0].id} {runs[0].status}" if runs else "no run yet"
        lock = f"; locked by pid {held[0]} on {held[1]}" if held else ""
        checks.append(("state store", True, f"{config.state_path}: {last}{lock}"))
    except Exception as exc:
        checks.append(("state store", False, f"{config.state_path}: {type(exc).__name__}: {exc}"))
    return checks


@click.command("check")
@config_option
@json_option
def check_command(config_path: Path, as_json: bool) -> None:
    """Verify both ends (credentials, reachability, signature) and the state store."""
    config = _load(config_path)
    checks = check_endpoints(config)
    console = _console()
    if as_json:
        console.print_json(data=[{"check": w, "ok": ok, "detail": d} for w, ok, d in checks])
    else:
        for what, ok, detail in checks:
            mark = "[green]OK[/green]  " if ok else "[red]FAIL[/red]"
            if console.is_terminal:
                console.print(f"{mark} {what}: ", end="")
                console.print(detail, markup=False)
            else:
                console.print(f"{'OK' if ok else 'FAIL'} {what}: {detail}", markup=False)
    sys.exit(EXIT_OK if all(ok for _, ok, _ in checks) else EXIT_FAILED)


# --------------------------------------------------------------------------------------------------------- sy
class RichProgress:
    """Progress per stage (rows read) on a terminal."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}
        self.current: str | None = None

    def stage(self, name: str) -> None:
        if self.current is not None and self.current in self.tasks:
            task = self.tasks[self.current]
            done = self.progress.tasks[task].completed
            self.progress.update(task, total=max(done, 1), completed=max(done, 1))
        self.current = name
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=None)

    def advance(self, name: str, n: int = 1) -> None:
        task = self.tasks.get(name)
        if task is not None:
            self.progress.advance(task, n)

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stage("done")
        self.progress.remove_task(self.tasks["done"])
        self.progress.stop()


def _sync_options(
    mode: str,
    only: str | None,
    dry_run: bool,
    force: bool,
    allow_mismatch: bool,
    history: str | None,
    config: Any,
) -> SyncOptions:
    months = parse_history(history)
    return SyncOptions(
        mode=mode,
        only=parse_only(only),
        dry_run=dry_run,
        force=force,
        allow_mismatch=allow_mismatch,
        history_months=config.history_months if months is None else months,
    )


@click.command("sync")
@config_option
@click.option("--mode", type=click.Choice(["stock", "delta"]), default="stock", show_default=True)
@click.option("--only", metavar="FILES", help="Comma-separated subset of clients,contacts,users,items.")
@click.option("--history", metavar="N[m]", help="Also send items settled in the last N months (e.g. 6m).")
@click.option("--dry-run", is_flag=True, help="Extract, map and check; send nothing, record no delivery.")
@click.option("--force", is_flag=True, help="Override the STOCK guards (skipped clients, drop > max_drop).")
@click.option("--allow-mismatch", is_flag=True, help="Deliver even if Σ open items ≠ debtor balance.")
@json_option
def sync_command(
    config_path: Path,
    mode: str,
    only: str | None,
    history: str | None,
    dry_run: bool,
    force: bool,
    allow_mismatch: bool,
    as_json: bool,
) -> None:
    """Extract receivables from Dynaccount and deliver them to My DSO Manager.

    Exit codes: 0 success, 1 failed, 2 configuration error, 3 refused by a safety guard.
    """
    from dsobridge.sync.report import print_result
    from dsobridge.sync.runner import run_sync

    config = _load(config_path)
    options = _sync_options(mode, only, dry_run, force, allow_mismatch, history, config)
    console = _console()
    if console.is_terminal and not as_json:
        with RichProgress(_err_console()) as progress:
            result = run_sync(config, options, progress=progress)
    else:
        result = run_sync(config, options)
    print_result(result, console, as_json=as_json)
    sys.exit(result.exit_code)


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@config_option
@click.option("--mode", type=click.Choice(["stock", "delta"]), default="stock", show_default=True)
@click.option("--only", metavar="FILES", help="Comma-separated subset of clients,contacts,users,items.")
@click.option("--history", metavar="N[m]", help="Also write the items settled in the last N months.")
@json_option
def export_command(
    directory: Path, config_path: Path, mode: str, only: str | None, history: str | None, as_json: bool
) -> None:
    """Write the files as they would be sent to DIRECTORY, without sending anything."""
    from dsobridge.sync.report import print_result
    from dsobridge.sync.runner import run_sync

    config = _load(config_path)
    options = _sync_options(mode, only, True, True, True, history, config)
    options.export_dir = directory
    result = run_sync(config, options)
    console = _console()
    print_result(result, console, as_json=as_json)
    if not as_json:
        for f in result.files:
            if f.path:
                console.print(f"wrote {f.path} ({f.rows} rows)", markup=False)
    sys.exit(result.exit_code)


@click.command("history")
@config_option
@click.option("--limit", type=int, default=20, show_default=True)
@json_option
def history_command(config_path: Path, limit: int, as_json: bool) -> None:
    """Past runs, newest first."""
    from dsobridge.sync.report import print_runs
    from dsobridge.sync.state import StateStore

    config = _load(config_path)
    with StateStore(config.state_path) as state:
        print_runs(state.runs(limit), _console(), as_json=as_json)


@click.command("show")
@click.argument("run_id", type=int)
@config_option
@json_option
def show_command(run_id: int, config_path: Path, as_json: bool) -> None:
    """One run and its delivery reports."""
    from dsobridge.sync.report import print_run
    from dsobridge.sync.state import StateStore

    config = _load(config_path)
    with StateStore(config.state_path) as state:
        run = state.run(run_id)
        if run is None:
            _err_console().print(f"no run {run_id} in {config.state_path}", markup=False)
            sys.exit(EXIT_FAILED)
        print_run(run, state.reports(run_id), _console(), as_json=as_json)
