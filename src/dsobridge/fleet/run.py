"""One job of the fleet: one sync run of one tenant, on its PostgreSQL state, within the global limits.

A DELTA job takes every pending webhook trigger of its tenant (and the ones a killed worker left ``running``:
the job holds the tenant's lock, so nobody else is working on them), runs ONE DELTA — scoped to the union of
the triggers' debtors when every trigger is scoped, else a full DELTA — and finishes the triggers with the
run: ``done`` on success, back to ``pending`` (and the job retried with backoff) on a failure another attempt
may cure, ``failed`` when the run was refused (a person has to look).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

import psycopg

from dsobridge.fleet.db import FleetDatabase
from dsobridge.fleet.jobs import RetryableRunError
from dsobridge.fleet.limits import SharedLimits
from dsobridge.fleet.state_pg import PostgresStateStore
from dsobridge.fleet.tenants import TenantError, TenantRegistry
from dsobridge.logs import redact
from dsobridge.sync.config import SyncConfig
from dsobridge.sync.scope import FULL, Scope
from dsobridge.sync.state import Locked, StateStore, Trigger
from dsobridge.sync.triggers import scope_of

log = logging.getLogger("dsobridge.fleet")

# sync(config, mode, scope, *, state, today, dynaccount_transport, mydso_transport) -> RunResult
SyncCall = Callable[..., Any]


class RunError(Exception):
    """A run that another attempt will not cure (configuration, state of another company, a bug)."""


def engine_sync(config: SyncConfig, mode: str, scope: Scope, **kwargs: Any) -> Any:
    """The engine's run: THE one place the fleet builds ``SyncOptions`` and calls ``run_sync``."""
    from dsobridge.sync.run import SyncOptions
    from dsobridge.sync.runner import run_sync

    return run_sync(config, SyncOptions(mode=mode, scope=scope), **kwargs)


class TenantRunner:
    """What a worker does with a sync job: ``runner(tenant_id, mode, reason)``."""

    def __init__(
        self,
        db: FleetDatabase,
        registry: TenantRegistry,
        limits: SharedLimits | None,
        *,
        sync: SyncCall = engine_sync,
        today: date | None = None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.limits = limits
        self.sync = sync
        self.today = today

    def __call__(self, tenant_id: int, mode: str, reason: str) -> str:
        try:
            tenant = self.registry.get(tenant_id)
        except TenantError:
            return f"tenant {tenant_id} was removed: nothing to do"
        if not tenant.enabled:
            return f"tenant {tenant.name} is disabled: nothing to do"
        config = self.registry.config(tenant)
        try:
            with self.db.connect() as conn, PostgresStateStore(conn, tenant.id) as state:
                try:
                    state.acquire_lock()
                except Locked as exc:
                    raise RetryableRunError(str(exc)) from None
                try:
                    summary = self._run(state, config, mode, reason)
                finally:
                    state.release_lock()
        except Exception as exc:  # the job's error is logged and stored by the queue: no secret in it
            message = redact(str(exc))  # the tenant's secrets were revealed (registered) building its config
            if isinstance(exc, RetryableRunError | psycopg.OperationalError):  # the database away a moment
                raise RetryableRunError(message) from None
            raise RunError(f"{type(exc).__name__}: {message}") from None
        log.info("tenant %s: %s", tenant.name, summary)
        return summary

    def _run(self, state: StateStore, config: SyncConfig, mode: str, reason: str) -> str:
        triggers: list[Trigger] = []
        if mode == "delta":
            state.requeue_triggers()
            triggers = state.claim_triggers()
            if reason == "webhook" and not triggers:
                return "no pending trigger (an earlier run took them)"
        ids = [t.id for t in triggers]
        try:
            result = self._sync(state, config, mode, scope_of(triggers) if triggers else FULL)
        except BaseException as exc:
            state.finish_triggers(ids, run_id=None, status="pending", error=type(exc).__name__)
            raise
        summary = f"{mode} run {result.run_id}: {result.status} (exit {result.exit_code})"
        if result.status == "success":
            state.finish_triggers(ids, run_id=result.run_id, status="done")
            return summary
        if result.status == "refused" and result.error_kind != "state_locked":
            state.finish_triggers(ids, run_id=result.run_id, status="failed", error=result.error)
            return summary + f": {result.error}"
        state.finish_triggers(ids, run_id=result.run_id, status="pending", error=result.error)
        raise RetryableRunError(summary + f": {result.error}")

    def _sync(self, state: StateStore, config: SyncConfig, mode: str, scope: Scope) -> Any:
        transports: dict[str, Any] = {}
        if self.limits is not None:
            transports = {
                "dynaccount_transport": self.limits.transport("dynaccount", config.dynaccount.base_url),
                "mydso_transport": self.limits.transport("mydso", config.mydso.base_url),
            }
        try:
            return self.sync(config, mode, scope, state=state, today=self.today, **transports)
        finally:
            for transport in transports.values():
                transport.close()
