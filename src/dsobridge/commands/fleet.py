"""``dsobridge fleet …``: many companies on PostgreSQL and a job queue (see docs/fleet.md).

Every command reads ``$DSOBRIDGE_FLEET_DATABASE_URL`` (or ``--database-url``) and ``$DSOBRIDGE_FLEET_SCHEMA``;
the commands that touch secrets also ``$DSOBRIDGE_FLEET_KEYS``. Errors exit 2 with one line on stderr.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

EXIT_USAGE = 2


@contextmanager
def _errors() -> Iterator[None]:
    """Our own errors (config, tenants, keys, limits, database, dashboard users) as one line and exit 2."""
    import psycopg

    from dsobridge.fleet.crypto import SecretsUnreadable
    from dsobridge.fleet.limits import LimitError
    from dsobridge.fleet.settings import FleetConfigError
    from dsobridge.fleet.tenants import TenantError
    from dsobridge.sync.config import ConfigError

    try:
        yield
    except (FleetConfigError, TenantError, ConfigError, SecretsUnreadable, LimitError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        click.echo(f"error: the fleet database cannot be reached ({first})", err=True)
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        # the dashboard users' errors (``fleet serve``, ``fleet user …``); looked up, not imported, so that
        # every other command does not load the web server: if its module is not loaded, it raised nothing
        users = sys.modules.get("dsobridge.fleet.web.users")
        if users is None or not isinstance(exc, users.UserError):
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


class Context:
    """What the sub-commands share: the settings and, on first use, the database."""

    def __init__(self, database_url: str | None, schema: str | None) -> None:
        self._overrides = {"database_url": database_url, "schema": schema}
        self._db: Any = None

    @property
    def settings(self) -> Any:
        from dsobridge.fleet.settings import FleetSettings

        return FleetSettings.from_env(**self._overrides)

    @property
    def db(self) -> Any:
        if self._db is None:
            from dsobridge.fleet.db import FleetDatabase

            self._db = FleetDatabase.from_settings(self.settings, application="dsobridge-cli", pool_size=2)
        return self._db

    def registry(self) -> Any:
        from dsobridge.fleet.tenants import TenantRegistry

        return TenantRegistry(self.db)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


pass_context = click.make_pass_decorator(Context)


def _command(group: click.Group, name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """A sub-command that runs inside ``_errors()``."""

    def wrap(f: Callable[..., Any]) -> Any:
        @functools.wraps(f)  # keeps the Click parameters declared on ``f``
        def run(*args: Any, **kw: Any) -> Any:
            with _errors():
                return f(*args, **kw)

        return group.command(name, **kwargs)(run)

    return wrap


@click.group("fleet")
@click.option("--database-url", envvar="DSOBRIDGE_FLEET_DATABASE_URL", help="PostgreSQL URL of the fleet.")
@click.option("--schema", envvar="DSOBRIDGE_FLEET_SCHEMA", help="Schema of the fleet (default dsobridge).")
@click.pass_context
def fleet(ctx: click.Context, database_url: str | None, schema: str | None) -> None:
    """Many companies on PostgreSQL and a job queue: tenants, workers, limits."""
    context = Context(database_url, schema)
    ctx.obj = context
    ctx.call_on_close(context.close)


def _json_out(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def _echo_tenant(t: Any) -> None:
    state = "enabled" if t.enabled else "DISABLED"
    click.echo(
        f"{t.name:<24} {t.id:>6}  {state:<8}  Dynaccount {t.dynaccount_api_id} → My DSO {t.mydso_login}"
    )


# --- schema and keys ---------------------------------------------------------------------------------------


@_command(fleet, "migrate")
@pass_context
def migrate(ctx: Context) -> None:
    """Create or upgrade the fleet's tables (workers do it too when they start)."""
    applied = ctx.db.migrate()
    for name in applied:
        click.echo(f"applied: {name}")
    click.echo(f"schema {ctx.db.schema} is up to date ({len(applied)} step(s) applied)")


@_command(fleet, "new-key")
def new_key() -> None:
    """Print a new encryption key for $DSOBRIDGE_FLEET_KEYS."""
    from dsobridge.fleet.crypto import Keyring

    click.echo(Keyring.new_key())


@_command(fleet, "rotate-keys")
@pass_context
def rotate_keys(ctx: Context) -> None:
    """Re-encrypt every tenant's secrets under the FIRST key of $DSOBRIDGE_FLEET_KEYS."""
    count = ctx.registry().rotate_keys()
    click.echo(f"{count} tenant(s) re-encrypted under the first key; the other keys can now be dropped")


