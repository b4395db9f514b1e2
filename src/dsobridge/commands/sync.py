"""``dsobridge init | check | sync | export | history | show``: the commands an integrator runs."""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from dsobridge.logs import use_config_defaults
from dsobridge.sync.config import (
    DEFAULT_CONFIG_NAME,
    FILE_KINDS,
    SECRET_ENV,
    ConfigError,
    SyncConfig,
    load_config,
    render_template,
)
from dsobridge.sync.run import EXIT_CONFIG, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, SyncOptions

CONFIG_ENV = "DSOBRIDGE_CONFIG"
log = logging.getLogger("dsobridge.sync")


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
    """The configuration, or each of its problems on stderr (``file:line: …``) and exit 2."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        problems = exc.problems
    else:
        use_config_defaults(config.logging.level, config.logging.format)
        return config
    err = _err_console()
    for problem in problems:
        err.print(problem, markup=False)
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
    default=None,
    help="Also create this owner-only (mode 600) file for the secrets and name it in [secrets]. "
    "Default: none, the secrets come from the environment.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def init_command(
    path: Path,
    api_id: int,
    dynaccount_url: str,
    mydso_url: str,
    mydso_login: str,
    secrets_file: str | None,
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
    if secrets_file:
        _create_secrets_file(path, secrets_file, console)
    required = ("dynaccount_api_key", "dynaccount_api_secret", "mydso_password")
    names = ", ".join(SECRET_ENV[name] for name in required)
    where = "the environment or the secrets file" if secrets_file else "the environment"
    console.print(f"secrets: {names} in {where}; then run `dsobridge check`", markup=False)


def _create_secrets_file(config_path: Path, secrets_file: str, console: Console) -> None:
    """An empty owner-only secrets file (kept if it exists), relative to the config file's folder."""
    secrets = Path(os.path.expanduser(secrets_file))
    if not secrets.is_absolute():
        secrets = config_path.resolve().parent / secrets
    if secrets.exists():
        return
    secrets.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(
            "# dsobridge secrets — readable by its owner only (chmod 600). Fill in and keep out of git.\n"
            '# dynaccount_api_key = ""\n# dynaccount_api_secret = ""\n# mydso_password = ""\n'
            '# mydso_ftp_password = ""   # default: mydso_password\n# alert_urls = []\n'
        )
    console.print(f"created {secrets} (mode 600): put the secrets there or in the environment", markup=False)


# -------------------------------------------------------------------------------------------------------- che
@click.command("check")
@config_option
@json_option
def check_command(config_path: Path, as_json: bool) -> None:
    """Verify both ends (credentials, reachability, signature) and the state store.

    Exit 0 when every check passed, 1 otherwise (2: configuration error). With --json: a list of
    {"check", "ok", "detail", "kind", "action"} objects, for a monitoring probe.
    """
    from dsobridge.sync.check import check_endpoints

    config = _load(config_path)
    checks = check_endpoints(config)
    console = _console()
    if as_json:
        console.print_json(data=[c.to_json() for c in checks])
    else:
        for c in checks:
            mark = "[green]OK[/green]  " if c.ok else "[red]FAIL[/red]"
            if console.is_terminal:
                console.print(f"{mark} {c.check}: ", end="")
                console.print(c.detail, markup=False)
                if c.action:
                    console.print(f"      next step: {c.action}", markup=False)
            else:
                step = f" — next step: {c.action}" if c.action else ""
                console.print(f"{'OK' if c.ok else 'FAIL'} {c.check}: {c.detail}{step}", markup=False)
    sys.exit(EXIT_OK if all(c.ok for c in checks) else EXIT_FAILED)


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
    *,
    plan: bool = False,
) -> SyncOptions:
    months = parse_history(history)
    return SyncOptions(
        mode=mode,
        only=parse_only(only),
        dry_run=dry_run,
        force=force,
        allow_mismatch=allow_mismatch,
        history_months=config.history_months if months is None else months,
        plan=plan,
    )


