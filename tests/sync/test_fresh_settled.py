"""Invoices and credit notes issued AND settled between two runs (never open at a sync) still reach My DSO
Manager, as settled items with their payment date; found by the high-water marks of the number series."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from dsobridge.sync.config import MappingConfig
from dsobridge.sync.engine import SyncEngine, SyncOptions
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.state import SqliteStateStore, parse_item_key

TODAY = date(2026, 11, 20)


def doc_marks(state) -> dict[str, int]:
    """The high-water marks of the two document number series (the match series has its own)."""
    return {k: v for k, v in state.marks().items() if k in ("debtor_invoice", "debtor_creditnote")}


def engine(dyn, dso, state, **kw):
    mapper = Mapper(MappingConfig(exclude_groups=("Koncern",)))
    return SyncEngine(dyn, dso, state, mapper=mapper, page_size=2, today=TODAY, **kw)


def small_company(dyn):
    dyn.debtor(10001)
    dyn.debtor(10002, module_group_name="Koncern")
    old = dyn.invoice(10001, "400.00", date(2026, 10, 1), date(2026, 10, 31))
    paid_before = dyn.invoice(10001, "100.00", date(2026, 9, 1), date(2026, 10, 1))
    dyn.payment(10001, "100.00", date(2026, 9, 20), invoice=paid_before)
    dyn.invoice(10002, "50.00", date(2026, 10, 1), date(2026, 10, 31))
    return old, paid_before


def between_runs(dyn, old):
    """After the first run: documents issued and settled before the next one, and one left open."""
    fresh = dyn.invoice(10001, "1000.00", date(2026, 11, 21), date(2026, 12, 21), order="PO-9")
    dyn.payment(10001, "600.00", date(2026, 11, 23), invoice=fresh)
    dyn.payment(10001, "400.00", date(2026, 11, 26), invoice=fresh)  # settled by its latest match
    credited = dyn.invoice(10001, "250.00", date(2026, 11, 22), date(2026, 12, 22))
    note = dyn.creditnote(10001, "250.00", date(2026, 11, 24), invoice=credited)  # both settled
    still_open = dyn.invoice(10001, "80.00", date(2026, 11, 25), date(2026, 12, 25))
    koncern = dyn.invoice(10002, "70.00", date(2026, 11, 21), date(2026, 12, 21))
    dyn.payment(10002, "70.00", date(2026, 11, 22), invoice=koncern)  # excluded group: never sent
    dyn.payment(10001, "400.00", date(2026, 11, 27), invoice=old)  # open at the first run: settled path
    return fresh, credited, note, still_open, koncern


def test_delta_sends_documents_issued_and_settled_since_the_last_run(dyn, dso, tmp_path):
    old, paid_before = small_company(dyn)
    with SqliteStateStore(tmp_path / "s.sqlite3") as state:
        first = engine(dyn, dso, state).run(SyncOptions(mode="stock"))
        assert first.exit_code == 0, first.error
        # the first run sets the marks at the newest numbers, without reading any match for it
        assert doc_marks(state) == {"debtor_invoice": 1003, "debtor_creditnote": 0}
        fresh, credited, note, still_open, koncern = between_runs(dyn, old)
        dso.today = date(2026, 11, 28)
        second = engine(dyn, dso, state).run(SyncOptions(mode="delta"))
        assert second.exit_code == 0, second.error
        assert doc_marks(state) == {"debtor_invoice": koncern, "debtor_creditnote": note}
    # the settlement of the invoice open at the first run, then the open and fresh documents
    assert [(kind, stock) for kind, stock, _ in dso.deliveries[-2:]] == [("items", False), ("items", False)]
    rows = [row for _, _, file_rows in dso.deliveries[-2:] for row in file_rows]
    sent = {
        r["item_unique_key"]: (
            r["item_type"],
            r["item_amount_initial_inc_tax"],
            r["item_amount_remaining_inc_tax"],
            r["item_date_issue"],
            r["item_date_payment"],
        )
        for r in rows
    }
    assert sent == {
        f"INVOICE-{still_open}": ("FAC", Decimal("80.00"), Decimal("80.00"), date(2026, 11, 25), None),
        f"INVOICE-{old}": ("FAC", Decimal("400.00"), Decimal("0.00"), date(2026, 10, 1), date(2026, 11, 27)),
        f"INVOICE-{fresh}": (
            "FAC",
            Decimal("1000.00"),
            Decimal("0.00"),
            date(2026, 11, 21),
            date(2026, 11, 26),
        ),
        f"INVOICE-{credited}": (
            "FAC",
            Decimal("250.00"),
            Decimal("0.00"),
            date(2026, 11, 22),
            date(2026, 11, 24),
        ),
        f"CREDITNOTE-{note}": (
            "AVO",
            Decimal("-250.00"),
            Decimal("0.00"),
            date(2026, 11, 24),
            date(2026, 11, 24),
        ),
    }
    assert f"INVOICE-{paid_before}" not in dso.items  # settled before the first run: --history's job
    assert f"INVOICE-{koncern}" not in dso.items
    fresh_row = next(r for r in rows if r["item_unique_key"] == f"INVOICE-{fresh}")
    assert fresh_row["item_order_number"] == "PO-9" and fresh_row["client_code"] == "10001"
    assert "3 invoice(s) and credit note(s) issued and settled since the last run: sent as settled" in (
        second.messages
    )


def test_scan_stops_at_the_mark_and_a_quiet_run_sends_nothing(dyn, dso, tmp_path):
    old, _ = small_company(dyn)
    for _ in range(20):  # a long history below the mark: never read again
        number = dyn.invoice(10001, "10.00", date(2026, 8, 1), date(2026, 9, 1))
        dyn.payment(10001, "10.00", date(2026, 8, 20), invoice=number)
    with SqliteStateStore(tmp_path / "s.sqlite3") as state:
        assert engine(dyn, dso, state).run(SyncOptions(mode="stock")).exit_code == 0
        between_runs(dyn, old)
        assert engine(dyn, dso, state).run(SyncOptions(mode="delta")).exit_code == 0
        deliveries = len(dso.deliveries)
        dyn.orders.clear()
        quiet = engine(dyn, dso, state).run(SyncOptions(mode="delta"))
        assert quiet.exit_code == 0 and all(f.rows == 0 for f in quiet.files)
        assert len(dso.deliveries) == deliveries
        scans = [o for o in dyn.orders if o[1].endswith(" desc")]
        # one probe (limit 0,1) per table: the newest number is the mark; no match read but the newest id
        assert scans == [
            ("debtor_invoice", "invoice_id_ desc"),
            ("debtor_creditnote", "invoice_id_ desc"),
            ("debtor_invoice_match", "id desc"),
        ]
        assert ("debtor_invoice_match", "invoice_id_ desc") not in dyn.orders


def test_marks_advance_only_with_the_accepted_items_file(dyn, dso, tmp_path):
    old, _ = small_company(dyn)
    with SqliteStateStore(tmp_path / "s.sqlite3") as state:
        assert engine(dyn, dso, state).run(SyncOptions(mode="stock")).exit_code == 0
        doc_marks_before = doc_marks(state)
        fresh, credited, note, _, _ = between_runs(dyn, old)
        dso.fail_kind = "items"
        failed = engine(dyn, dso, state).run(SyncOptions(mode="stock", force=True))
        assert failed.exit_code == 1
        assert doc_marks(state) == doc_marks_before  # refused file: the marks did not move
        dso.fail_kind = None
        again = engine(dyn, dso, state).run(SyncOptions(mode="stock", force=True))
        assert again.exit_code == 0, again.error
        settled_file = next(f for f in again.files if f.label == "items (settled)")
        assert settled_file.sent and settled_file.rows == 1  # the old invoice, open at the first run
        fresh_file = next(f for f in again.files if f.label == "items (history)")
        assert fresh_file.sent and fresh_file.rows == 3  # the 3 documents issued and settled meanwhile
        for key in (f"INVOICE-{fresh}", f"INVOICE-{credited}", f"CREDITNOTE-{note}"):
            assert dso.items[key]["item_amount_remaining_inc_tax"] == Decimal("0.00")
            (recorded,) = state.item_states([parse_item_key(key)])
            assert not recorded.open
        assert state.marks()["debtor_creditnote"] == note


def test_dry_run_and_only_clients_leave_the_marks(dyn, dso, tmp_path):
    old, _ = small_company(dyn)
    with SqliteStateStore(tmp_path / "s.sqlite3") as state:
        assert engine(dyn, dso, state).run(SyncOptions(mode="stock")).exit_code == 0
        marks = state.marks()
        between_runs(dyn, old)
        dry = engine(dyn, dso, state).run(SyncOptions(mode="delta", dry_run=True))
        files = {f.label: f.rows for f in dry.files}
        assert dry.exit_code == 0 and (files["items (settled)"], files["items"]) == (1, 4)
        only = engine(dyn, dso, state).run(SyncOptions(mode="delta", only=frozenset({"clients"})))
        assert only.exit_code == 0
        assert state.marks() == marks


def test_documents_of_a_skipped_debtor_hold_the_mark(dyn, dso, tmp_path):
    small_company(dyn)
    dyn.debtor(10003)
    with SqliteStateStore(tmp_path / "s.sqlite3") as state:
        assert engine(dyn, dso, state).run(SyncOptions(mode="stock")).exit_code == 0
        mark = state.marks()["debtor_invoice"]
        held = dyn.invoice(10003, "300.00", date(2026, 11, 21), date(2026, 12, 21))
        dyn.payment(10003, "300.00", date(2026, 11, 22), invoice=held)
        later = dyn.invoice(10001, "90.00", date(2026, 11, 23), date(2026, 12, 23))
        dyn.payment(10001, "90.00", date(2026, 11, 24), invoice=later)
        next(d for d in dyn.tables["debtor"] if d["module_id_"] == 10003)["name"] = ""  # cannot be mapped
        skipped = engine(dyn, dso, state).run(SyncOptions(mode="delta"))
        assert skipped.exit_code == 0 and skipped.skipped_clients == ["10003"]
        assert f"INVOICE-{later}" in dso.items and f"INVOICE-{held}" not in dso.items
        assert state.marks()["debtor_invoice"] == held - 1 == mark  # held back: the next run looks again
        next(d for d in dyn.tables["debtor"] if d["module_id_"] == 10003)["name"] = "Kunde 10003 ApS"
        fixed = engine(dyn, dso, state).run(SyncOptions(mode="delta"))
        assert fixed.exit_code == 0, fixed.error
        assert dso.items[f"INVOICE-{held}"]["item_date_payment"] == date(2026, 11, 22)
        assert state.marks()["debtor_invoice"] == later


def test_a_document_booked_after_the_open_set_was_read_holds_the_mark(dyn, dso, tmp_path):
    old, _ = small_company(dyn)
    with SqliteStateStore(tmp_path / "s.sqlite3") as state:
        assert engine(dyn, dso, state).run(SyncOptions(mode="stock")).exit_code == 0
        mark = state.marks()["debtor_invoice"]
        between_runs(dyn, old)
        top = max(i["invoice_id_"] for i in dyn.tables["debtor_invoice"])
        iter_rows, booked = dyn.iter_rows, []

        def booking_meanwhile(table, **kw):
            if table == "debtor_invoice" and str(kw.get("order")).endswith(" desc") and not booked:
                booked.append(dyn.invoice(10001, "55.00", date(2026, 11, 28), date(2026, 12, 28)))
            return iter_rows(table, **kw)

        dyn.iter_rows = booking_meanwhile
        result = engine(dyn, dso, state).run(SyncOptions(mode="delta"))
        assert result.exit_code == 0, result.error
        late = booked[0]
        assert late == top + 1 and f"INVOICE-{late}" not in dso.items  # not in the open set read before
        assert mark < state.marks()["debtor_invoice"] == late - 1  # the fresh documents below it count
        dyn.payment(10001, "55.00", date(2026, 11, 29), invoice=late)  # settled before the next run
        again = engine(dyn, dso, state).run(SyncOptions(mode="delta"))
        assert again.exit_code == 0, again.error
        assert dso.items[f"INVOICE-{late}"]["item_date_payment"] == date(2026, 11, 29)
        assert state.marks()["debtor_invoice"] == late
