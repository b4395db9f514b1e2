"""The run orchestration on fakes: modes, ordering, state, guards, crash safety."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from dsobridge.sync.config import MappingConfig, UserMapping
from dsobridge.sync.engine import SyncEngine, SyncOptions
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.scope import Scope
from dsobridge.sync.state import SqliteStateStore, item_key_text, pack_item_key

TODAY = date(2026, 11, 20)


def company(dyn):
    dyn.debtor(
        10001, attention_name="Mette Hansen", attention_email="mh@a.dk", email_statement="bogholderi@a.dk"
    )
    dyn.debtor(10002, module_group_name="Koncern")
    dyn.debtor(10003, ref_currency_name="EUR")
    a = dyn.invoice(10001, "1250.00", date(2026, 10, 1), date(2026, 10, 31), order="PO-7")
    b = dyn.invoice(10001, "500.00", date(2026, 10, 5), date(2026, 11, 4))
    dyn.payment(10001, "200.00", date(2026, 11, 1), invoice=b)
    dyn.creditnote(10001, "100.00", date(2026, 11, 2))
    dyn.payment(10001, "75.00", date(2026, 11, 3))
    dyn.invoice(10002, "999.00", date(2026, 10, 1), date(2026, 10, 31))
    c = dyn.invoice(10003, "800.00", date(2026, 9, 1), date(2026, 9, 30), currency="EUR")
    paid = dyn.invoice(10003, "300.00", date(2026, 6, 1), date(2026, 7, 1), currency="EUR")
    dyn.payment(10003, "300.00", date(2026, 7, 10), invoice=paid)
    return {"a": a, "b": b, "c": c, "paid": paid}


def engine(dyn, dso, state, **kw):
    mapper = kw.pop("mapper", None) or Mapper(MappingConfig(exclude_groups=("Koncern",)))
    return SyncEngine(dyn, dso, state, mapper=mapper, page_size=2, today=TODAY, **kw)


@pytest.fixture
def state(tmp_path):
    with SqliteStateStore(tmp_path / "state.sqlite3") as store:
        yield store


def items_sent(dso):
    """The items files the fake My DSO Manager received (the master data may go before a refusal)."""
    return [rows for kind, _, rows in dso.deliveries if kind == "items"]


def expected_open(dyn):
    """Item key → signed remaining, from the fake's own tables, excluded group left out."""
    out = {}
    excluded = {d["module_id_"] for d in dyn.tables["debtor"] if d["module_group_name"] == "Koncern"}
    matches = dyn.tables["debtor_invoice_match"]
    for inv in dyn.tables["debtor_invoice"]:
        if inv["module_id_"] in excluded:
            continue
        rem = inv["total_amount"] - sum(
            (m["amount"] for m in matches if m["invoice_id_"] == inv["invoice_id_"]), Decimal(0)
        )
        if rem:
            out[f"INVOICE-{inv['invoice_id_']}"] = rem
    for cn in dyn.tables["debtor_creditnote"]:
        used = sum((m["amount"] for m in matches if m["creditnote_id_"] == cn["invoice_id_"]), Decimal(0))
        if cn["total_amount"] - used:
            out[f"CREDITNOTE-{cn['invoice_id_']}"] = -(cn["total_amount"] - used)
    for p in dyn.tables["debtor_accounting_module"]:
        used = sum((m["amount"] for m in matches if m["payment_id"] == p["id"]), Decimal(0))
        if -p["currency_amount"] - used:
            out[f"PAYMENT-{p['id']}"] = -(-p["currency_amount"] - used)
    return out


