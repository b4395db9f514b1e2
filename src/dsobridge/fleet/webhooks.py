"""A verified webhook call for a tenant: recorded durably in its state, then one coalesced DELTA queued.

The trigger is written BEFORE the job is queued (and before the receiver answers 202): whatever happens next
(the queue's database away for a moment, a worker killed), the tenant's next DELTA job claims it. The job is
queued with the tenant's DELTA queueing lock, so a burst of calls gives one waiting job, which takes every
trigger pending when it starts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from dsobridge.fleet.db import FleetDatabase
from dsobridge.fleet.jobs import FleetQueue
from dsobridge.fleet.state_pg import PostgresStateStore
from dsobridge.fleet.tenants import Tenant


@dataclass(frozen=True)
class TriggerAccepted:
    trigger_id: int
    job_id: int | None  # None: joined the DELTA job already waiting for this tenant


def record_trigger(
    db: FleetDatabase, tenant: Tenant, table: str, method: str, debtors: Collection[str] | None
) -> int:
    """Write the trigger into the tenant's state (durable once this returns)."""
    with PostgresStateStore(db.pool, tenant.id) as state:
        return state.add_trigger(table, method, debtors)


def accept_trigger(
    db: FleetDatabase,
    queue: FleetQueue,
    tenant: Tenant,
    table: str,
    method: str,
    debtors: Collection[str] | None,
) -> TriggerAccepted:
    """Record the trigger, then queue the tenant's coalesced DELTA (``queue`` must be open)."""
    trigger_id = record_trigger(db, tenant, table, method, debtors)
    return TriggerAccepted(trigger_id, queue.enqueue_sync(tenant, "delta", "webhook"))
