"""The webhook receiver of one company: verify, bound, record the trigger durably, answer 202.

``POST <path>``: at most ``max_body`` bytes are read (413 beyond, the rest unread); ``X-Hash`` is verified
with the API secret over the URL (with and without its scheme, spec §7) and the raw body (401 otherwise);
the JSON is parsed with bounded nesting (400); what it changed becomes a trigger recorded in the state store
(``record``) BEFORE the 202 — so a restart never loses it. Any other failure is a 4xx or a 503 with an error
code, never a 500. ``GET /status``: the calls received and the triggers' state; ``GET /healthz``: 200 while
the state store answers and the trigger worker lives (503 otherwise), for a service manager or a monitor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dsobridge.dynaccount import verify_webhook
from dsobridge.sync.webhook import WebhookRefused, debtors_of, parse_payload, read_body

log = logging.getLogger("dsobridge.webhook")

Record = Callable[[str, str, frozenset[str] | None], Any]  # (table, method, debtors) → trigger id


def build_receiver(
    api_secret: str,
    record: Record,
    *,
    path: str = "/dynaccount-webhook/",
    public_url: str | None = None,
    max_body: int = 1 << 20,
    max_depth: int = 32,
    status: Callable[[], dict[str, Any]] | None = None,
    healthy: Callable[[], bool] | None = None,
) -> Starlette:
    """The receiver app. ``public_url``: the URL as configured in Dynaccount (default: as received)."""
    counts = {"received": 0, "rejected": 0, "without_scheme": 0, "with_scheme": 0, "ignored": 0}
    events: dict[str, int] = {}

    async def receive(request: Request) -> JSONResponse:
        counts["received"] += 1
        try:
            body = await read_body(request, max_body)
            url = public_url or str(request.url)
            variant = verify_webhook(url, body, request.headers.get("x-hash"), api_secret)
            if variant is None:
                raise WebhookRefused(401, "BAD_HASH", "X-Hash does not verify")
            payload = parse_payload(body, max_depth)
        except WebhookRefused as refused:
            counts["rejected"] += 1
            return JSONResponse(refused.body(), status_code=refused.status)
        counts[variant] += 1
        table, method = str(payload.get("table") or "?"), str(payload.get("method") or "?")
        events[f"{table}:{method}"] = events.get(f"{table}:{method}", 0) + 1
        debtors = debtors_of(payload)
        if debtors is not None and not debtors:
            counts["ignored"] += 1
            ignored = f"{table} does not touch receivables"
            return JSONResponse({"ok": True, "verified": variant, "ignored": ignored}, status_code=202)
        try:
            trigger = await run_in_threadpool(record, table[:64], method[:64], debtors)
        except Exception as exc:  # the state store is unavailable: tell the sender to try again
            log.error("webhook could not be recorded: %s", type(exc).__name__)
            return JSONResponse({"ok": False, "error": "STATE_UNAVAILABLE"}, status_code=503)
        return JSONResponse({"ok": True, "verified": variant, "trigger": trigger}, status_code=202)

    async def show(request: Request) -> JSONResponse:
        extra = await run_in_threadpool(status) if status is not None else {}
        return JSONResponse({"webhooks": counts, "events": events, **extra})

    async def health(request: Request) -> JSONResponse:
        ok = await run_in_threadpool(healthy) if healthy is not None else True
        return JSONResponse({"ok": ok}, status_code=200 if ok else 503)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("webhook call failed: %s", type(exc).__name__)
        return JSONResponse({"ok": False, "error": "UNPROCESSABLE"}, status_code=400)

    return Starlette(
        routes=[
            Route(path, receive, methods=["POST"]),
            Route("/status", show, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        exception_handlers={Exception: unexpected},
    )