def run_from_cli(config: SyncConfig, options: SyncOptions, *, progress: bool) -> Any:
    """One run for a command: SIGTERM stops it like Ctrl-C (the run is marked ``interrupted``, its lock
    released and its files deleted; exit 130 / 143); a state of another company exits 2."""
    from dsobridge.commands._serving import stop_on_sigterm
    from dsobridge.sync.runner import run_sync
    from dsobridge.sync.state import StateMismatch

    previous = stop_on_sigterm()
    try:
        if progress:
            with RichProgress(_err_console()) as bar:
                return run_sync(config, options, progress=bar)
        return run_sync(config, options)
    except StateMismatch as exc:
        log.error("%s", exc)
        sys.exit(EXIT_CONFIG)
    except KeyboardInterrupt as exc:
        log.error("interrupted: the run is marked interrupted, its lock released, its files deleted")
        sys.exit(getattr(exc, "code", EXIT_INTERRUPTED))
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command("sync")
@config_option
@click.option("--mode", type=click.Choice(["stock", "delta"]), default="stock", show_default=True)
@click.option("--only", metavar="FILES", help="Comma-separated subset of clients,contacts,users,items.")
@click.option("--history", metavar="N[m]", help="Also send items settled in the last N months (e.g. 6m).")
@click.option("--dry-run", is_flag=True, help="Extract, map and check; send nothing, record no delivery.")
@click.option(
    "--plan", is_flag=True, help="Show what the run would add, update and clear (and why); send nothing."
)
@click.option("--force", is_flag=True, help="Override the guards (unexplained clearings, a source wipe).")
@click.option("--allow-mismatch", is_flag=True, help="Deliver even if Σ open items ≠ debtor balance.")
@json_option
def sync_command(
    config_path: Path,
    mode: str,
    only: str | None,
    history: str | None,
    dry_run: bool,
    plan: bool,
    force: bool,
    allow_mismatch: bool,
    as_json: bool,
) -> None:
    """Extract receivables from Dynaccount and deliver them to My DSO Manager.

    Exit codes: 0 success, 1 failed, 2 configuration error, 3 refused by a safety guard,
    130 / 143 interrupted (Ctrl-C / SIGTERM).
    """
    from dsobridge.sync.report import print_result

    config = _load(config_path)
    options = _sync_options(mode, only, dry_run, force, allow_mismatch, history, config, plan=plan)
    console = _console()
    result = run_from_cli(config, options, progress=console.is_terminal and not as_json)
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

    config = _load(config_path)
    options = _sync_options(mode, only, True, True, True, history, config)
    options.export_dir = directory
    result = run_from_cli(config, options, progress=False)
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
    from dsobridge.sync.state import SqliteStateStore

    config = _load(config_path)
    with SqliteStateStore(config.state_path) as state:
        print_runs(state.runs(limit), _console(), as_json=as_json)


@click.command("show")
@click.argument("run_id", type=int)
@config_option
@json_option
def show_command(run_id: int, config_path: Path, as_json: bool) -> None:
    """One run and its delivery reports."""
    from dsobridge.sync.report import print_run
    from dsobridge.sync.state import SqliteStateStore

    config = _load(config_path)
    with SqliteStateStore(config.state_path) as state:
        run = state.run(run_id)
        if run is None:
            _err_console().print(f"no run {run_id} in {config.state_path}", markup=False)
            sys.exit(EXIT_FAILED)
        print_run(run, state.reports(run_id), _console(), as_json=as_json)


@click.command("unlock")
@config_option
@click.option("--force", is_flag=True, help="Remove a lock of ANOTHER host (its process cannot be seen).")
def unlock_command(config_path: Path, force: bool) -> None:
    """Show who holds the run lock and remove it when that process is gone (never while it is alive)."""
    from dsobridge.sync.state import SqliteStateStore, holder_alive
    from dsobridge.sync.state.base import utcnow

    config = _load(config_path)
    console = _console()
    with SqliteStateStore(config.state_path) as state:
        holder = state.lock_holder()
        if holder is None:
            console.print(f"no run holds the lock of {config.state_path}", markup=False)
            sys.exit(EXIT_OK)
        age = holder.age_seconds(utcnow())
        run = f"run {holder.run_id}" if holder.run_id else "no run started yet"
        console.print(
            f"lock held by pid {holder.pid} on {holder.host} for {age / 60:.0f} min ({run}, since "
            f"{holder.acquired_at.isoformat(timespec='seconds')})",
            markup=False,
        )
        alive = holder_alive(holder)
        if alive or (alive is None and not force):
            why = "is alive" if alive else "runs on another host: it cannot be seen from here (--force)"
            log.error("not unlocked: pid %s on %s %s", holder.pid, holder.host, why)
            sys.exit(EXIT_FAILED)
        if not state.break_lock(holder):
            log.error("not unlocked: the lock changed hands meanwhile")
            sys.exit(EXIT_FAILED)
    console.print("lock removed; the next run marks that run interrupted and starts afresh", markup=False)
