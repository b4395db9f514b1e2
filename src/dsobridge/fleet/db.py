"""The fleet's PostgreSQL: connections (one schema, set as ``search_path``), the pool, and migrations.

Everything of the fleet lives in ONE schema (``dsobridge`` by default): the tenants, the state of every
tenant, the per-service limits and Procrastinate's job tables. Migrations are numbered steps recorded in
``fleet_migrations``; Procrastinate's own schema is installed by the first step and its later migration
scripts are applied (and recorded in ``fleet_procrastinate_migrations``) when the installed Procrastinate
brings new ones. ``dsobridge fleet migrate`` and every worker start run :meth:`FleetDatabase.migrate`, under a
transaction-level advisory lock so that two workers starting together do not race.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from dsobridge.fleet.settings import DEFAULT_SCHEMA, FleetSettings, check_schema_name

Step = str | Callable[[psycopg.Connection], None]


def lock_class(schema: str, purpose: str) -> int:
    """The first key of a two-key advisory lock: stable per schema and purpose (``run``, ``slot``,
    ``migrate``), so that two fleets sharing a database server never take each other's locks."""
    return zlib.crc32(f"dsobridge:{schema}:{purpose}".encode()) & 0x7FFFFFFF


class FleetDatabase:
    """``FleetDatabase(url, schema=...)``: connections and a pool onto the fleet's schema.

    ``connect()`` gives a dedicated autocommit connection (a run's state store and its advisory lock live on
    one); ``pool`` is shared by short operations (the registry, enqueueing, status pages).
    """

    def __init__(
        self, url: str, *, schema: str = DEFAULT_SCHEMA, application: str = "dsobridge", pool_size: int = 4
    ) -> None:
        self.url = url
        self.schema = check_schema_name(schema)
        self.application = application
        self.pool_size = pool_size
        self._pool: ConnectionPool | None = None

    @classmethod
    def from_settings(cls, settings: FleetSettings, **kwargs: Any) -> FleetDatabase:
        return cls(settings.database_url, schema=settings.schema, **kwargs)

    def __repr__(self) -> str:
        return f"FleetDatabase(schema={self.schema!r})"  # the URL may hold a password

    def connection_kwargs(self, *, autocommit: bool = True) -> dict[str, Any]:
        """What every fleet connection is opened with (Procrastinate's pool: without ``autocommit``, which
        it sets itself)."""
        kwargs: dict[str, Any] = {
            "options": f"-c search_path={self.schema}",
            "application_name": self.application,
        }
        if autocommit:
            kwargs["autocommit"] = True
        return kwargs

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, **self.connection_kwargs())

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            self._pool = ConnectionPool(
                self.url,
                kwargs=self.connection_kwargs(),
                min_size=1,
                max_size=self.pool_size,
                open=True,
                name=f"{self.application}-pool",
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> FleetDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- migrations -----------------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Create the schema if needed and apply what is missing; return the names of the steps applied."""
        from dsobridge.fleet.migrations import FLEET_MIGRATIONS

        with self.connect() as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            with conn.transaction():
                applied = apply_steps(conn, self.schema, "fleet_migrations", FLEET_MIGRATIONS)
                applied.extend(apply_procrastinate_migrations(conn))
        return applied

    def schema_versions(self) -> list[int]:
        with self.pool.connection() as conn:
            return [v for (v,) in conn.execute("SELECT version FROM fleet_migrations ORDER BY version")]

    def drop_schema(self) -> None:
        """Drop the fleet's whole schema, tenants, state and queue included (the tests' clean-up)."""
        self.close()
        with self.connect() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def apply_steps(
    conn: psycopg.Connection, schema: str, table: str, steps: Sequence[tuple[str, Step]]
) -> list[str]:
    """Under the fleet's migration lock (held to the end of ``conn``'s transaction, which the caller opens),
    apply the numbered ``steps`` not yet recorded in ``table`` (created if needed) and record them; the names
    of the steps applied."""
    name_of = sql.Identifier(table)
    conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (lock_class(schema, "migrate"),))
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (version integer PRIMARY KEY,"
            " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        ).format(name_of)
    )
    done = {v for (v,) in conn.execute(sql.SQL("SELECT version FROM {}").format(name_of))}
    applied = []
    for version, (name, step) in enumerate(steps, start=1):
        if version in done:
            continue
        _run_step(conn, step)
        conn.execute(
            sql.SQL("INSERT INTO {} (version, name) VALUES (%s, %s)").format(name_of), (version, name)
        )
        applied.append(name)
    return applied


def _run_step(conn: psycopg.Connection, step: Step) -> None:
    if callable(step):
        step(conn)
    else:
        conn.execute(step)  # type: ignore[arg-type]  # our own constant SQL


# --- Procrastinate's schema ---------------------------------------------------------------------------------


def install_procrastinate(conn: psycopg.Connection) -> None:
    """Install Procrastinate's schema into the fleet's schema, and note its shipped migrations as applied."""
    from procrastinate.schema import SchemaManager

    conn.execute(
        "CREATE TABLE IF NOT EXISTS fleet_procrastinate_migrations (name text PRIMARY KEY,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    conn.execute(SchemaManager.get_schema())  # type: ignore[arg-type]  # Procrastinate's own SQL
    for path in _procrastinate_migration_files():
        conn.execute("INSERT INTO fleet_procrastinate_migrations (name) VALUES (%s)", (path.name,))


def apply_procrastinate_migrations(conn: psycopg.Connection) -> list[str]:
    """Apply the migration scripts of a newer Procrastinate (stop the workers before such an upgrade)."""
    done = {n for (n,) in conn.execute("SELECT name FROM fleet_procrastinate_migrations")}
    applied = []
    for path in _procrastinate_migration_files():
        if path.name in done:
            continue
        conn.execute(path.read_text(encoding="utf-8"))  # type: ignore[arg-type]
        conn.execute("INSERT INTO fleet_procrastinate_migrations (name) VALUES (%s)", (path.name,))
        applied.append(f"procrastinate {path.name}")
    return applied


def _procrastinate_migration_files() -> list[Path]:
    from procrastinate.schema import SchemaManager

    return sorted(Path(SchemaManager.get_migrations_path()).glob("*.sql"))
