"""The tables of ``fleet serve``: the dashboard's users and each tenant's webhook path.

They live in the fleet's schema beside the fleet's own tables, as numbered steps recorded in
``fleet_web_migrations`` and applied after the fleet's (:func:`migrate_web`, under the fleet's migration
lock). ``fleet serve`` and ``fleet user …`` apply them on start.
"""

from __future__ import annotations

from dsobridge.fleet.db import FleetDatabase, lock_class

WEB_MIGRATIONS: list[tuple[str, str]] = [
    (
        "dashboard users",
        """
        CREATE TABLE web_users (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._@-]{0,62}$'),
            password_hash text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            sessions_from timestamptz NOT NULL DEFAULT now(),
            last_login_at timestamptz
        )
        """,
    ),
    (
        "webhook path per tenant",
        """
        CREATE TABLE hook_paths (
            tenant_id integer PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
            token text NOT NULL UNIQUE CHECK (token ~ '^[A-Za-z0-9_-]{32,64}$'),
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ),
]


def migrate_web(db: FleetDatabase) -> list[str]:
    """The fleet's migrations, then the missing ``fleet serve`` steps; the names of the steps applied."""
    applied = db.migrate()
    with db.connect() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (lock_class(db.schema, "migrate"),))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS fleet_web_migrations (version integer PRIMARY KEY,"
            " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {v for (v,) in conn.execute("SELECT version FROM fleet_web_migrations")}
        for version, (name, sql) in enumerate(WEB_MIGRATIONS, start=1):
            if version not in done:
                conn.execute(sql)  # type: ignore[arg-type]  # our own constant SQL
                conn.execute(
                    "INSERT INTO fleet_web_migrations (version, name) VALUES (%s, %s)", (version, name)
                )
                applied.append(name)
    return applied
