"""The delivery pipeline: uploads in a thread while the state rows are staged, then one short commit."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from enum import StrEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsobridge.sync import engine as engine_module
from dsobridge.sync.config import MappingConfig
from dsobridge.sync.engine import SyncEngine, SyncOptions, _hash_and_json, _row_json
from dsobridge.sync.mapping import Mapper, row_hash
from dsobridge.sync.spool import Spool
from dsobridge.sync.state import Delivered, StateStore

TODAY = date(2026, 11, 20)


class Kind(StrEnum):
    FAC = "FAC"


ROWS = [
    {
        "client_code": "10001",
        "item_number": "1001",
        "item_type": "FAC",
        "item_date_issue": date(2026, 10, 1),
        "item_amount_initial_inc_tax": Decimal("1250.00"),
        "item_amount_initial": Decimal("1E+2"),
        "item_amount_remaining_inc_tax": Decimal("-0.00"),
        "item_currency": None,
        "item_erp_type": Kind.FAC,
        "item_unique_key": "INVOICE-1001",
    },
    {
        "client_code": "K-7",
        "client_blocked": True,
        "client_credit_limit": None,
        "client_business_name": "Æble ApS",
    },
    {"contact_collection": False, "n": 0, "big": 10**20, "x": 1.5, "items": [1, "a"], "z": ""},
    {},
]


@pytest.mark.parametrize("row", ROWS)
def test_hash_and_json_are_exactly_row_hash_and_row_json(row):
    assert _hash_and_json(row, True) == (row_hash(row), _row_json(row))
    assert _hash_and_json(row, False) == (row_hash(row), None)
    shuffled = dict(reversed(list(row.items())))
    assert _hash_and_json(shuffled, True) == (row_hash(row), _row_json(row))


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.dates(),
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=6), values, max_size=8))
def test_hash_and_json_match_the_reference_on_any_row(row):
    assert _hash_and_json(row, True) == (row_hash(row), _row_json(row))


def test_staged_rows_are_committed_per_file_without_the_rejected_lines(tmp_path):
    with StateStore(tmp_path / "s.sqlite3") as state:
        run = state.start_run("stock")
        state.discard_staged()
        assert state.stage([Delivered("10001", "c1"), Delivered("10002", "c2")], file=0) == 2
        assert state.stage([Delivered("INVOICE-1", "i1", True, '{"a":1}')], file=1) == 1
        assert state.stage([Delivered("INVOICE-2", "i2", True, None)], file=1, first_line=3) == 1
        assert (
            state.commit_file(
                run, "items", None, report={}, mode="STOCK", counts={}, staged_file=1, skip_lines={2}
            )
            == 1
        )
        assert state.item_states() == {"INVOICE-2": ("i2", True)}
        assert state.hashes("clients") == {}  # file 0 is staged, not recorded
        assert state.commit_file(run, "clients", None, report={}, mode="-", counts={}, staged_file=0) == 2
        assert state.hashes("clients") == {"10001": "c1", "10002": "c2"}
        assert state.db.execute("SELECT COUNT(*) FROM temp.staged").fetchone()[0] == 0
        state.stage([Delivered("10003", "c3")], file=2)
        state.discard_staged()
        state.stage([Delivered("10004", "c4")], file=2)  # the table comes back empty
        assert state.db.execute("SELECT key FROM temp.staged").fetchall() == [("10004",)]


def test_a_spool_can_be_read_by_two_threads_at_once():
    spool = Spool()
    for i in range(5500):
        spool.add({"n": i, "amount": Decimal(i) / 100}, f"k{i}", "", i % 3 == 0)
    seen: dict[str, list[int]] = {}

    def read(name: str) -> None:
        seen[name] = [row["n"] for row in spool]

    threads = [threading.Thread(target=read, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(v == list(range(5500)) for v in seen.values()) and len(seen) == 4
    spool.close()


class Rejecting:
    """A sink that rejects one line of the items file and records what it got."""

    def __init__(self, reject_line: int | None, kind: str = "items") -> None:
        self.reject_line = reject_line
        self.kind = kind
        self.sent: list[tuple[str, list[str]]] = []
        self.threads: set[str] = set()

    def deliver(self, kind, rows, *, columns, stock=None, replace_users_association=None):
        self.threads.add(threading.current_thread().name)
        rows = [dict(r) for r in rows]
        keys = [r.get("item_unique_key") or r["client_code"] for r in rows]
        self.sent.append((kind, keys))
        rejected = []
        if kind == self.kind and self.reject_line is not None:
            rejected = [type("R", (), {"line": self.reject_line, "column": "x", "reason": "no"})()]
        return type(
            "Report",
            (),
            {"rows": len(rows), "added": len(rows), "rejected": len(rejected), "rejected_rows": rejected},
        )()


def seed(dyn):
    dyn.debtor(10001, attention_name="Mette Hansen", attention_email="mh@a.dk")
    dyn.debtor(10002)
    for n in range(7):
        dyn.invoice(10001 + n % 2, f"{100 + n}.00", date(2026, 10, 1 + n), date(2026, 10, 31))


def test_stock_hashes_are_those_of_the_rows_and_a_rejected_row_is_sent_again(dyn, tmp_path, monkeypatch):
    monkeypatch.setattr(engine_module, "_STAGE_CHUNK", 2)  # several chunks per file, files staged ahead
    seed(dyn)
    with StateStore(tmp_path / "s.sqlite3") as state:
        sink = Rejecting(reject_line=4)
        mapper = Mapper(MappingConfig())
        result = SyncEngine(dyn, sink, state, mapper=mapper, page_size=3, today=TODAY).run(SyncOptions())
        assert result.status == "success", result.error
        assert any(name.startswith("dsobridge-upload") for name in sink.threads)
        items_sent = next(keys for kind, keys in sink.sent if kind == "items")
        assert len(items_sent) == 7
        rejected_key = items_sent[2]  # line 4 = the third data row
        states = state.item_states()
        assert sorted(states) == sorted(k for k in items_sent if k != rejected_key)
        # the hashes computed while uploading are those of the delivered rows
        for kind, keys in sink.sent:
            if kind == "clients":
                assert sorted(state.hashes("clients")) == sorted(keys)
        row = state.delivered_row("items", items_sent[0])
        assert row["item_unique_key"] == items_sent[0]
        assert states[items_sent[0]][0] == row_hash(engine_module._row_from_json(_row_json(row)))
        staged = "SELECT COUNT(*) FROM sqlite_temp_master WHERE name = 'staged'"
        assert state.db.execute(staged).fetchone()[0] == 0  # dropped at the end of the run

        again = Rejecting(reject_line=None)
        delta = SyncEngine(dyn, again, state, mapper=mapper, page_size=3, today=TODAY).run(
            SyncOptions(mode="delta")
        )
        assert delta.status == "success", delta.error
        assert again.sent == [("items", [rejected_key])]  # nothing else changed: only the rejected row


def test_rejected_clients_refuse_the_stock_items_file_after_the_clients_are_recorded(dyn, tmp_path):
    seed(dyn)
    with StateStore(tmp_path / "s.sqlite3") as state:
        sink = Rejecting(reject_line=3, kind="clients")  # the second client row
        mapper = Mapper(MappingConfig())
        result = SyncEngine(dyn, sink, state, mapper=mapper, page_size=3, today=TODAY).run(SyncOptions())
        assert (result.status, result.exit_code) == ("refused", 3)
        assert "rejected 1 client row(s)" in result.error
        assert [kind for kind, _ in sink.sent] == ["clients", "contacts"]  # no items file
        assert state.hashes("clients").keys() == {"10001"}  # accepted, recorded without the rejected row
        assert len(state.hashes("contacts")) == 1
        assert state.item_states() == {}
        assert [r["kind"] for r in state.reports(result.run_id)] == ["clients", "contacts"]