def test_stock_sends_clients_contacts_then_items_and_matches_the_ledger(dyn, dso, state):
    ids = company(dyn)
    result = engine(dyn, dso, state).run()
    assert (result.status, result.exit_code) == ("success", 0), result.error
    assert [(k, s) for k, s, _ in dso.deliveries] == [("clients", None), ("contacts", None), ("items", True)]
    assert sorted(dso.clients) == ["10001", "10003"]  # Koncern excluded
    assert dso.open_items() == expected_open(dyn)
    assert dso.open_items() == {
        f"INVOICE-{ids['a']}": Decimal("1250.00"),
        f"INVOICE-{ids['b']}": Decimal("300.00"),
        "CREDITNOTE-1003": Decimal("-100.00"),
        f"PAYMENT-{dyn.tables['debtor_accounting_module'][1]['id']}": Decimal("-75.00"),
        f"INVOICE-{ids['c']}": Decimal("800.00"),
    }
    inv = dso.items[f"INVOICE-{ids['a']}"]
    assert inv["item_type"] == "FAC"
    assert inv["item_order_number"] == "PO-7"
    assert inv["item_amount_initial"] == Decimal("1000.00")
    assert inv["item_date_due"] == date(2026, 10, 31)
    assert dso.items[f"INVOICE-{ids['c']}"]["item_currency"] == "EUR"
    rgl = [r for r in dso.items.values() if r["item_type"] == "RGL"]
    assert [(r["item_number"], r["item_amount_initial_inc_tax"]) for r in rgl] == [("2", Decimal("-75.00"))]
    assert result.balance_ok and result.balance_checked == 2
    assert result.open_count == 5
    assert result.open_total == Decimal("2525.00")
    contacts = sorted(dso.contacts.values(), key=lambda c: c["contact_lastname"])
    assert [(c["contact_lastname"], c["contact_collection"]) for c in contacts] == [
        ("Bogholderi", True),
        ("Hansen", False),
    ]
    run = state.run(result.run_id)
    assert run.status == "success" and run.stock_delivered
    assert run.counts["items"]["added"] == 5
    assert state.count("items", open_only=True) == 5


def test_delta_sends_only_changes_and_settles_with_the_match_date(dyn, dso, state):
    ids = company(dyn)
    assert engine(dyn, dso, state).run().exit_code == 0
    dso.deliveries.clear()
    dyn.payment(10001, "1250.00", date(2026, 11, 18), invoice=ids["a"])  # settles a
    dyn.payment(10001, "100.00", date(2026, 11, 19), invoice=ids["b"])  # partial on b
    new = dyn.invoice(10003, "40.00", date(2026, 11, 19), date(2026, 12, 19), currency="EUR")
    result = engine(dyn, dso, state).run(SyncOptions(mode="delta"))
    assert result.exit_code == 0, result.error
    # the settlement (a, with its payment date) first, then the changed and new open items
    assert [(k, s, len(rows)) for k, s, rows in dso.deliveries] == [("items", False, 1), ("items", False, 2)]
    sent = {r["item_unique_key"]: r for _, _, rows in dso.deliveries for r in rows}
    assert sorted(sent) == sorted([f"INVOICE-{ids['a']}", f"INVOICE-{ids['b']}", f"INVOICE-{new}"])
    assert sent[f"INVOICE-{ids['a']}"]["item_date_payment"] == date(2026, 11, 18)
    assert sent[f"INVOICE-{ids['a']}"]["item_amount_remaining_inc_tax"] == Decimal("0.00")
    assert sent[f"INVOICE-{ids['b']}"]["item_amount_remaining_inc_tax"] == Decimal("200.00")
    assert dso.open_items() == expected_open(dyn)
    # nothing changed: a second delta sends nothing
    dso.deliveries.clear()
    again = engine(dyn, dso, state).run(SyncOptions(mode="delta"))
    assert again.exit_code == 0 and dso.deliveries == []
    assert [f.rows for f in again.files] == [0, 0, 0, 0]


def test_history_sends_settled_items_of_the_last_months(dyn, dso, state):
    ids = company(dyn)
    old = dyn.invoice(10003, "10.00", date(2025, 1, 1), date(2025, 2, 1), currency="EUR")
    dyn.payment(10003, "10.00", date(2025, 3, 1), invoice=old)
    result = engine(dyn, dso, state).run(SyncOptions(history_months=6))
    assert result.exit_code == 0, result.error
    history = [rows for kind, stock, rows in dso.deliveries if kind == "items" and stock is False]
    assert len(history) == 1
    assert [(r["item_unique_key"], r["item_date_payment"]) for r in history[0]] == [
        (f"INVOICE-{ids['paid']}", date(2026, 7, 10))
    ]
    assert dso.items[f"INVOICE-{ids['paid']}"]["open"] is False
    assert f"INVOICE-{old}" not in dso.items


def test_a_failed_page_sends_no_items_file(dyn, dso, state):
    company(dyn)
    assert engine(dyn, dso, state).run().exit_code == 0
    before = dict(dso.items)
    dso.deliveries.clear()
    dyn.fail_table, dyn.fail_after_pages = "debtor_invoice", 1
    result = engine(dyn, dso, state).run()
    assert (result.status, result.exit_code) == ("failed", 1)
    assert "extraction incomplete" in result.error and "debtor_invoice" in result.error
    assert "SECRETKEY" not in result.error
    # the master data went while the items were read; no items file, so nothing changed there
    assert [kind for kind, _, _ in dso.deliveries] == ["clients", "contacts"]
    assert dso.items == before
    assert state.run(result.run_id).status == "failed"