# --- tenants -----------------------------------------------------------------------------------------------


@_command(fleet, "add")
@click.argument("name")
@click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@pass_context
def add(ctx: Context, name: str, config_path: Path) -> None:
    """Add a tenant from a dsobridge.toml; its secrets come from the usual environment variables."""
    from dsobridge.fleet.tenants import secrets_from_env

    tenant = ctx.registry().add(name, config_path.read_text(encoding="utf-8"), secrets_from_env())
    click.echo(f"added {tenant.describe()} (id {tenant.id})")


@_command(fleet, "update")
@click.argument("name")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--secrets", "new_secrets", is_flag=True, help="Replace the secrets from the environment.")
@pass_context
def update(ctx: Context, name: str, config_path: Path | None, new_secrets: bool) -> None:
    """Replace a tenant's settings (--config) and/or secrets (--secrets); its state is kept."""
    from dsobridge.fleet.tenants import secrets_from_env

    if config_path is None and not new_secrets:
        raise click.UsageError("give --config PATH and/or --secrets")
    tenant = ctx.registry().update(
        name,
        config_text=None if config_path is None else config_path.read_text(encoding="utf-8"),
        secrets=secrets_from_env() if new_secrets else None,
    )
    click.echo(f"updated {tenant.describe()}")


@_command(fleet, "list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
@pass_context
def list_command(ctx: Context, as_json: bool) -> None:
    """Tenants with their last run and freshness, failing ones first."""
    from dsobridge.fleet.status import fleet_overview

    overview = fleet_overview(ctx.db)
    if as_json:
        _json_out([_status_json(s) for s in overview])
        return
    if not overview:
        click.echo("no tenant yet: add one with `dsobridge fleet add NAME --config dsobridge.toml`")
    for s in overview:
        run = s.last_run
        last = "never run" if run is None else f"{run.mode} {run.status} {run.started_at:%Y-%m-%d %H:%M}"
        age = s.freshness_seconds()
        fresh = "no success yet" if age is None else f"last success {age / 3600:.1f} h ago"
        state = "" if s.tenant.enabled else " DISABLED"
        click.echo(f"{s.tenant.name:<24} {last:<36} {fresh}{state}")


def _status_json(s: Any) -> dict[str, Any]:
    return {
        "id": s.tenant.id,
        "name": s.tenant.name,
        "enabled": s.tenant.enabled,
        "dynaccount_api_id": s.tenant.dynaccount_api_id,
        "mydso_login": s.tenant.mydso_login,
        "last_run": None if s.last_run is None else vars(s.last_run),
        "last_success_at": s.last_success_at,
        "freshness_seconds": s.freshness_seconds(),
        "open_count": s.open_count,
        "open_total": None if s.open_total is None else str(s.open_total),
        "pending_triggers": s.pending_triggers,
    }


@_command(fleet, "show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
@pass_context
def show(ctx: Context, name: str, as_json: bool) -> None:
    """A tenant: its settings (no secret), its lock holder, its triggers and its last runs."""
    from dsobridge.fleet.state_pg import PostgresStateStore
    from dsobridge.fleet.web import HookPaths, migrate_web, public_hook_url

    tenant = ctx.registry().get(name)
    with PostgresStateStore(ctx.db.pool, tenant.id) as state:
        holder, triggers, runs = state.lock_holder(), state.trigger_counts(), state.runs(10)
    migrate_web(ctx.db)
    webhook = public_hook_url(HookPaths(ctx.db).token(tenant.id))
    if as_json:
        _json_out(
            {
                "tenant": {k: v for k, v in vars(tenant).items() if k != "config_text"},
                "webhook_url": webhook,
                "config": tenant.config_text,
                "lock_holder": None if holder is None else holder.describe(),
                "triggers": triggers,
                "runs": [vars(r) for r in runs],
            }
        )
        return
    _echo_tenant(tenant)
    click.echo(f"webhook: {webhook}")
    click.echo(f"lock: {'free' if holder is None else holder.describe()}")
    click.echo("triggers: " + ", ".join(f"{k} {v}" for k, v in triggers.items()))
    for r in runs:
        tail = f"  {r.error}" if r.error else ""
        click.echo(f"run {r.id:>6} {r.started_at} {r.mode:<5} {r.status:<11} open {r.open_count}{tail}")
    click.echo("--- config ---")
    click.echo(tenant.config_text.rstrip())


@_command(fleet, "disable")
@click.argument("name")
@pass_context
def disable(ctx: Context, name: str) -> None:
    """Stop syncing a tenant (queued jobs do nothing; its state is kept)."""
    _echo_tenant(ctx.registry().set_enabled(name, False))


@_command(fleet, "enable")
@click.argument("name")
@pass_context
def enable(ctx: Context, name: str) -> None:
    """Sync a disabled tenant again."""
    _echo_tenant(ctx.registry().set_enabled(name, True))


@_command(fleet, "remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask.")
@pass_context
def remove(ctx: Context, name: str, yes: bool) -> None:
    """Remove a tenant with its whole state (runs, delivered items, triggers)."""
    registry = ctx.registry()
    tenant = registry.get(name)
    if not yes:
        click.confirm(f"remove {tenant.describe()} and all its state?", abort=True)
    registry.remove(tenant.id)
    click.echo(f"removed {tenant.name}")


# --- jobs --------------------------------------------------------------------------------------------------


@_command(fleet, "run")
@click.argument("names", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every enabled tenant.")
@click.option("--mode", type=click.Choice(["delta", "stock"]), default="delta", show_default=True)
@pass_context
def run_command(ctx: Context, names: tuple[str, ...], every: bool, mode: str) -> None:
    """Queue a sync now (one waiting job per tenant and mode: a second request joins it)."""
    from dsobridge.fleet.jobs import FleetQueue

    registry = ctx.registry()
    if every == bool(names):
        raise click.UsageError("name tenants, or give --all")
    tenants = registry.list(enabled_only=True) if every else [registry.get(n) for n in names]
    queue = FleetQueue(ctx.db, ctx.settings)
    with queue.open():
        for tenant in tenants:
            job = queue.enqueue_sync(tenant, mode, "manual")
            click.echo(
                f"{tenant.name}: " + (f"job {job} queued" if job else f"a {mode} job was waiting already")
            )


@_command(fleet, "status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
@pass_context
def status(ctx: Context, as_json: bool) -> None:
    """The queue: jobs by status, the oldest job waiting, live workers."""
    from dsobridge.fleet.jobs import FleetQueue

    stats = FleetQueue(ctx.db, ctx.settings).stats()
    if as_json:
        _json_out(vars(stats))
        return
    click.echo("jobs: " + ", ".join(f"{k} {v}" for k, v in stats.by_status.items()))
    oldest = "-" if stats.oldest_due_seconds is None else f"{stats.oldest_due_seconds:.0f} s"
    click.echo(f"due now: {stats.due} (oldest waiting {oldest}); live workers: {stats.workers}")


@_command(fleet, "limits")
@click.argument("service", required=False, type=click.Choice(["dynaccount", "mydso"]))
@click.option("--rate", type=float, help="Requests per second across the fleet.")
@click.option("--concurrency", type=int, help="Requests in flight at once across the fleet.")
@pass_context
def limits(ctx: Context, service: str | None, rate: float | None, concurrency: int | None) -> None:
    """Show the per-service limits, or change one service's."""
    from dsobridge.fleet.limits import read_limits, set_limit

    if service and (rate is not None or concurrency is not None):
        set_limit(ctx.db, service, rate=rate, concurrency=concurrency)
    elif rate is not None or concurrency is not None:
        raise click.UsageError("name the service whose limits you change")
    for limit in read_limits(ctx.db).values():
        click.echo(f"{limit.service:<11} {limit.rate:g} requests/s, {limit.concurrency} at once")


@_command(fleet, "worker")
@click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True, help="Jobs at once.")
@click.option("--name", help="Worker name in logs (default: Procrastinate's).")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Business date (sandboxes only).")
@click.option("--once", is_flag=True, help="Stop when the queue is empty instead of waiting for jobs.")
@pass_context
def worker(ctx: Context, concurrency: int, name: str | None, today: datetime | None, once: bool) -> None:
    """Run the fleet's jobs (any number of workers on any number of machines); -v logs every job."""
    from dsobridge.fleet.worker import WorkerOptions, run_worker

    options = WorkerOptions(concurrency=concurrency, name=name, today=_date(today), wait=not once)
    run_worker(ctx.settings, options)


def _date(value: datetime | None) -> date | None:
    return None if value is None else value.replace(tzinfo=UTC).date()


from dsobridge.commands import fleet_serve  # noqa: E402, F401 - adds serve, user, hook-url, new-session-key
