"""The sync's state store: the interface (``StateStore``) and the embedded SQLite implementation.

    from dsobridge.sync.state import SqliteStateStore
    with SqliteStateStore("dsobridge-state.sqlite3") as state:
        print(state.identity(), state.runs(5))

The fleet's PostgreSQL implementation lives in ``dsobridge.fleet``; both pass
``tests/sync/state_contract.py``.
"""

from __future__ import annotations

from dsobridge.sync.state.base import (
    ITEM_KINDS,
    AcceptedFile,
    Identity,
    Incident,
    ItemState,
    Locked,
    LockHolder,
    RunOutcome,
    RunRecord,
    StagedItem,
    StagedRow,
    StateError,
    StateMismatch,
    StateStore,
    Trigger,
    digest64,
    holder_alive,
    item_key_text,
    pack_item_key,
    parse_item_key,
    unpack_item_key,
)
from dsobridge.sync.state.sqlite import SqliteStateStore, same_company

__all__ = [
    "ITEM_KINDS",
    "AcceptedFile",
    "Identity",
    "Incident",
    "ItemState",
    "LockHolder",
    "Locked",
    "RunOutcome",
    "RunRecord",
    "SqliteStateStore",
    "StagedItem",
    "StagedRow",
    "StateError",
    "StateMismatch",
    "StateStore",
    "Trigger",
    "digest64",
    "holder_alive",
    "item_key_text",
    "pack_item_key",
    "parse_item_key",
    "same_company",
    "unpack_item_key",
]