def test_balance_mismatch_refuses_unless_allowed(dyn, dso, state):
    company(dyn)
    dyn.tables["debtor"][0]["balance"] = Decimal("1.00")
    result = engine(dyn, dso, state).run()
    assert (result.status, result.exit_code) == ("refused", 3)
    assert [(m.debtor, m.balance, m.open_items) for m in result.mismatches] == [
        ("10001", Decimal("1.00"), Decimal("1375.00"))
    ]
    assert "10001" in result.error and [kind for kind, _, _ in dso.deliveries] == ["clients", "contacts"]
    allowed = engine(dyn, dso, state).run(SyncOptions(allow_mismatch=True))
    assert allowed.exit_code == 0 and [kind for kind, _, _ in dso.deliveries][2:] == [
        "clients",
        "contacts",
        "items",
    ]


def test_a_stock_run_clears_what_was_paid_and_says_why(dyn, dso, state):
    """Payments lower the open amounts by far more than any percentage: explained, so not refused."""
    ids = company(dyn)
    assert engine(dyn, dso, state).run().exit_code == 0
    dyn.payment(10001, "1250.00", date(2026, 11, 18), invoice=ids["a"])
    dyn.payment(10003, "800.00", date(2026, 11, 19), invoice=ids["c"])
    dso.deliveries.clear()
    result = engine(dyn, dso, state).run()
    assert (result.status, result.exit_code) == ("success", 0), result.error
    assert sorted((c.key, c.reason, c.paid) for c in result.clearings) == [
        (f"INVOICE-{ids['a']}", "matched", date(2026, 11, 18)),
        (f"INVOICE-{ids['c']}", "matched", date(2026, 11, 19)),
    ]
    assert result.unexplained == []
    assert dso.open_items() == expected_open(dyn)
    assert dso.items[f"INVOICE-{ids['a']}"]["item_date_payment"] == date(2026, 11, 18)
    closed = {
        item_key_text(s.key): (s.open, s.reason, s.paid)
        for s in state.item_states([pack_item_key("INVOICE", ids["a"])])
    }
    assert closed == {f"INVOICE-{ids['a']}": (False, "matched", date(2026, 11, 18))}


def test_an_item_missing_from_the_extraction_refuses_the_stock_file_and_is_named(dyn, dso, state):
    ids = company(dyn)
    assert engine(dyn, dso, state).run().exit_code == 0
    dso.deliveries.clear()
    dyn.hide_open("debtor_invoice", ids["c"])  # the bulk read silently misses it; it is still open
    result = engine(dyn, dso, state).run()
    assert (result.status, result.exit_code) == ("refused", 3)
    assert f"INVOICE-{ids['c']}" in result.error and "still open in Dynaccount" in result.error
    assert [c.key for c in result.unexplained] == [f"INVOICE-{ids['c']}"]
    assert items_sent(dso) == []  # no items file (master data may have gone)
    # a DELTA would not clear it, but the balance invariant of its debtor catches the gap as well
    delta = engine(dyn, dso, state).run(SyncOptions(mode="delta"))
    assert (delta.exit_code, delta.mismatches[0].debtor) == (3, "10003")
    assert items_sent(dso) == []  # no items file (master data may have gone)
    # with the balance check waived, the DELTA holds the item (sends nothing for it) and says so
    held = engine(dyn, dso, state).run(SyncOptions(mode="delta", allow_mismatch=True))
    assert held.exit_code == 0 and f"INVOICE-{ids['c']}" in " ".join(held.messages)
    assert dso.open_items()[f"INVOICE-{ids['c']}"] == Decimal("800.00")


def test_killed_between_delivery_and_commit_then_next_run_is_correct(dyn, dso, state, tmp_path):
    ids = company(dyn)
    assert engine(dyn, dso, state).run().exit_code == 0
    dyn.payment(10001, "1250.00", date(2026, 11, 18), invoice=ids["a"])

    class Killed(BaseException):
        pass

    def kill(label):
        raise Killed

    with pytest.raises(Killed):
        engine(dyn, dso, state, after_delivery=kill).run(SyncOptions(mode="delta"))
    assert len(dso.deliveries) == 4  # the delta file was delivered, but the state did not advance
    state.release_lock()
    with SqliteStateStore(tmp_path / "state.sqlite3") as fresh:
        result = engine(dyn, dso, fresh).run(SyncOptions(mode="delta"))
        assert result.exit_code == 0, result.error
        assert [r["item_unique_key"] for r in dso.deliveries[-1][2]] == [f"INVOICE-{ids['a']}"]
        assert dso.open_items() == expected_open(dyn)
        assert [r.status for r in fresh.runs()] == ["success", "interrupted", "success"]


