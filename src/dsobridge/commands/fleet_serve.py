"""``dsobridge fleet serve`` (webhooks, dashboard, /metrics), ``fleet user …``, ``fleet hook-url`` and
``fleet new-session-key`` — added to the ``fleet`` group by ``dsobridge.commands.fleet`` (see
docs/dashboard.md).

Passwords come from ``$DSOBRIDGE_FLEET_ADMIN_PASSWORD`` or a hidden prompt, never from the command line.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import click

from dsobridge.commands.fleet import Context, _command, fleet, pass_context

PUBLIC_URL_HELP = "The address Dynaccount reaches this server at (default $DSOBRIDGE_FLEET_PUBLIC_URL)."


@_command(fleet, "serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8089, show_default=True)
@click.option("--public-url", help=PUBLIC_URL_HELP)
@pass_context
def serve(ctx: Context, host: str, port: int, public_url: str | None) -> None:
    """Serve every tenant's webhooks, the dashboard, /metrics and /healthz."""
    import uvicorn

    from dsobridge.fleet.db import FleetDatabase
    from dsobridge.fleet.jobs import FleetQueue
    from dsobridge.fleet.tenants import TenantRegistry
    from dsobridge.fleet.web import ServeContext, ServeSettings, build_app, migrate_web

    settings = ctx.settings
    serve_settings = ServeSettings.from_env(public_url=public_url)
    db = FleetDatabase.from_settings(settings, application="dsobridge-serve", pool_size=8)
    db.pool.timeout = 5.0  # a request waits 5 s for a connection, not the pool's 30: a 503, not a hang
    try:
        migrate_web(db)
        registry = TenantRegistry(db)
        registry.keyring  # noqa: B018 - fail at start, not at the first webhook, when the keys are missing
        queue = FleetQueue(db, settings)
        context = ServeContext.build(db, settings, serve_settings, registry, queue)
        if not context.users.list():
            click.echo(
                "warning: no dashboard user yet: add one with `dsobridge fleet user add NAME`", err=True
            )
        click.echo(f"listening on http://{host}:{port} (dashboard /, webhooks /hooks/…, /metrics, /healthz)")
        with queue.open():
            uvicorn.run(build_app(context), host=host, port=port, log_level="warning", access_log=False)
    finally:
        db.close()


@_command(fleet, "new-session-key")
def new_session_key() -> None:
    """Print a new key for $DSOBRIDGE_FLEET_SESSION_KEY."""
    click.echo(secrets.token_urlsafe(48))


@_command(fleet, "hook-url")
@click.argument("name")
@click.option("--public-url", help=PUBLIC_URL_HELP)
@click.option("--rotate", is_flag=True, help="Give the tenant a new webhook address (the old one stops).")
@pass_context
def hook_url_command(ctx: Context, name: str, public_url: str | None, rotate: bool) -> None:
    """The webhook URL to enter in the tenant's Dynaccount accounting."""
    from dsobridge.fleet.web import HookPaths, migrate_web, public_hook_url
    from dsobridge.fleet.web.paths import HOOK_PREFIX
    from dsobridge.fleet.web.settings import ENV_PUBLIC_URL

    migrate_web(ctx.db)
    tenant = ctx.registry().get(name)
    paths = HookPaths(ctx.db)
    url = public_hook_url(paths.rotate(tenant.id) if rotate else paths.token(tenant.id), public_url)
    click.echo(url)
    if url.startswith(HOOK_PREFIX):  # the path alone: no public address
        click.echo(f"note: set ${ENV_PUBLIC_URL} (or --public-url) to print the whole address", err=True)


@fleet.group("user")
def user() -> None:
    """The dashboard's users."""


def _password() -> Any:
    from dsobridge.fleet.web.settings import ENV_ADMIN_PASSWORD
    from dsobridge.secret import Secret

    value = os.environ.get(ENV_ADMIN_PASSWORD) or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    return Secret(value)


@_command(user, "add")
@click.argument("name")
@pass_context
def user_add(ctx: Context, name: str) -> None:
    """Add a user; the password from $DSOBRIDGE_FLEET_ADMIN_PASSWORD or a prompt."""
    from dsobridge.fleet.web import UserStore, migrate_web

    migrate_web(ctx.db)
    added = UserStore(ctx.db).add(name, _password())
    click.echo(f"added dashboard user {added.name}")


@_command(user, "password")
@click.argument("name")
@pass_context
def user_password(ctx: Context, name: str) -> None:
    """Set a user's password (their open sessions end)."""
    from dsobridge.fleet.web import UserStore, migrate_web

    migrate_web(ctx.db)
    UserStore(ctx.db).set_password(name, _password())
    click.echo(f"password of {name} changed; their sessions have ended")


@_command(user, "remove")
@click.argument("name")
@pass_context
def user_remove(ctx: Context, name: str) -> None:
    """Remove a user (their open sessions end)."""
    from dsobridge.fleet.web import UserStore, migrate_web

    migrate_web(ctx.db)
    UserStore(ctx.db).remove(name)
    click.echo(f"removed dashboard user {name}")


@_command(user, "list")
@pass_context
def user_list(ctx: Context) -> None:
    """The dashboard's users and their last login."""
    from dsobridge.fleet.web import UserStore, migrate_web

    migrate_web(ctx.db)
    users = UserStore(ctx.db).list()
    if not users:
        click.echo("no dashboard user yet: add one with `dsobridge fleet user add NAME`")
    for u in users:
        last = (
            "never logged in"
            if u.last_login_at is None
            else f"last login {u.last_login_at:%Y-%m-%d %H:%M %z}"
        )
        click.echo(f"{u.name:<32} added {u.created_at:%Y-%m-%d}  {last}")
