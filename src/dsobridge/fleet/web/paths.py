"""Each tenant's webhook address: ``/hooks/<token>/``, a random token per tenant (see docs/dashboard.md)."""

from __future__ import annotations

import os
import re
import secrets

from psycopg.rows import class_row

from dsobridge.fleet.db import FleetDatabase
from dsobridge.fleet.tenants import Tenant
from dsobridge.fleet.web.settings import ENV_PUBLIC_URL, check_public_url

HOOK_PREFIX = "/hooks/"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 32 characters


def hook_path(token: str) -> str:
    return f"{HOOK_PREFIX}{token}/"


def hook_url(public_url: str | None, token: str) -> str:
    """The URL to enter in Dynaccount (the path alone when the public address is not configured)."""
    return f"{public_url or ''}{hook_path(token)}"


def public_hook_url(token: str, public_url: str | None = None) -> str:
    """The URL to enter in Dynaccount at ``public_url`` (default ``$DSOBRIDGE_FLEET_PUBLIC_URL``), checked
    (:class:`FleetConfigError` when it is not an address); the path alone when neither is set."""
    base = public_url or os.environ.get(ENV_PUBLIC_URL)
    return hook_url(check_public_url(base) if base else None, token)


class HookPaths:
    """Each tenant's webhook path token: made on first need, replaced on request (``rotate``)."""

    def __init__(self, db: FleetDatabase) -> None:
        self.db = db

    def token(self, tenant_id: int) -> str:
        with self.db.pool.connection() as conn:
            conn.execute(
                "INSERT INTO hook_paths (tenant_id, token) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (tenant_id, new_token()),
            )
            row = conn.execute("SELECT token FROM hook_paths WHERE tenant_id = %s", (tenant_id,)).fetchone()
        if row is None:
            raise LookupError(f"tenant {tenant_id} was removed")
        return str(row[0])

    def tokens(self) -> dict[int, str]:
        """Every tenant's token (made for the tenants that have none yet)."""
        with self.db.pool.connection() as conn:
            missing = [
                i
                for (i,) in conn.execute(
                    "SELECT id FROM tenants WHERE id NOT IN (SELECT tenant_id FROM hook_paths)"
                )
            ]
            for tenant_id in missing:
                conn.execute(
                    "INSERT INTO hook_paths (tenant_id, token) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (tenant_id, new_token()),
                )
            return {i: t for i, t in conn.execute("SELECT tenant_id, token FROM hook_paths")}

    def rotate(self, tenant_id: int) -> str:
        """A new token for the tenant: the old URL answers 404 (within the receivers' cache time)."""
        self.token(tenant_id)
        token = new_token()
        with self.db.pool.connection() as conn:
            conn.execute(
                "UPDATE hook_paths SET token = %s, created_at = now() WHERE tenant_id = %s",
                (token, tenant_id),
            )
        return token

    def tenant_of(self, token: str) -> Tenant | None:
        if not _TOKEN.fullmatch(token):
            return None
        with self.db.pool.connection() as conn, conn.cursor(row_factory=class_row(Tenant)) as cur:
            return cur.execute(
                "SELECT t.id, t.name, t.enabled, t.dynaccount_api_id, t.mydso_login, t.created_at,"
                " t.updated_at FROM hook_paths h JOIN tenants t ON t.id = h.tenant_id WHERE h.token = %s",
                (token,),
            ).fetchone()
