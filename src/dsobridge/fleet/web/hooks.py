"""Webhooks for every tenant on one endpoint: ``POST /hooks/<token>/``.

Each tenant has a random, unguessable path token (``hook_paths``; 32 url-safe characters, 192 bits): the
path picks the tenant, the tenant's own API secret verifies ``X-Hash``. A call is handed to the single-company
receiver (``dsobridge.sync.receiver.build_receiver``: the body cap, the hash over the public URL, the nesting
bound, never a 500) built for that tenant, whose ``record`` step is :func:`dsobridge.fleet.accept_trigger`:
the trigger is written to the tenant's state, then one coalesced DELTA is queued.

- an unknown or malformed token: 404 ``UNKNOWN_HOOK`` before a byte of the body is read;
- a disabled tenant: the verified trigger is recorded but no job is queued (202): it waits, and the minute
  tick queues its DELTA once the tenant is enabled again (a sender is never told to retry or give up);
- the database away, or a tenant's secrets that no key opens: 503 (the sender retries later).

The decrypted secret lives only inside the tenant's receiver, cached ``tenant_cache_seconds`` (so a tenant
disabled, removed or given a new path is seen within that time) and never logged: log lines name the tenant.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dsobridge.fleet.crypto import SecretsUnreadable
from dsobridge.fleet.tenants import Tenant, TenantError
from dsobridge.fleet.web.context import ServeContext
from dsobridge.fleet.web.paths import hook_path, hook_url
from dsobridge.fleet.webhooks import accept_trigger, record_trigger
from dsobridge.sync.receiver import build_receiver
from dsobridge.sync.webhook import WebhookRefused

log = logging.getLogger("dsobridge.fleet.serve")


@dataclass
class _Receiver:
    tenant: Tenant
    app: ASGIApp
    loaded_at: float


class TenantHooks:
    """The ASGI app behind ``Route("/hooks/{token}/", TenantHooks(ctx))``; counts its answers by status."""

    def __init__(self, ctx: ServeContext) -> None:
        self.ctx = ctx
        self._receivers: dict[str, _Receiver] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.ctx.metrics.webhooks.labels(code=str(message["status"])).inc()
            await send(message)

        token = scope.get("path_params", {}).get("token", "")
        try:
            receiver = await self._receiver(token)
        except TenantError:  # removed between finding its address and reading its secrets
            receiver = None
        except (psycopg.Error, SecretsUnreadable) as exc:
            log.error("webhook: the tenant's receiver cannot be built: %s", type(exc).__name__)
            code = "SECRETS_UNREADABLE" if isinstance(exc, SecretsUnreadable) else "STATE_UNAVAILABLE"
            await _refusal(503, code, "try again later")(scope, receive, counted)
            return
        if receiver is None:
            refused = _refusal(404, "UNKNOWN_HOOK", "no tenant has this webhook address")
            await refused(scope, receive, counted)
            return
        await receiver.app(scope, receive, counted)

    async def _receiver(self, token: str) -> _Receiver | None:
        cached = self._receivers.get(token)
        if cached is not None and time.monotonic() - cached.loaded_at < self.ctx.serve.tenant_cache_seconds:
            return cached
        self._receivers.pop(token, None)
        loaded = await run_in_threadpool(self._load, token)
        if loaded is not None:
            self._receivers[token] = loaded
        return loaded

    def _load(self, token: str) -> _Receiver | None:
        tenant = self.ctx.paths.tenant_of(token)
        if tenant is None:
            return None
        api_secret = self.ctx.registry.secrets(tenant)["dynaccount_api_secret"].reveal()
        settings = self.ctx.serve
        public = hook_url(settings.public_url, token) if settings.public_url else None
        app = build_receiver(
            api_secret,
            self._record(tenant),
            path=hook_path(token),
            public_url=public,
            max_body=settings.max_body,
            max_depth=settings.max_depth,
        )
        return _Receiver(tenant, app, time.monotonic())

    def _record(self, tenant: Tenant) -> Callable[[str, str, Collection[str] | None], int]:
        def record(table: str, method: str, debtors: Collection[str] | None) -> int:
            if not tenant.enabled:
                trigger = record_trigger(self.ctx.db, tenant, table, method, debtors)
                log.info("webhook for %s (disabled): trigger %d held until enabled", tenant.name, trigger)
                return trigger
            accepted = accept_trigger(self.ctx.db, self.ctx.queue, tenant, table, method, debtors)
            job = f"job {accepted.job_id} queued" if accepted.job_id else "joined the waiting DELTA"
            log.info("webhook for %s: trigger %d, %s", tenant.name, accepted.trigger_id, job)
            return accepted.trigger_id

        return record


def _refusal(status: int, code: str, message: str) -> Any:
    return JSONResponse(WebhookRefused(status, code, message).body(), status_code=status)
