"""The PostgreSQL state store: the shared contract, plus what only PostgreSQL has (session lock, tenants)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from tests.sync.state_contract import ACME, StateStoreContract, accepted, item

from dsobridge.fleet.state_pg import PostgresStateStore
from dsobridge.sync.state import Locked, StagedItem


def add_tenant(db, name="contract") -> int:
    with db.pool.connection() as conn:
        return conn.execute(
            "INSERT INTO tenants (name, config_text, secrets, dynaccount_api_id, mydso_login)"
            " VALUES (%s, '', '', 0, %s) RETURNING id",
            (name, name),
        ).fetchone()[0]


class TestPostgresStateStore(StateStoreContract):
    @pytest.fixture
    def open_store(self, fleet_db):
        tenant = add_tenant(fleet_db)
        return lambda: PostgresStateStore(fleet_db.pool, tenant)


def test_tenants_do_not_see_each_other(fleet_db):
    a, b = add_tenant(fleet_db, "a"), add_tenant(fleet_db, "b")
    with PostgresStateStore(fleet_db.pool, a) as sa, PostgresStateStore(fleet_db.pool, b) as sb:
        sa.bind(ACME)
        run = sa.start_run("stock")
        sa.stage_items(1, [StagedItem(2, item(1001))])
        sa.commit_file(run, accepted(1))
        sa.add_trigger("debtor", "put", None)
        sa.acquire_lock()
        assert sb.identity() is None and list(sb.open_items()) == [] and sb.runs() == []
        assert sb.pending_triggers() == [] and sb.lock_holder() is None
        sb.acquire_lock()  # another tenant's lock is another lock
        assert sa.count("items") == 1 and sb.count("items") == 0


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from dsobridge.fleet.db import FleetDatabase
    from dsobridge.fleet.state_pg import PostgresStateStore
    db = FleetDatabase(sys.argv[1], schema=sys.argv[2])
    state = PostgresStateStore(db.connect(), int(sys.argv[3]))
    state.acquire_lock()
    state.start_run("stock")
    print("locked", flush=True)
    time.sleep(60)
    """
)


def test_a_killed_holder_never_blocks_its_tenant(fleet_db, pg_url):
    tenant = add_tenant(fleet_db)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, pg_url, fleet_db.schema, str(tenant)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with PostgresStateStore(fleet_db.pool, tenant) as state:
            shown = state.lock_holder()
            assert shown is not None and shown.pid == holder.pid and shown.run_id is not None
            with pytest.raises(Locked):
                state.acquire_lock()
            assert not state.break_lock(shown)  # a live session's lock is not broken from outside
            holder.send_signal(signal.SIGKILL)
            holder.wait(10)
            deadline = time.monotonic() + 10
            while state.lock_holder() is not None and time.monotonic() < deadline:
                time.sleep(0.05)  # the server notices the closed socket at once; allow it a moment
            assert state.lock_holder() is None
            assert state.break_lock(shown)  # the dead session's row can be cleared …
            state.acquire_lock(timeout=5)  # … and in any case the next run takes the lock
            assert state.lock_holder().pid == os.getpid()
            left = state.runs(1)[0]
            state.start_run("delta")
            assert state.run(left.id).status == "interrupted"
    finally:
        holder.kill()
        holder.wait()
