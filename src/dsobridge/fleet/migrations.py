"""The fleet's PostgreSQL schema, as numbered migrations (applied by :meth:`FleetDatabase.migrate`).

The state tables mirror the SQLite store's (``dsobridge.sync.state.migrations``) with a ``tenant_id`` in every
key: one schema holds every tenant's state, and removing a tenant removes its state (``ON DELETE CASCADE``).
Money is ``numeric`` (exact, with the scale it was given), dates ``date``, moments ``timestamptz``, keys and
hashes ``bigint`` (the packed 64-bit forms of ``dsobridge.sync.state.base``).
"""

from __future__ import annotations

from dsobridge.fleet.db import Step, install_procrastinate

FLEET_MIGRATIONS: list[tuple[str, Step]] = [
    ("procrastinate's job queue", install_procrastinate),
    (
        "tenants",
        """
        CREATE TABLE tenants (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
            config_text text NOT NULL,
            secrets bytea NOT NULL,
            dynaccount_api_id bigint NOT NULL,
            mydso_login text NOT NULL,
            enabled boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ),
    (
        "state of every tenant",
        """
        CREATE TABLE identity (
            tenant_id integer PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
            dynaccount_api_id bigint NOT NULL,
            dynaccount_url text NOT NULL,
            mydso_login text NOT NULL,
            mydso_url text NOT NULL,
            bound_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE run_lock (
            tenant_id integer PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
            pid integer NOT NULL,
            host text NOT NULL,
            acquired_at timestamptz NOT NULL,
            run_id bigint,
            backend_pid integer NOT NULL
        );
        CREATE TABLE runs (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant_id integer NOT NULL REFERENCES tenants ON DELETE CASCADE,
            started_at timestamptz NOT NULL,
            ended_at timestamptz,
            mode text NOT NULL,
            status text NOT NULL,
            dry_run boolean NOT NULL DEFAULT false,
            history_months integer NOT NULL DEFAULT 0,
            counts json NOT NULL DEFAULT '{}',
            open_count integer,
            open_total numeric,
            stock_delivered boolean NOT NULL DEFAULT false,
            balance_ok boolean,
            mismatches json,
            error text,
            exit_code integer,
            scope text NOT NULL DEFAULT 'full',
            facts json NOT NULL DEFAULT '{}'
        );
        CREATE INDEX runs_tenant ON runs (tenant_id, id DESC);
        CREATE INDEX runs_running ON runs (tenant_id) WHERE status = 'running';
        CREATE TABLE reports (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            run_id bigint NOT NULL REFERENCES runs ON DELETE CASCADE,
            kind text NOT NULL,
            mode text NOT NULL,
            rows integer NOT NULL,
            report json NOT NULL,
            delivered_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX reports_run ON reports (run_id);
        CREATE TABLE items (
            tenant_id integer NOT NULL REFERENCES tenants ON DELETE CASCADE,
            key bigint NOT NULL,
            hash bigint NOT NULL,
            open boolean NOT NULL,
            debtor text NOT NULL,
            client text NOT NULL,
            number bigint NOT NULL,
            currency text,
            initial numeric NOT NULL,
            remaining numeric NOT NULL,
            issued date NOT NULL,
            due date NOT NULL,
            reason text,
            paid date,
            PRIMARY KEY (tenant_id, key)
        );
        CREATE INDEX items_open_debtor ON items (tenant_id, debtor) WHERE open;
        CREATE TABLE delivered_rows (
            tenant_id integer NOT NULL REFERENCES tenants ON DELETE CASCADE,
            kind smallint NOT NULL,
            key bigint NOT NULL,
            hash bigint NOT NULL,
            PRIMARY KEY (tenant_id, kind, key)
        );
        CREATE TABLE marks (
            tenant_id integer NOT NULL REFERENCES tenants ON DELETE CASCADE,
            name text NOT NULL,
            value bigint NOT NULL,
            run_id bigint NOT NULL,
            PRIMARY KEY (tenant_id, name)
        );
        CREATE TABLE triggers (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant_id integer NOT NULL REFERENCES tenants ON DELETE CASCADE,
            received_at timestamptz NOT NULL DEFAULT now(),
            tbl text NOT NULL,
            method text NOT NULL,
            debtors json,
            status text NOT NULL DEFAULT 'pending',
            run_id bigint,
            attempts integer NOT NULL DEFAULT 0,
            error text,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX triggers_waiting ON triggers (tenant_id, id) WHERE status IN ('pending', 'running');
        CREATE INDEX triggers_tenant_status ON triggers (tenant_id, status);
        CREATE TABLE incidents (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant_id integer NOT NULL REFERENCES tenants ON DELETE CASCADE,
            kind text NOT NULL,
            summary text NOT NULL,
            opened_at timestamptz NOT NULL DEFAULT now(),
            run_id bigint,
            resolved_at timestamptz,
            resolved_run bigint
        );
        CREATE UNIQUE INDEX incidents_open ON incidents (tenant_id, kind) WHERE resolved_at IS NULL
        """,
    ),
    (
        "request limits per external service",
        """
        CREATE TABLE service_limits (
            service text PRIMARY KEY CHECK (service IN ('dynaccount', 'mydso')),
            rate double precision NOT NULL CHECK (rate > 0),
            concurrency integer NOT NULL CHECK (concurrency BETWEEN 1 AND 1000),
            next_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        INSERT INTO service_limits (service, rate, concurrency)
            VALUES ('dynaccount', 10, 4), ('mydso', 10, 4);
        CREATE FUNCTION fleet_take_slot(lock_class integer, keys integer[])
            RETURNS integer LANGUAGE plpgsql AS $$
        DECLARE
            k integer;
        BEGIN
            FOREACH k IN ARRAY keys LOOP
                IF pg_try_advisory_lock(lock_class, k) THEN
                    RETURN k;
                END IF;
            END LOOP;
            RETURN NULL;
        END
        $$;
        CREATE FUNCTION fleet_reserve(wanted text) RETURNS double precision LANGUAGE sql AS $$
            UPDATE service_limits
               SET next_at = greatest(next_at, clock_timestamp()) + make_interval(secs => 1.0 / rate)
             WHERE service = wanted
            RETURNING extract(epoch FROM next_at - make_interval(secs => 1.0 / rate) - clock_timestamp())
        $$
        """,
    ),
]
