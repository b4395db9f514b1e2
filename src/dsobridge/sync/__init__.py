"""The sync engine: Dynaccount receivables → My DSO Manager's four files, with a SQLite state store.

    from dsobridge.sync import load_config, run_sync, SyncOptions
    result = run_sync(load_config("dsobridge.toml"), SyncOptions(mode="delta"))
    raise SystemExit(result.exit_code)

See docs/sync.md and docs/configuration.md.
"""

from __future__ import annotations

from dsobridge.sync.config import ConfigError, Secret, SyncConfig, load_config, render_template
from dsobridge.sync.deliver import OutgoingFile, Sink
from dsobridge.sync.delivery import Endpoints, FtpSink, MyDsoSink
from dsobridge.sync.engine import SyncEngine
from dsobridge.sync.extract import ExtractionError, Extractor, RowSource
from dsobridge.sync.fields import select_fields
from dsobridge.sync.guards import GuardRefusal
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.openitems import Mismatch, OpenItem, check_balances, open_items, payment_date
from dsobridge.sync.run import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_TERMINATED,
    ClearingInfo,
    FileResult,
    RunResult,
    SyncOptions,
)
from dsobridge.sync.runner import run_sync
from dsobridge.sync.scope import FULL, Scope
from dsobridge.sync.state import Locked, SqliteStateStore, StateError, StateMismatch, StateStore

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_TERMINATED",
    "FULL",
    "ClearingInfo",
    "ConfigError",
    "Endpoints",
    "ExtractionError",
    "Extractor",
    "FileResult",
    "FtpSink",
    "GuardRefusal",
    "Locked",
    "Mapper",
    "Mismatch",
    "MyDsoSink",
    "OpenItem",
    "OutgoingFile",
    "RowSource",
    "RunResult",
    "Scope",
    "Secret",
    "Sink",
    "SqliteStateStore",
    "StateError",
    "StateMismatch",
    "StateStore",
    "SyncConfig",
    "SyncEngine",
    "SyncOptions",
    "check_balances",
    "load_config",
    "open_items",
    "payment_date",
    "render_template",
    "run_sync",
    "select_fields",
]
