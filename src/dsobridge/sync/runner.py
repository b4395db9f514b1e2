"""Wire a configuration to a run: both clients, the state store and the engine."""

from __future__ import annotations

from datetime import date
from typing import Any

from dsobridge.sync.config import SyncConfig
from dsobridge.sync.delivery import Endpoints
from dsobridge.sync.engine import Progress, RunResult, SyncEngine, SyncOptions
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.state import StateStore


def run_sync(
    config: SyncConfig,
    options: SyncOptions | None = None,
    *,
    progress: Progress | None = None,
    today: date | None = None,
    dynaccount_transport: Any = None,
    mydso_transport: Any = None,
) -> RunResult:
    """One sync run as configured (``options`` default: STOCK, all files)."""
    options = options or SyncOptions(history_months=0)
    with (
        Endpoints(config, dynaccount_transport=dynaccount_transport, mydso_transport=mydso_transport) as ends,
        StateStore(config.state_path) as state,
    ):
        engine = SyncEngine(
            ends.source,
            ends.sink,
            state,
            mapper=Mapper(config.mapping, config.users),
            page_size=config.dynaccount.page_size,
            max_drop=config.max_drop,
            today=today,
            progress=progress,
            lock_timeout=config.lock_timeout,
        )
        return engine.run(options)
