"""A real PostgreSQL for the fleet's tests: ``$DSOBRIDGE_TEST_DATABASE_URL``
(default ``postgresql://postgres@127.0.0.1:5432/test``).

Each test gets a schema of its own (``fleet_db``), dropped afterwards. Without a reachable server the tests
are skipped with the reason, except under ``CI=true``, where a skipped database test is a failure.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest

from dsobridge.fleet.db import FleetDatabase

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def database_url() -> str:
    return os.environ.get("DSOBRIDGE_TEST_DATABASE_URL", DEFAULT_URL)


def _unreachable(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = database_url()
    problem = _unreachable(url)
    if problem:
        reason = f"no PostgreSQL at $DSOBRIDGE_TEST_DATABASE_URL ({problem})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}: under CI=true the fleet's database tests must run", pytrace=False)
        pytest.skip(reason)
    return url


@pytest.fixture
def fleet_db(pg_url):
    """A migrated fleet database in a schema of its own, dropped after the test."""
    db = FleetDatabase(pg_url, schema=f"t_{uuid.uuid4().hex[:12]}", application="dsobridge-test")
    db.migrate()
    yield db
    db.drop_schema()
