"""What the parts of ``fleet serve`` share: the database, the settings, the registry, the queue, the users."""

from __future__ import annotations

from dataclasses import dataclass, field

from dsobridge.fleet.db import FleetDatabase
from dsobridge.fleet.jobs import FleetQueue
from dsobridge.fleet.metrics import FleetMetrics
from dsobridge.fleet.settings import FleetSettings
from dsobridge.fleet.tenants import TenantRegistry
from dsobridge.fleet.web.auth import LoginThrottle
from dsobridge.fleet.web.paths import HookPaths
from dsobridge.fleet.web.settings import ServeSettings
from dsobridge.fleet.web.users import UserStore


@dataclass
class ServeContext:
    """``ServeContext.build(db, fleet_settings, serve_settings, registry, queue)``; the queue must be open
    (``with queue.open(): ...``) while the app serves."""

    db: FleetDatabase
    fleet: FleetSettings
    serve: ServeSettings
    registry: TenantRegistry
    queue: FleetQueue
    users: UserStore
    paths: HookPaths
    metrics: FleetMetrics
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    @classmethod
    def build(
        cls,
        db: FleetDatabase,
        fleet: FleetSettings,
        serve: ServeSettings,
        registry: TenantRegistry,
        queue: FleetQueue,
    ) -> ServeContext:
        return cls(db, fleet, serve, registry, queue, UserStore(db), HookPaths(db), FleetMetrics(db, queue))
