"""The SQLite state store: the shared contract, plus what only a file has (permissions, migrations)."""

from __future__ import annotations

import json
import sqlite3
import stat

import pytest
from tests.sync.state_contract import StateStoreContract

from dsobridge.sync.state import SqliteStateStore, pack_item_key
from dsobridge.sync.state.migrations import SQLITE_MIGRATIONS


class TestSqliteStateStore(StateStoreContract):
    @pytest.fixture
    def open_store(self, tmp_path):
        return lambda: SqliteStateStore(tmp_path / "state.sqlite3")


def test_the_state_file_is_owner_only(tmp_path):
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"")
    path.chmod(0o644)
    with SqliteStateStore(path):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_version_0_1_state_is_carried_over(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)")
    for version, (name, sql) in enumerate(SQLITE_MIGRATIONS[:2], start=1):
        db.executescript(sql)
        db.execute("INSERT INTO schema_migrations VALUES (?, ?, '2026-11-01')", (version, name))
    row = {
        "client_code": "C10001",
        "item_date_issue": "2026-10-01",
        "item_date_due": "2026-10-31",
        "item_amount_initial_inc_tax": "6580.10",
        "item_amount_remaining_inc_tax": "1000.00",
        "item_currency": "DKK",
        "item_unique_key": "INVOICE-1001",
        "item_number": "F-1001",
    }
    db.execute("INSERT INTO delivered VALUES ('items', 'INVOICE-1001', 'abc', 1, ?, 1)", (json.dumps(row),))
    db.execute("INSERT INTO delivered VALUES ('clients', 'C10001', 'abc', 1, NULL, 1)")
    db.close()
    with SqliteStateStore(path) as state:
        (item,) = state.item_states([pack_item_key("INVOICE", 1001)])
        assert (item.debtor, item.client, str(item.initial), str(item.remaining), item.open, item.hash) == (
            "C10001",
            "C10001",
            "6580.10",
            "1000.00",
            True,
            0,
        )
        assert item.number == 1001 and state.count("clients") == 1
        assert len(state.schema_versions()) == len(SQLITE_MIGRATIONS)
