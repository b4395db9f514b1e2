"""``dsobridge fleet serve``: every tenant's webhooks on one endpoint, the dashboard, /metrics, /healthz.

    from dsobridge.fleet.web import ServeContext, ServeSettings, build_app, migrate_web
    migrate_web(db)                                   # the fleet's tables, then the users and webhook paths
    ctx = ServeContext.build(db, fleet_settings, ServeSettings.from_env(), registry, queue)
    with queue.open():
        uvicorn.run(build_app(ctx), host="127.0.0.1", port=8089)

See docs/dashboard.md.
"""

from __future__ import annotations

from dsobridge.fleet.web.app import build_app
from dsobridge.fleet.web.auth import LoginThrottle
from dsobridge.fleet.web.context import ServeContext
from dsobridge.fleet.web.hooks import TenantHooks
from dsobridge.fleet.web.paths import HookPaths, hook_path, hook_url, public_hook_url
from dsobridge.fleet.web.schema import migrate_web
from dsobridge.fleet.web.settings import ServeSettings
from dsobridge.fleet.web.users import User, UserError, UserStore

__all__ = [
    "HookPaths",
    "LoginThrottle",
    "ServeContext",
    "ServeSettings",
    "TenantHooks",
    "User",
    "UserError",
    "UserStore",
    "build_app",
    "hook_path",
    "hook_url",
    "migrate_web",
    "public_hook_url",
]
