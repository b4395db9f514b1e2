"""A fleet to serve: two tenants (acme, beta) with their own secrets, a dashboard user, the queue open.

``served`` runs every test that asks for it twice: in-process (``InProcessTransport``) and over a real
loopback socket (``LoopbackServer``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from tests.fleet.test_tenants import SECRETS, config_text

from dsobridge.dynaccount.signing import compute_hash
from dsobridge.fleet import FleetQueue, FleetSettings, Keyring, PostgresStateStore, Tenant, TenantRegistry
from dsobridge.fleet.web import ServeContext, ServeSettings, build_app, migrate_web
from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.secret import Secret
from dsobridge.sync.state import AcceptedFile, RunOutcome

PASSWORD = "correct horse battery staple"
SESSION_KEY = "test-session-key-0123456789-abcdefghijklmnop"
BETA_SECRETS = {
    "dynaccount_api_key": Secret("key-beta-91c3-SECRET"),
    "dynaccount_api_secret": Secret("secret-beta-5e0a-SECRET"),
    "mydso_password": Secret("password-beta-77d1-SECRET"),
}
ALL_SECRETS = [s.reveal() for s in (*SECRETS.values(), *BETA_SECRETS.values())]
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Fleet:
    ctx: ServeContext
    acme: Tenant
    beta: Tenant
    apps: dict[str, Any] = field(default_factory=dict)

    @property
    def app(self) -> Any:
        if "app" not in self.apps:
            self.apps["app"] = build_app(self.ctx)
        return self.apps["app"]

    def token(self, tenant: Tenant) -> str:
        return self.ctx.paths.token(tenant.id)

    def jobs(self, tenant: Tenant) -> list[Any]:
        return self.ctx.queue.jobs(tenant.id)

    def triggers(self, tenant: Tenant) -> dict[str, int]:
        with PostgresStateStore(self.ctx.db.pool, tenant.id) as state:
            return state.trigger_counts()


def make_context(db, pg_url, registry, **serve) -> ServeContext:
    settings = FleetSettings(pg_url, schema=db.schema, timezone="Europe/Copenhagen")
    serve_settings = ServeSettings(Secret(SESSION_KEY), **serve)
    return ServeContext.build(db, settings, serve_settings, registry, FleetQueue(db, settings))


@pytest.fixture
def fleet_key():
    return Keyring.new_key()


@pytest.fixture
def keyring(fleet_key):
    return Keyring([fleet_key])


@pytest.fixture
def serve_db(fleet_db):
    migrate_web(fleet_db)
    return fleet_db


@pytest.fixture
def registry(serve_db, keyring):
    return TenantRegistry(serve_db, keyring)


@pytest.fixture
def fleet(serve_db, pg_url, registry):
    acme = registry.add("acme", config_text(592912, "acme-api"), SECRETS)
    beta = registry.add("beta", config_text(592913, "beta-api"), BETA_SECRETS)
    ctx = make_context(serve_db, pg_url, registry)
    ctx.users.add("admin", Secret(PASSWORD))
    with ctx.queue.open():
        yield Fleet(ctx, acme, beta)


@pytest.fixture(params=["inprocess", "loopback"])
def served(request, fleet):
    """``(fleet, base_url, client factory)``: the app in-process, or behind uvicorn on 127.0.0.1."""
    if request.param == "inprocess":
        base = "http://fleet.test"
        yield fleet, base, lambda: httpx2.Client(transport=InProcessTransport(fleet.app), base_url=base)
        return
    with LoopbackServer(fleet.app) as server:
        yield fleet, server.url, lambda: httpx2.Client(base_url=server.url)


def signed(url: str, body: bytes, secret: Secret) -> dict[str, str]:
    """The headers Dynaccount sends: X-Hash = sha1(url without scheme + body + API secret)."""
    return {"X-Hash": compute_hash(url.split("://", 1)[1], body, secret.reveal())}


def csrf_of(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def log_in(http: httpx2.Client, name: str = "admin", password: str = PASSWORD) -> httpx2.Response:
    token = csrf_of(http.get("/login").text)
    return http.post("/login", data={"csrf": token, "name": name, "password": password})


def record_run(
    db,
    tenant: Tenant,
    status: str,
    *,
    mode: str = "delta",
    error: str | None = None,
    open_count: int | None = None,
    open_total: Any = None,
    clearings: dict[str, int] | None = None,
    items: int = 0,
) -> int:
    """A run in the tenant's state as the engine leaves one: its accepted file's report, its counts, its
    outcome and the clearing reasons in its facts."""
    with PostgresStateStore(db.pool, tenant.id) as state:
        run_id = state.start_run(mode)
        if items:
            counts = {"items": {"rows": items, "added": items, "updated": 0, "unchanged": 0, "cleared": 1}}
            report = {
                "success": True,
                "file_type": "items",
                "mode": mode.upper(),
                "rows": items,
                "added": items,
                "updated": 0,
                "unchanged": 0,
                "cleared": 1,
                "rejected": 1,
                "rejected_rows": [{"line": 3, "column": "due_date", "reason": "not a date"}],
            }
            state.stage_items(1, [])
            state.commit_file(run_id, AcceptedFile(1, "items", "items", mode.upper(), report, counts))
        code = {"success": 0, "refused": 3}.get(status, 1)
        facts = {"clearings": clearings or {}}
        outcome = RunOutcome(status, code, error, open_count, open_total, facts=facts)
        state.finish_run(run_id, outcome)
    return run_id
