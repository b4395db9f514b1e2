"""The fleet: many companies (tenants) on one PostgreSQL, synced by any number of workers through a job queue.

    from dsobridge.fleet import FleetDatabase, FleetSettings, TenantRegistry, FleetQueue
    settings = FleetSettings.from_env()
    db = FleetDatabase.from_settings(settings)
    db.migrate()
    registry = TenantRegistry(db)                   # keys from $DSOBRIDGE_FLEET_KEYS
    tenant = registry.add("acme", text, secrets)    # a dsobridge.toml's text + the three secrets
    queue = FleetQueue(db, settings)
    with queue.open():
        queue.enqueue_sync(tenant, "delta", "manual")

The engine is the single-company one; only its state store (``PostgresStateStore``) and its HTTP transports
(``SharedLimits.transport``) differ. See docs/fleet.md.
"""

from __future__ import annotations

from dsobridge.fleet.crypto import Keyring, SecretsUnreadable
from dsobridge.fleet.db import FleetDatabase
from dsobridge.fleet.jobs import (
    FleetQueue,
    JobInfo,
    QueueStats,
    RetryableRunError,
    nightly_offset,
    nightly_slots,
)
from dsobridge.fleet.limits import LimitedTransport, ServiceLimit, SharedLimits, read_limits, set_limit
from dsobridge.fleet.run import RunError, TenantRunner
from dsobridge.fleet.settings import FleetConfigError, FleetSettings
from dsobridge.fleet.state_pg import PostgresStateStore
from dsobridge.fleet.status import LastRun, TenantStatus, fleet_overview, run_reports, tenant_runs
from dsobridge.fleet.tenants import Tenant, TenantError, TenantRegistry, secrets_from_env, tenant_config
from dsobridge.fleet.webhooks import TriggerAccepted, accept_trigger, record_trigger

__all__ = [
    "FleetConfigError",
    "FleetDatabase",
    "FleetQueue",
    "FleetSettings",
    "JobInfo",
    "Keyring",
    "LastRun",
    "LimitedTransport",
    "PostgresStateStore",
    "QueueStats",
    "RetryableRunError",
    "RunError",
    "SecretsUnreadable",
    "ServiceLimit",
    "SharedLimits",
    "Tenant",
    "TenantError",
    "TenantRegistry",
    "TenantRunner",
    "TenantStatus",
    "TriggerAccepted",
    "accept_trigger",
    "fleet_overview",
    "nightly_offset",
    "nightly_slots",
    "read_limits",
    "record_trigger",
    "run_reports",
    "secrets_from_env",
    "set_limit",
    "tenant_config",
    "tenant_runs",
]