def test_a_second_run_is_refused_while_the_lock_is_held(dyn, dso, state, tmp_path):
    company(dyn)
    with SqliteStateStore(tmp_path / "state.sqlite3") as other:
        other.acquire_lock()
        result = engine(dyn, dso, state).run()
    assert (result.status, result.exit_code) == ("refused", 3)
    assert "another sync run holds the lock" in result.error
    assert dso.deliveries == []


def test_a_skipped_client_is_named_and_a_stock_file_that_would_clear_its_items_is_refused(dyn, dso, state):
    ids = company(dyn)
    dyn.tables["debtor"][2]["name"] = ""
    first = engine(dyn, dso, state).run()  # nothing of 10003 is at My DSO Manager: nothing to clear
    assert first.exit_code == 0 and first.skipped_clients == ["10003"]
    assert "debtor 10003 skipped: no name" in first.messages
    dyn.tables["debtor"][2]["name"] = "Kunde 10003 ApS"
    assert engine(dyn, dso, state).run().exit_code == 0
    dyn.tables["debtor"][2]["name"] = ""
    dso.deliveries.clear()
    result = engine(dyn, dso, state).run()
    assert (result.status, result.exit_code) == ("refused", 3)
    assert f"INVOICE-{ids['c']}" in result.error and "could not be mapped (no name)" in result.error
    assert items_sent(dso) == []  # no items file (master data may have gone)


def test_delta_holds_the_items_of_a_skipped_client_instead_of_settling_them(dyn, dso, state):
    ids = company(dyn)
    assert engine(dyn, dso, state).run().exit_code == 0
    dso.deliveries.clear()
    dyn.tables["debtor"][2]["name"] = ""  # 10003 can no longer be mapped; its invoice c is still open
    result = engine(dyn, dso, state).run(SyncOptions(mode="delta"))
    assert result.exit_code == 0, result.error
    assert result.skipped_clients == ["10003"]
    assert dso.deliveries == []  # nothing changed elsewhere; c is neither re-sent nor sent as settled
    assert dso.open_items()[f"INVOICE-{ids['c']}"] == Decimal("800.00")
    assert dso.open_items() == expected_open(dyn)
    (c,) = state.item_states([pack_item_key("INVOICE", ids["c"])])
    assert c.open  # still open in the state


def test_only_and_dry_run_and_users(dyn, dso, state):
    company(dyn)
    mapper = Mapper(
        MappingConfig(exclude_groups=("Koncern",)),
        users=(UserMapping(email="anne@x.dk", firstname="Anne", lastname="Holm", groups=("Indland",)),),
    )
    dry = engine(dyn, dso, state, mapper=mapper).run(SyncOptions(dry_run=True))
    assert (dry.status, dry.exit_code) == ("dry-run", 0)
    assert [(f.label, f.rows, f.sent) for f in dry.files] == [
        ("clients", 2, False),
        ("contacts", 2, False),
        ("users", 2, False),
        ("items (settled)", 0, False),
        ("items", 5, False),
        ("items (history)", 0, False),
    ]
    assert dso.deliveries == [] and state.count("items") == 0
    result = engine(dyn, dso, state, mapper=mapper).run(SyncOptions(only=frozenset({"clients", "users"})))
    assert result.exit_code == 0
    assert [(k, len(rows)) for k, _, rows in dso.deliveries] == [("clients", 2), ("users", 2)]
    assert sorted(u["client_code"] for u in dso.users) == ["10001", "10003"]


def test_contact_persons_are_added_once_and_one_contact_is_for_collection(dyn, dso, state):
    company(dyn)
    dyn.person(10001, "Mette Hansen", "MH@a.dk")  # the attention person again: not sent twice
    dyn.person(10001, "Lars Berg", "lars@a.dk", position="Indkøb", phone="+45 8888")
    dyn.person(10003, "Eva Lund", "eva@c.de")  # debtor 10003 has no attention person nor statement e-mail
    dyn.person(10002, "Koncern Person", "k@b.dk")  # excluded group
    result = engine(dyn, dso, state).run(SyncOptions(only=frozenset({"contacts"})))
    assert result.exit_code == 0, result.error
    rows = dso.deliveries[0][2]
    assert [
        (r["client_code"], r["contact_firstname"], r["contact_lastname"], r["contact_collection"])
        for r in rows
    ] == [
        ("10001", "Mette", "Hansen", False),
        ("10001", None, "Bogholderi", True),
        ("10001", "Lars", "Berg", False),
        ("10003", "Eva", "Lund", True),
    ]
    lars = rows[2]
    assert (lars["contact_function"], lars["contact_phone"], lars["contact_role"]) == (
        "Indkøb",
        "+45 8888",
        "contact",
    )


