"""The ``fleet serve`` application: webhooks of every tenant, the dashboard, ``/metrics`` and ``/healthz``.

    ctx = ServeContext.build(db, fleet_settings, serve_settings, registry, queue)
    with queue.open():
        uvicorn.run(build_app(ctx), host=..., port=...)

Errors never become a 500 for bad input: a refused request is a 4xx page (or JSON on the webhook path), an
unknown tenant or run a 404, the database away a 503.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets

import psycopg
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dsobridge.fleet.db import FleetDatabase
from dsobridge.fleet.tenants import TenantError
from dsobridge.fleet.web.context import ServeContext
from dsobridge.fleet.web.hooks import TenantHooks
from dsobridge.fleet.web.pages import Dashboard
from dsobridge.sync.webhook import WebhookRefused

log = logging.getLogger("dsobridge.fleet.serve")

SESSION_COOKIE = "dsobridge_session"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self';"
        b" frame-ancestors 'none'; base-uri 'none'",
    ),
]


def build_app(ctx: ServeContext) -> Starlette:
    dashboard = Dashboard(ctx)
    hooks = TenantHooks(ctx)

    async def health(request: Request) -> Response:
        up = await run_in_threadpool(database_answers, ctx.db)
        return JSONResponse({"ok": up, "database": "up" if up else "down"}, status_code=200 if up else 503)

    async def metrics(request: Request) -> Response:
        refusal = metrics_refusal(
            request, ctx.serve.metrics_token.reveal() if ctx.serve.metrics_token else None
        )
        if refusal is not None:
            return refusal
        await run_in_threadpool(ctx.metrics.refresh)
        return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    def error_page(request: Request, status: int, code: str, message: str) -> Response:
        return dashboard.render(request, "error.html", status, status=status, code=code, message=message)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WebhookRefused)
        return error_page(request, exc.status, exc.code, str(exc))

    async def unknown_tenant(request: Request, exc: Exception) -> Response:
        return error_page(request, 404, "NO_SUCH_TENANT", str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_page(request, exc.status_code, "HTTP_" + str(exc.status_code), exc.detail)

    async def database_down(request: Request, exc: Exception) -> Response:
        log.error("dashboard: the database did not answer (%s)", type(exc).__name__)
        return error_page(
            request, 503, "DATABASE_UNAVAILABLE", "The fleet's database does not answer; retry soon."
        )

    async def internal(request: Request, exc: Exception) -> Response:
        log.error("dashboard: %s on %s %s", type(exc).__name__, request.method, _first_segment(request))
        return PlainTextResponse("internal error", status_code=500)

    return Starlette(
        routes=[
            Route("/hooks/{token}/", hooks),
            Route("/healthz", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *dashboard.routes(),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=ctx.serve.session_key.reveal(),
                session_cookie=SESSION_COOKIE,
                max_age=int(ctx.serve.session_hours * 3600),
                same_site="lax",
                https_only=ctx.serve.secure_cookies,
            ),
        ],
        exception_handlers={
            WebhookRefused: refused,
            TenantError: unknown_tenant,
            HTTPException: http_error,
            psycopg.Error: database_down,
            Exception: internal,
        },
    )


def database_answers(db: FleetDatabase) -> bool:
    try:
        with db.pool.connection(timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def metrics_refusal(request: Request, token: str | None) -> Response | None:
    """``None`` when the scrape may go on: the bearer token matches, or (no token set) a loopback client."""
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode()):
            return None
        return PlainTextResponse(
            "bearer token required", status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    if _loopback(request.client.host if request.client else ""):
        return None
    return PlainTextResponse(
        "set DSOBRIDGE_FLEET_METRICS_TOKEN to scrape /metrics from another host", status_code=403
    )


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _first_segment(request: Request) -> str:
    """The path's first segment only (a webhook path holds the tenant's token: never logged)."""
    return "/" + request.url.path.lstrip("/").split("/", 1)[0]


class SecurityHeaders:
    """No framing, no sniffing, no caching, no scripts, forms posted to ourselves only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)
