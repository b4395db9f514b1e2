"""What the fleet looks like now: one row per tenant (last run, last success, triggers waiting), failures
first — the read side for ``dsobridge fleet list``, the dashboard and ``/metrics``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from dsobridge.fleet.db import FleetDatabase
from dsobridge.fleet.state_pg import PostgresStateStore
from dsobridge.fleet.tenants import Tenant
from dsobridge.sync.state import RunRecord

FAILED = ("failed", "refused", "interrupted")


@dataclass(frozen=True)
class LastRun:
    id: int
    mode: str
    status: str  # running | success | failed | refused | interrupted
    started_at: datetime
    ended_at: datetime | None
    exit_code: int | None
    error: str | None


@dataclass(frozen=True)
class TenantStatus:
    tenant: Tenant
    last_run: LastRun | None
    last_success_at: datetime | None  # end of the last successful full run (STOCK or DELTA)
    open_count: int | None  # open items delivered, as of that run
    open_total: Decimal | None  # their open amount (summed over currencies by the engine)
    pending_triggers: int

    @property
    def failing(self) -> bool:
        return self.last_run is not None and self.last_run.status in FAILED

    def freshness_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds since the last successful run ended (``None``: never)."""
        if self.last_success_at is None:
            return None
        return ((now or datetime.now(UTC)) - self.last_success_at).total_seconds()


_OVERVIEW = """
SELECT t.id, t.name, t.enabled, t.dynaccount_api_id, t.mydso_login, t.created_at, t.updated_at,
       r.id, r.mode, r.status, r.started_at, r.ended_at, r.exit_code, r.error,
       s.ended_at, s.open_count, s.open_total,
       (SELECT count(*) FROM triggers g WHERE g.tenant_id = t.id AND g.status = 'pending')
  FROM tenants t
  LEFT JOIN LATERAL (SELECT * FROM runs WHERE tenant_id = t.id AND NOT dry_run ORDER BY id DESC LIMIT 1) r
         ON true
  LEFT JOIN LATERAL (SELECT ended_at, open_count, open_total FROM runs
                      WHERE tenant_id = t.id AND status = 'success' AND NOT dry_run AND scope = 'full'
                      ORDER BY id DESC LIMIT 1) s
         ON true
"""


def fleet_overview(db: FleetDatabase) -> list[TenantStatus]:
    """Every tenant's status: failing tenants first, then the least fresh, then by name."""
    with db.pool.connection() as conn:
        rows = conn.execute(_OVERVIEW).fetchall()
    statuses = [_status(row) for row in rows]
    never = datetime.min.replace(tzinfo=UTC)
    return sorted(statuses, key=lambda s: (not s.failing, s.last_success_at or never, s.tenant.name))


def tenant_runs(db: FleetDatabase, tenant_id: int, limit: int = 20) -> list[RunRecord]:
    """A tenant's run history, newest first."""
    with PostgresStateStore(db.pool, tenant_id) as state:
        return state.runs(limit)


def run_reports(db: FleetDatabase, tenant_id: int, run_id: int) -> list[dict[str, Any]]:
    """The import reports of one run of the tenant (one per file My DSO Manager accepted)."""
    with PostgresStateStore(db.pool, tenant_id) as state:
        return state.reports(run_id)


def _status(row: tuple[Any, ...]) -> TenantStatus:
    tenant = Tenant(*row[:7])
    run = None if row[7] is None else LastRun(*row[7:14])
    return TenantStatus(
        tenant=tenant,
        last_run=run,
        last_success_at=row[14],
        open_count=row[15],
        open_total=row[16],
        pending_triggers=int(row[17]),
    )
