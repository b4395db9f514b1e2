"""Tenants: one Dynaccount accounting delivering to one My DSO Manager account, with its own settings.

A tenant is made from an ordinary ``dsobridge.toml`` (the same mapping, filter and guard settings a single
company has): the registry keeps the config file's TEXT (it never holds a secret; a ``[secrets]`` table is
left out, as the fleet does not read secrets files) and the three secrets, read from the environment when the
tenant is added, encrypted with the fleet's keys. :func:`tenant_config` rebuilds the validated ``SyncConfig``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg.rows import class_row

from dsobridge.fleet.crypto import SECRET_NAMES, Keyring
from dsobridge.fleet.db import FleetDatabase
from dsobridge.secret import Secret
from dsobridge.sync.config import SECRET_ENV as ENV_SECRET
from dsobridge.sync.config import ConfigError, SyncConfig, config_from_data

SECRET_ENV = {name: ENV_SECRET[name] for name in SECRET_NAMES}  # the three a tenant is added with
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


class TenantError(Exception):
    """A tenant cannot be added, found or changed (exit code 2)."""


@dataclass(frozen=True)
class Tenant:
    """A tenant as the registry lists it: no secret, and the config text only on request."""

    id: int
    name: str
    enabled: bool
    dynaccount_api_id: int
    mydso_login: str
    created_at: datetime
    updated_at: datetime
    config_text: str = dataclasses.field(default="", repr=False)

    def describe(self) -> str:
        return (
            f"{self.name}: Dynaccount accounting {self.dynaccount_api_id} → My DSO login {self.mydso_login}"
        )


def check_tenant_name(name: str) -> str:
    """Tenant names appear in URLs and job locks: lower-case letters, digits, ``-`` and ``_``."""
    if not _NAME.fullmatch(name):
        raise TenantError(
            f"tenant name {name!r}: use 1-63 lower-case letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    return name


def secrets_from_env(env: Mapping[str, str] | None = None) -> dict[str, Secret]:
    """The three secrets of the tenant being added, from ``DSOBRIDGE_DYNACCOUNT_API_KEY`` & co."""
    env = os.environ if env is None else env
    missing = [var for var in SECRET_ENV.values() if not env.get(var)]
    if missing:
        raise TenantError(f"set {', '.join('$' + m for m in missing)} to the new tenant's secrets")
    return {name: Secret(env[var]) for name, var in SECRET_ENV.items()}


def without_secrets_table(text: str) -> str:
    """The config text without its ``[secrets]`` table (a fleet never reads a secrets file)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the config is not valid TOML: {exc}") from None
    if "secrets" not in data:
        return text
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        header = line.split("#", 1)[0].strip()
        if header.startswith("["):
            skipping = header == "[secrets]" or header.startswith("[secrets.")
        if not skipping:
            kept.append(line)
    result = "".join(kept)
    if tomllib.loads(result) != {k: v for k, v in data.items() if k != "secrets"}:
        raise ConfigError("write the secrets settings as a [secrets] table of its own, or leave them out")
    return result


def tenant_config(text: str, secrets: Mapping[str, Secret], *, name: str = "tenant") -> SyncConfig:
    """THE place a tenant's ``SyncConfig`` is built: validated exactly as a config file is (strict keys,
    types, ranges), without reading a file or the environment. ``[sync] state`` is not used: the state is in
    PostgreSQL (the path given is never opened)."""
    data = tomllib.loads(without_secrets_table(text))
    return config_from_data(
        data,
        secrets={key: secrets[key].reveal() for key in SECRET_ENV},
        state_path=Path(os.devnull),
        source=f"tenant {name}",
    )


def _refuse_twin(conn: psycopg.Connection, api_id: int, login: str, *, other_than: int = 0) -> None:
    """One tenant per company: the same accounting → login twice would keep two states that disagree."""
    twin = conn.execute(
        "SELECT name FROM tenants WHERE dynaccount_api_id = %s AND mydso_login = %s AND id <> %s",
        (api_id, login, other_than),
    ).fetchone()
    if twin:
        raise TenantError(
            f"Dynaccount accounting {api_id} → My DSO login {login} is already tenant {twin[0]!r}"
        )


_SELECT = (
    "SELECT id, name, enabled, dynaccount_api_id, mydso_login, created_at, updated_at{text} FROM tenants"
)


