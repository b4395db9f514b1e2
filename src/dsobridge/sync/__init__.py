"""The sync engine: Dynaccount receivables → My DSO Manager's four files, with a SQLite state store.

    from dsobridge.sync import load_config, run_sync, SyncOptions
    result = run_sync(load_config("dsobridge.toml"), SyncOptions(mode="delta"))
    raise SystemExit(result.exit_code)

See docs/sync.md and docs/configuration.md.
"""

from __future__ import annotations

from dsobridge.sync.config import ConfigError, Secret, SyncConfig, load_config, render_template
from dsobridge.sync.delivery import Endpoints, MyDsoSink
from dsobridge.sync.engine import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    FileResult,
    RunResult,
    Sink,
    SyncEngine,
    SyncOptions,
)
from dsobridge.sync.extract import ExtractionError, Extractor, RowSource
from dsobridge.sync.fields import select_fields
from dsobridge.sync.guards import GuardRefusal, check_drop, check_stock_complete
from dsobridge.sync.mapping import Mapper, row_hash
from dsobridge.sync.openitems import Mismatch, OpenItem, check_balances, open_items, payment_date
from dsobridge.sync.runner import run_sync
from dsobridge.sync.state import Locked, StateError, StateStore

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "ConfigError",
    "Endpoints",
    "ExtractionError",
    "Extractor",
    "FileResult",
    "GuardRefusal",
    "Locked",
    "Mapper",
    "Mismatch",
    "MyDsoSink",
    "OpenItem",
    "RowSource",
    "RunResult",
    "Secret",
    "Sink",
    "StateError",
    "StateStore",
    "SyncConfig",
    "SyncEngine",
    "SyncOptions",
    "check_balances",
    "check_drop",
    "check_stock_complete",
    "load_config",
    "open_items",
    "payment_date",
    "render_template",
    "row_hash",
    "run_sync",
    "select_fields",
]
