"""The dashboard's pages: log in and out, the fleet (failures first), a tenant, a run, and "run now".

Server-rendered (Jinja2 templates shipped in this package; no JavaScript). Every page but the login wants a
valid session; every POST form carries the session's CSRF token. Nothing shown is a secret: tenants come
without theirs, runs and reports hold none.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from dsobridge.fleet.jobs import MODES
from dsobridge.fleet.state_pg import PostgresStateStore
from dsobridge.fleet.status import fleet_overview
from dsobridge.fleet.web import formatting
from dsobridge.fleet.web.auth import (
    USER,
    PageRefused,
    checked_form,
    csrf_token,
    flash,
    session_user,
    start_session,
    take_flash,
)
from dsobridge.fleet.web.context import ServeContext
from dsobridge.fleet.web.paths import hook_url
from dsobridge.fleet.web.users import User
from dsobridge.sync.report import REPORT_COUNTS

log = logging.getLogger("dsobridge.fleet.serve")

Endpoint = Callable[["Dashboard", Request], Awaitable[Response]]


def templates(ctx: ServeContext) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dsobridge.fleet.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(formatting.FILTERS)
    env.filters["local"] = functools.partial(formatting.local_time, zone=ctx.fleet.zone)
    env.globals.update(
        items_sent=formatting.items_sent,
        cleared=formatting.cleared,
        clearing_reasons=formatting.clearing_reasons,
        report_counts=REPORT_COUNTS,
        zone=ctx.fleet.timezone,
    )
    return Jinja2Templates(env=env)


def login_required(endpoint: Endpoint) -> Endpoint:
    """The page for a logged-in user (``request.state.user``); others are sent to the login page."""

    @functools.wraps(endpoint)
    async def page(self: Dashboard, request: Request) -> Response:
        user = await self.current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        request.state.user = user
        return await endpoint(self, request)

    return page


class Dashboard:
    def __init__(self, ctx: ServeContext) -> None:
        self.ctx = ctx
        self.templates = templates(ctx)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.overview, methods=["GET"]),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/tenants/{name}", self.tenant, methods=["GET"]),
            Route("/tenants/{name}/runs/{run_id:int}", self.run, methods=["GET"]),
            Route("/tenants/{name}/run", self.run_now, methods=["POST"]),
        ]

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
        user = getattr(request.state, "user", None)
        context.update(user=user, csrf=csrf_token(request.session), flash=take_flash(request.session))
        return self.templates.TemplateResponse(request, template, context, status_code=status_code)

    async def current_user(self, request: Request) -> User | None:
        name = request.session.get(USER)
        if not isinstance(name, str):
            return None
        user = await run_in_threadpool(self.ctx.users.get, name)
        return session_user(request.session, user, self.ctx.serve.session_hours)

    # --- logging in and out ---------------------------------------------------------------------------------
    async def login_page(self, request: Request) -> Response:
        if await self.current_user(request) is not None:
            return RedirectResponse("/", status_code=303)
        return self.render(request, "login.html")

    async def login(self, request: Request) -> Response:
        form = await checked_form(request)
        name, password = form.get("name", "").strip().lower(), form.get("password", "")
        client = request.client.host if request.client else "-"
        throttle = self.ctx.throttle
        wait = throttle.retry_after(name, client)
        if wait > 0:
            log.warning("dashboard: login for %r throttled (%s)", name, client)
            minutes = max(1, round(wait / 60))
            page = self.render(
                request, "login.html", 429, error=f"Too many failed logins: try again in {minutes} min."
            )
            page.headers["Retry-After"] = str(int(wait) + 1)
            return page
        user = (
            await run_in_threadpool(self.ctx.users.authenticate, name, password)
            if name and password
            else None
        )
        if user is None:
            throttle.failed(name, client)
            log.warning("dashboard: failed login for %r from %s", name, client)
            return self.render(request, "login.html", 401, error="Wrong user name or password.", name=name)
        throttle.succeeded(name)
        start_session(request.session, user)
        log.info("dashboard: %s logged in from %s", user.name, client)
        return RedirectResponse("/", status_code=303)

    async def logout(self, request: Request) -> Response:
        await checked_form(request)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # --- pages ----------------------------------------------------------------------------------------------
    @login_required
    async def overview(self, request: Request) -> Response:
        statuses, stats = await run_in_threadpool(
            lambda: (fleet_overview(self.ctx.db), self.ctx.queue.stats())
        )
        failing = sum(1 for s in statuses if s.failing and s.tenant.enabled)
        return self.render(request, "overview.html", statuses=statuses, stats=stats, failing=failing)

    @login_required
    async def tenant(self, request: Request) -> Response:
        data = await run_in_threadpool(self._tenant_data, request.path_params["name"])
        return self.render(request, "tenant.html", **data)

    def _tenant_data(self, name: str) -> dict[str, Any]:
        tenant = self.ctx.registry.get(name)
        url = hook_url(self.ctx.serve.public_url, self.ctx.paths.token(tenant.id))
        with PostgresStateStore(self.ctx.db.pool, tenant.id) as state:
            runs, holder = state.runs(30), state.lock_holder()
            triggers, last_success = state.trigger_counts(), state.last_success()
        jobs = self.ctx.queue.jobs(tenant.id, limit=10)
        return {
            "tenant": tenant,
            "hook_url": url,
            "public_url": self.ctx.serve.public_url,
            "runs": runs,
            "holder": holder,
            "triggers": triggers,
            "last_success": last_success,
            "jobs": jobs,
        }

    @login_required
    async def run(self, request: Request) -> Response:
        name, run_id = request.path_params["name"], request.path_params["run_id"]
        data = await run_in_threadpool(self._run_data, name, run_id)
        return self.render(request, "run.html", **data)

    def _run_data(self, name: str, run_id: int) -> dict[str, Any]:
        tenant = self.ctx.registry.get(name)
        with PostgresStateStore(self.ctx.db.pool, tenant.id) as state:
            run, reports = state.run(run_id), state.reports(run_id)
        if run is None:
            raise PageRefused(404, "NO_SUCH_RUN", f"tenant {tenant.name} has no run {run_id}")
        return {"tenant": tenant, "run": run, "reports": reports}

    @login_required
    async def run_now(self, request: Request) -> Response:
        form = await checked_form(request)
        mode = form.get("mode", "")
        if mode not in MODES:
            raise PageRefused(400, "BAD_MODE", f"mode must be one of {', '.join(MODES)}")
        tenant = await run_in_threadpool(self.ctx.registry.get, request.path_params["name"])
        if not tenant.enabled:
            raise PageRefused(409, "TENANT_DISABLED", f"{tenant.name} is disabled: enable it first")
        job = await run_in_threadpool(self.ctx.queue.enqueue_sync, tenant, mode, "manual")
        user = request.state.user.name
        log.info("dashboard: %s asked for a %s run of %s (job %s)", user, mode, tenant.name, job or "waiting")
        if job is None:
            flash(request.session, f"A {mode.upper()} run of {tenant.name} was already waiting in the queue.")
        else:
            flash(request.session, f"{mode.upper()} run of {tenant.name} queued (job {job}).")
        return RedirectResponse(f"/tenants/{tenant.name}", status_code=303)
