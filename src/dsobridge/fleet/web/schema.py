"""The tables of ``fleet serve``: the dashboard's users and each tenant's webhook path.

They live in the fleet's schema beside the fleet's own tables, as numbered steps recorded in
``fleet_web_migrations`` and applied after the fleet's (:func:`migrate_web`, under the fleet's migration
lock). ``fleet serve`` and ``fleet user …`` apply them on start.
"""

from __future__ import annotations

from dsobridge.fleet.db import FleetDatabase, Step, apply_steps

WEB_MIGRATIONS: list[tuple[str, Step]] = [
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
        applied.extend(apply_steps(conn, db.schema, "fleet_web_migrations", WEB_MIGRATIONS))
    return applied