class TenantRegistry:
    """The fleet's tenants. ``keyring`` is needed to add tenants and to read their secrets or config."""

    def __init__(self, db: FleetDatabase, keyring: Keyring | None = None) -> None:
        self.db = db
        self._keyring = keyring

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = Keyring.from_env()
        return self._keyring

    # --- reading --------------------------------------------------------------------------------------------
    def list(self, *, enabled_only: bool = False) -> list[Tenant]:
        where = " WHERE enabled" if enabled_only else ""
        with self.db.pool.connection() as conn, conn.cursor(row_factory=class_row(Tenant)) as cur:
            return cur.execute(_SELECT.format(text="") + where + " ORDER BY name").fetchall()

    def get(self, ref: str | int) -> Tenant:
        """A tenant by name, or by id (an int, or digits)."""
        column, value = ("id", int(ref)) if isinstance(ref, int) or str(ref).isdigit() else ("name", ref)
        with self.db.pool.connection() as conn, conn.cursor(row_factory=class_row(Tenant)) as cur:
            tenant = cur.execute(
                _SELECT.format(text=", config_text") + f" WHERE {column} = %s", (value,)
            ).fetchone()
        if tenant is None:
            raise TenantError(f"no tenant {ref!r} (see `dsobridge fleet list`)")
        return tenant

    def secrets(self, tenant: Tenant) -> dict[str, Secret]:
        with self.db.pool.connection() as conn:
            row = conn.execute("SELECT secrets FROM tenants WHERE id = %s", (tenant.id,)).fetchone()
        if row is None:
            raise TenantError(f"tenant {tenant.name!r} was removed")
        return self.keyring.open(row[0])

    def config(self, tenant: Tenant) -> SyncConfig:
        text = tenant.config_text or self.get(tenant.id).config_text
        return tenant_config(text, self.secrets(tenant), name=tenant.name)

    # --- changing -------------------------------------------------------------------------------------------
    def add(self, name: str, config_text: str, secrets: Mapping[str, Secret]) -> Tenant:
        """Validate the config with these secrets, then store the tenant (enabled)."""
        check_tenant_name(name)
        text = without_secrets_table(config_text)
        config = tenant_config(text, secrets, name=name)
        sealed = self.keyring.seal({n: secrets[n] for n in SECRET_NAMES})
        api_id, login = config.dynaccount.api_id, config.mydso.login
        with self.db.pool.connection() as conn, conn.transaction():
            _refuse_twin(conn, api_id, login)
            try:
                conn.execute(
                    "INSERT INTO tenants (name, config_text, secrets, dynaccount_api_id, mydso_login)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (name, text, sealed, api_id, login),
                )
            except psycopg.errors.UniqueViolation:
                raise TenantError(f"a tenant named {name!r} exists already") from None
        return self.get(name)

    def update(
        self, ref: str | int, *, config_text: str | None = None, secrets: Mapping[str, Secret] | None = None
    ) -> Tenant:
        """Replace a tenant's settings and/or secrets, validated together; its state is kept — so the settings
        must name the same company (accounting and login) as its state is bound to."""
        from dsobridge.fleet.state_pg import PostgresStateStore
        from dsobridge.sync.delivery import identity_of
        from dsobridge.sync.state import same_company

        tenant = self.get(ref)
        text = without_secrets_table(config_text) if config_text is not None else tenant.config_text
        secrets = dict(secrets) if secrets is not None else self.secrets(tenant)
        config = tenant_config(text, secrets, name=tenant.name)
        with PostgresStateStore(self.db.pool, tenant.id) as state:
            bound = state.identity()
        if bound is not None and not same_company(bound, identity_of(config)):
            raise TenantError(
                f"tenant {tenant.name!r} has the state of {bound.describe()}; these settings are for another"
                " company: add it as a new tenant"
            )
        sealed = self.keyring.seal({n: secrets[n] for n in SECRET_NAMES})
        with self.db.pool.connection() as conn, conn.transaction():
            _refuse_twin(conn, config.dynaccount.api_id, config.mydso.login, other_than=tenant.id)
            conn.execute(
                "UPDATE tenants SET config_text = %s, secrets = %s, dynaccount_api_id = %s, mydso_login = %s,"
                " updated_at = now() WHERE id = %s",
                (text, sealed, config.dynaccount.api_id, config.mydso.login, tenant.id),
            )
        return self.get(tenant.id)

    def set_enabled(self, ref: str | int, enabled: bool) -> Tenant:
        tenant = self.get(ref)
        with self.db.pool.connection() as conn:
            conn.execute(
                "UPDATE tenants SET enabled = %s, updated_at = now() WHERE id = %s", (enabled, tenant.id)
            )
        return self.get(tenant.id)

    def remove(self, ref: str | int) -> Tenant:
        """Remove the tenant and its whole state (runs, delivered items, triggers)."""
        tenant = self.get(ref)
        with self.db.pool.connection() as conn:
            conn.execute("DELETE FROM tenants WHERE id = %s", (tenant.id,))
        return tenant

    def rotate_keys(self) -> int:
        """Re-encrypt every tenant's secrets under the first key; return how many were rewritten."""
        count = 0
        with self.db.pool.connection() as conn, conn.transaction():
            for tenant_id, token in conn.execute("SELECT id, secrets FROM tenants FOR UPDATE").fetchall():
                conn.execute(
                    "UPDATE tenants SET secrets = %s, updated_at = now() WHERE id = %s",
                    (self.keyring.rotate(token), tenant_id),
                )
                count += 1
        return count
