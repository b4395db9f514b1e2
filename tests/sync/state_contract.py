"""The contract every state store passes: SQLite here, PostgreSQL in the fleet's tests.

A test module subclasses :class:`StateStoreContract` and provides the ``open_store`` fixture: a function
that opens a store of ONE company, the same company (the same file / tenant) on every call.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from datetime import date, timedelta
from decimal import Decimal

import pytest

from dsobridge.sync.state import (
    AcceptedFile,
    Identity,
    ItemState,
    Locked,
    LockHolder,
    RunOutcome,
    StagedItem,
    StagedRow,
    StateMismatch,
    StateStore,
    digest64,
    pack_item_key,
)

ACME = Identity(592912, "https://api.dynaccount.com", "acme-api", "https://account.mydsomanager.com")


def item(
    number: int, *, debtor: str = "10001", remaining: str = "100.00", open_: bool = True, **kw
) -> ItemState:
    return ItemState(
        key=pack_item_key(kw.pop("kind", "INVOICE"), number),
        hash=kw.pop("hash", number * 7919),
        debtor=debtor,
        client=kw.pop("client", f"C{debtor}"),
        number=kw.pop("item_number", number),
        currency=kw.pop("currency", "DKK"),
        initial=Decimal(kw.pop("initial", "100.00")),
        remaining=Decimal(remaining),
        issued=kw.pop("issued", date(2026, 10, 1)),
        due=kw.pop("due", date(2026, 10, 31)),
        open=open_,
        reason=kw.pop("reason", None),
        paid=kw.pop("paid", None),
    )


def accepted(file_no: int, kind: str = "items", **kw) -> AcceptedFile:
    return AcceptedFile(
        file_no=file_no,
        kind=kind,
        label=kw.pop("label", kind),
        mode=kw.pop("mode", "DELTA" if kind == "items" else "-"),
        report=kw.pop("report", {"success": True}),
        counts=kw.pop("counts", {}),
        **kw,
    )


class StateStoreContract:
    @pytest.fixture
    def store(self, open_store):
        s = open_store()
        yield s
        s.close()

    def test_is_a_state_store(self, store):
        assert isinstance(store, StateStore)

    # --- identity -------------------------------------------------------------------------------------------
    def test_binds_to_one_company_and_refuses_another(self, store, open_store):
        assert store.identity() is None
        store.bind(ACME)
        store.bind(
            Identity(592912, "https://api.dynaccount.com/", "acme-api", "https://account.mydsomanager.com")
        )
        other = Identity(777, "https://api.dynaccount.com", "other-api", "https://account.mydsomanager.com")
        with pytest.raises(StateMismatch) as raised:
            store.bind(other)
        text = str(raised.value)
        assert "592912" in text and "acme-api" in text and "777" in text
        again = open_store()
        try:
            assert again.identity() == ACME
        finally:
            again.close()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("dynaccount_api_id", 592913),
            ("dynaccount_url", "https://api.other-dynaccount.com"),
            ("mydso_login", "acme-api-2"),
            ("mydso_url", "https://other.mydsomanager.com"),
        ],
    )
    def test_each_identity_field_alone_binds_the_company(self, store, open_store, field, value):
        """Any one of the four facts changed alone is another company: refused, the state left as bound."""
        store.bind(ACME)
        store.bind(  # the URLs are compared without a trailing slash
            Identity(592912, "https://api.dynaccount.com/", "acme-api", "https://account.mydsomanager.com/")
        )
        wanted = dataclasses.replace(ACME, **{field: value})
        with pytest.raises(StateMismatch) as raised:
            store.bind(wanted)
        assert raised.value.bound == ACME and raised.value.wanted == wanted
        assert str(value) in str(raised.value)
        again = open_store()
        try:
            assert again.identity() == ACME
        finally:
            again.close()

    # --- lock -----------------------------------------------------------------------------------------------
    def test_lock_is_exclusive_shown_and_released(self, store, open_store):
        store.acquire_lock()
        run_id = store.start_run("stock")
        holder = store.lock_holder()
        assert holder is not None and holder.pid == os.getpid() and holder.run_id == run_id
        other = open_store()
        try:
            other._lock_token = None
            # the same pid holds it, so pretend to be another live process on another host
            with pytest.raises(Locked) as raised:
                _acquire_as(other, pid=os.getpid(), host="elsewhere")
            assert str(run_id) in str(raised.value) and "unlock" in str(raised.value)
        finally:
            other.close()
        store.release_lock()
        assert store.lock_holder() is None

    def test_a_lock_of_a_dead_process_on_this_host_is_taken_over(self, store):
        _plant_lock(store, pid=_dead_pid(), host=socket.gethostname())
        store.acquire_lock()
        assert store.lock_holder().pid == os.getpid()

    def test_break_lock_removes_exactly_that_holder(self, store):
        _plant_lock(store, pid=123456, host="elsewhere")
        holder = store.lock_holder()
        stale = LockHolder(holder.pid, holder.host, holder.acquired_at - timedelta(seconds=5))
        assert not store.break_lock(stale)
        assert store.break_lock(holder)
        assert store.lock_holder() is None

    # --- runs -----------------------------------------------------------------------------------------------
    def test_runs_and_last_success(self, store):
        first = store.start_run("stock", history_months=6)
        store.finish_run(
            first,
            RunOutcome(
                "success", 0, open_count=3, open_total=Decimal("12.50"), facts={"debtors": {"DKK": 3}}
            ),
        )
        scoped = store.start_run("delta", scope="debtors:10001")
        store.finish_run(scoped, RunOutcome("success", 0))
        failed = store.start_run("delta")
        store.finish_run(failed, RunOutcome("failed", 1, error="boom"))
        assert store.last_success().id == first
        assert store.last_success().facts == {"debtors": {"DKK": 3}}
        assert store.last_success().open_total == Decimal("12.50")
        assert store.last_success(full_scope=False).id == scoped
        assert [r.id for r in store.runs(2)] == [failed, scoped]
        assert store.run(scoped).scope == "debtors:10001"
        assert store.run(first).history_months == 6

    def test_a_run_left_running_is_marked_interrupted_by_the_next(self, store):
        left = store.start_run("stock")
        store.start_run("delta")
        assert store.run(left).status == "interrupted"

    # --- delivered state ------------------------------------------------------------------------------------
    def test_commit_records_the_staged_rows_but_the_rejected_lines(self, store):
        run = store.start_run("stock")
        store.stage_items(
            1, [StagedItem(2, item(1001)), StagedItem(3, item(1002)), StagedItem(4, item(1003))]
        )
        store.stage_rows(0, [StagedRow(2, digest64("10001"), 11), StagedRow(3, digest64("10002"), 12)])
        n = store.commit_file(run, accepted(0, "clients", rejected_lines={3}))
        assert n == 1
        assert dict(store.row_hashes("clients")) == {digest64("10001"): 11}
        n = store.commit_file(run, accepted(1, rejected_lines=[3], stock=True, counts={"items": {"rows": 3}}))
        assert n == 2
        assert [k for k, _ in store.open_items()] == [
            pack_item_key("INVOICE", 1001),
            pack_item_key("INVOICE", 1003),
        ]
        assert store.run(run).stock_delivered and store.run(run).counts == {"items": {"rows": 3}}
        assert [r["kind"] for r in store.reports(run)] == ["clients", "items"]
        assert store.count("items") == 2 and store.count("clients") == 1

    def test_item_states_round_trip_every_field(self, store):
        run = store.start_run("delta")
        odd = item(
            7,
            kind="CREDITNOTE",
            debtor="7",
            client="C-7",
            initial="-10.005",
            remaining="-0.005",
            currency="EUR",
            issued=date(2025, 1, 2),
            due=date(2025, 2, 3),
        )
        closed = item(
            8,
            kind="PAYMENT",
            item_number=5501,
            open_=False,
            remaining="0.00",
            reason="matched",
            paid=date(2026, 11, 2),
        )
        store.stage_items(5, [StagedItem(2, odd), StagedItem(3, closed)])
        store.commit_file(run, accepted(5))
        got = {s.key: s for s in store.item_states([odd.key, closed.key, pack_item_key("INVOICE", 99)])}
        assert got == {odd.key: odd, closed.key: closed}
        assert got[odd.key].kind == "CREDITNOTE" and got[odd.key].unique_key == "CREDITNOTE-7"
        assert store.item_hash(odd.key) == odd.hash and store.item_hash(123) is None
        assert list(store.open_items()) == [(odd.key, odd.hash)]

    def test_open_items_of_some_debtors_and_closing_beside_a_file(self, store):
        run = store.start_run("stock")
        rows = [item(n, debtor=c) for n, c in ((1, "A"), (2, "B"), (3, "A"), (4, "C"))]
        store.stage_items(1, [StagedItem(i + 2, s) for i, s in enumerate(rows)])
        store.commit_file(run, accepted(1))
        assert [k for k, _ in store.open_items(["A", "C"])] == [rows[0].key, rows[2].key, rows[3].key]
        settled = ItemState(
            **{
                **_fields(rows[1]),
                "open": False,
                "remaining": Decimal("0.00"),
                "reason": "forced",
                "paid": date(2026, 12, 1),
            }
        )
        store.stage_items(2, [])
        store.commit_file(run, accepted(2, close=[settled], stock=True))
        assert rows[1].key not in dict(store.open_items())
        assert next(store.item_states([rows[1].key])).reason == "forced"

    def test_staged_rows_are_not_state_until_committed(self, store):
        run = store.start_run("stock")
        store.stage_items(1, [StagedItem(2, item(1))])
        store.discard_staged()
        store.stage_items(1, [StagedItem(2, item(2))])
        store.commit_file(run, accepted(1))
        assert [k for k, _ in store.open_items()] == [pack_item_key("INVOICE", 2)]

    def test_marks_only_rise(self, store):
        run = store.start_run("stock")
        store.set_marks({"debtor_invoice": 10, "debtor_invoice_match": 5}, run)
        store.set_marks({"debtor_invoice": 8}, run)
        store.stage_items(1, [])
        store.commit_file(run, accepted(1, marks={"debtor_invoice_match": 9}))
        assert store.marks() == {"debtor_invoice": 10, "debtor_invoice_match": 9}

    # --- triggers and incidents ---------------------------------------------------------------------------
    def test_triggers_wait_are_claimed_together_and_survive_a_restart(self, store, open_store):
        a = store.add_trigger("accounting", "insert", ["10001"])
        b = store.add_trigger("debtor_group", "put", None)
        assert [t.id for t in store.pending_triggers()] == [a, b]
        claimed = store.claim_triggers()
        assert [(t.id, t.debtors, t.status, t.attempts) for t in claimed] == [
            (a, ("10001",), "running", 1),
            (b, None, "running", 1),
        ]
        assert store.claim_triggers() == []
        again = open_store()
        try:
            assert again.requeue_triggers() == 2
            assert [t.id for t in again.claim_triggers()] == [a, b]
            again.finish_triggers([a], run_id=4, status="done")
            again.finish_triggers([b], run_id=4, status="pending", error="HTTP 503")
        finally:
            again.close()
        assert store.trigger_counts() == {"pending": 1, "running": 0, "done": 1, "failed": 0}
        assert store.last_trigger_failure().error == "HTTP 503"

    def test_one_incident_per_kind_until_resolved(self, store):
        assert store.open_incident("failed", "Dynaccount unreachable", 3)
        assert not store.open_incident("failed", "again", 4)
        assert store.open_incident("stale", "no success for 30 h", None)
        assert [(i.kind, i.run_id) for i in store.open_incidents()] == [("failed", 3), ("stale", None)]
        assert store.resolve_incidents(5) == ["failed", "stale"]
        assert store.open_incidents() == []
        assert store.open_incident("failed", "new", 6)


def _fields(state: ItemState) -> dict:
    return state._asdict()


def _plant_lock(store, *, pid: int, host: str) -> None:
    """Write a lock row as another process would (through the store's own connection)."""
    _acquire_as(store, pid=pid, host=host)


def _acquire_as(store, *, pid: int, host: str) -> None:
    """Take the lock as process ``pid`` on ``host`` (stores read ``os.getpid`` / ``socket.gethostname``)."""
    real_pid, real_host = os.getpid, socket.gethostname
    try:
        os.getpid = lambda: pid  # type: ignore[assignment]
        socket.gethostname = lambda: host  # type: ignore[assignment]
        store.acquire_lock()
    finally:
        os.getpid, socket.gethostname = real_pid, real_host


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1
