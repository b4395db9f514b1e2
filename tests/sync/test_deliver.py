"""Deliver → record: the files as sent are what the state records; rejected rows are sent again."""

from __future__ import annotations

from datetime import date

from tests.sync.conftest import read_csv_file

from dsobridge.sync.config import MappingConfig
from dsobridge.sync.engine import SyncEngine
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.run import SyncOptions
from dsobridge.sync.state import SqliteStateStore, digest64, parse_item_key

TODAY = date(2026, 11, 20)


class Rejecting:
    """A sink that rejects one line of one file kind and keeps the bytes of every file it got."""

    def __init__(self, reject_line: int | None, kind: str = "items") -> None:
        self.reject_line = reject_line
        self.kind = kind
        self.sent: list[tuple[str, list[str], bytes]] = []

    def deliver(self, file):
        data = file.path.read_bytes()
        rows = read_csv_file(file.path, file.encoding)
        self.sent.append((file.kind, [r.get("item_unique_key") or r["client_code"] for r in rows], data))
        rejected = []
        if file.kind == self.kind and self.reject_line is not None:
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


def test_the_state_records_the_hash_of_each_line_sent_and_a_rejected_row_is_sent_again(dyn, tmp_path):
    seed(dyn)
    with SqliteStateStore(tmp_path / "s.sqlite3") as state:
        sink = Rejecting(reject_line=4)
        mapper = Mapper(MappingConfig())
        result = SyncEngine(dyn, sink, state, mapper=mapper, page_size=3, today=TODAY).run(SyncOptions())
        assert result.status == "success", result.error
        _, keys, data = next(s for s in sink.sent if s[0] == "items")
        assert len(keys) == 7
        lines = data.split(b"\r\n")[1:-1]
        rejected_key = keys[2]  # line 4 = the third data row
        recorded = {s.key: s.hash for s in state.item_states(parse_item_key(k) for k in keys)}
        assert sorted(recorded) == sorted(parse_item_key(k) for k in keys if k != rejected_key)
        for key, line in zip(keys, lines, strict=True):
            if key != rejected_key:
                assert recorded[parse_item_key(key)] == digest64(line + b"\r\n")
        staged = "SELECT COUNT(*) FROM sqlite_temp_master WHERE name LIKE 'staged%'"
        assert state.db.execute(staged).fetchone()[0] == 0  # dropped at the end of the run

        again = Rejecting(reject_line=None)
        delta = SyncEngine(dyn, again, state, mapper=mapper, page_size=3, today=TODAY).run(
            SyncOptions(mode="delta")
        )
        assert delta.status == "success", delta.error
        assert [(k, keys) for k, keys, _ in again.sent] == [
            ("items", [rejected_key])
        ]  # only the rejected row


def test_rejected_clients_refuse_the_stock_items_file_after_the_clients_are_recorded(dyn, tmp_path):
    seed(dyn)
    with SqliteStateStore(tmp_path / "s.sqlite3") as state:
        sink = Rejecting(reject_line=3, kind="clients")  # the second client row
        mapper = Mapper(MappingConfig())
        result = SyncEngine(dyn, sink, state, mapper=mapper, page_size=3, today=TODAY).run(SyncOptions())
        assert (result.status, result.exit_code) == ("refused", 3)
        assert "rejected 1 client row(s)" in result.error
        assert [kind for kind, _, _ in sink.sent] == ["clients", "contacts"]  # no items file
        assert [k for k, _ in state.row_hashes("clients")] == [digest64("10001")]  # without the rejected row
        assert state.count("contacts") == 1
        assert state.count("items") == 0
        assert [r["kind"] for r in state.reports(result.run_id)] == ["clients", "contacts"]