def wipe_refusal(result, *, previous_run: int) -> str:
    """The refusal of the source-wipe backstop: its facts, the run it compared with, and what to do."""
    assert (result.status, result.exit_code) == ("refused", 3), result.error
    compared = re.search(
        rf" \(compared with the last successful run, #{previous_run} of \d{{4}}-\d\d-\d\d \d\d:\d\d UTC\)\. ",
        result.error,
    )
    assert compared is not None, result.error
    assert result.error[compared.end() :] == (
        "That looks like a wiped or a different Dynaccount accounting, not business: no item was sent or "
        "cleared. Check the accounting and the API key in Dynaccount; if the debtors really were removed, "
        "run once with --force"
    )
    return result.error[: compared.start()]


def test_a_source_side_wipe_refuses_the_stock_file_until_forced(dyn, dso, state):
    """Most debtors of a currency gone from Dynaccount: a wiped or another accounting, not business."""
    ids = company(dyn)
    for number in range(10101, 10111):  # DKK: 10001, 10002 (Koncern) and these ten → 12; EUR: 10003
        dyn.debtor(number)
    first = engine(dyn, dso, state).run()
    assert (first.status, first.exit_code) == ("success", 0), first.error
    assert first.facts["debtors"] == {"DKK": 12, "EUR": 1}
    held = dict(dso.items)
    dyn.tables["debtor"] = [
        d for d in dyn.tables["debtor"] if d["module_id_"] < 10101 or d["module_id_"] > 10108
    ]
    dso.deliveries.clear()

    refused = engine(dyn, dso, state).run()
    assert wipe_refusal(refused, previous_run=first.run_id) == (
        "Dynaccount returned 4 DKK debtor(s), 12 at the last run (−67%, more than [sync] max_drop 30%)"
    )
    assert items_sent(dso) == []  # no items file (master data may have gone)
    assert dso.items == held and state.run(refused.run_id).status == "refused"
    assert state.last_success(full_scope=True).id == first.run_id

    # a targeted delta reads a few debtors: not compared, nor what the next full run compares with
    targeted = engine(dyn, dso, state).run(SyncOptions(mode="delta", scope=Scope.of(["10001"])))
    assert (targeted.status, targeted.exit_code) == ("success", 0), targeted.error
    again = engine(dyn, dso, state).run(SyncOptions(mode="delta"))
    assert wipe_refusal(again, previous_run=first.run_id).startswith(
        "Dynaccount returned 4 DKK debtor(s), 12 "
    )
    assert items_sent(dso) == []

    forced = engine(dyn, dso, state).run(SyncOptions(force=True))
    assert (forced.status, forced.exit_code) == ("success", 0), forced.error
    assert items_sent(dso) and dso.open_items() == expected_open(dyn)
    assert dso.items[f"INVOICE-{ids['c']}"]["open"]
    # the forced run is the new reference: the next STOCK is not refused
    assert engine(dyn, dso, state).run().exit_code == 0


def test_a_document_number_series_going_down_refuses_the_stock_file(dyn, dso, state):
    company(dyn)
    newest = dyn.invoice(10001, "50.00", date(2026, 11, 1), date(2026, 12, 1))
    posting = dyn.payment(10001, "50.00", date(2026, 11, 2), invoice=newest)  # settled: never open
    first = engine(dyn, dso, state).run()
    assert (first.status, first.exit_code) == ("success", 0), first.error
    assert first.facts["newest"]["debtor_invoice"] == newest
    for table, gone in (("debtor_invoice", "invoice_id_"), ("debtor_invoice_match", "invoice_id_")):
        dyn.tables[table] = [r for r in dyn.tables[table] if r[gone] != newest]
    dyn.tables["debtor_accounting_module"] = [
        r for r in dyn.tables["debtor_accounting_module"] if r["id"] != posting
    ]
    dyn.recompute()
    dso.deliveries.clear()
    refused = engine(dyn, dso, state).run()
    assert wipe_refusal(refused, previous_run=first.run_id) == (
        f"the newest booked debtor_invoice number went down from {newest} to {newest - 1}"
    )
    assert items_sent(dso) == []
    assert engine(dyn, dso, state).run(SyncOptions(force=True)).exit_code == 0
