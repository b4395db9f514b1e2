"""Pages at constant cost: a deep ``limit=offset,count`` page continues after the key where the previous page
ended (same rows as OFFSET would give, writes in between included), and the sync's filters and orders are
index-backed (no sort of the table, no scan). Cost is counted in SQLite VM steps, not seconds."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sandbox_dynaccount_kit import inprocess_client, seeded

from dsobridge.dynaccount import DynaccountClient
from dsobridge.sandbox.dynaccount import TABLES, DynaccountSandbox
from dsobridge.sandbox.dynaccount.store import parse_order


@pytest.fixture(scope="module")
def company() -> Iterator[DynaccountSandbox]:
    with seeded(debtors=60, invoices=3000, seed=5) as sandbox:
        yield sandbox


@pytest.fixture
def api(company: DynaccountSandbox) -> Iterator[DynaccountClient]:
    with inprocess_client(company) as client:
        yield client


def _sql_rows(sb: DynaccountSandbox, table: str, where: dict, order: str) -> list[int]:
    """The ids the page sequence must give: ORDER BY as asked, ties by id in the last field's direction."""
    items = list(parse_order(order)) or [("id", False)]
    if all(name != "id" for name, _ in items):
        items.append(("id", items[-1][1]))
    clause = " AND ".join(f"{k}=?" for k in where) or "1"
    order_sql = ", ".join(f"{name} {'DESC' if desc else 'ASC'}" for name, desc in items)
    with sb.store.lock:
        rows = sb.store.conn.execute(
            f"SELECT id FROM {table} WHERE {clause} ORDER BY {order_sql}",  # noqa: S608
            tuple(where.values()),
        ).fetchall()
    return [r[0] for r in rows]


SHAPES = [
    ("debtor_invoice", {}, "id"),
    ("debtor_invoice", {}, "id desc"),
    ("debtor_invoice", {"is_booked": "YES"}, "invoice_id_ desc"),
    ("debtor_invoice", {"is_booked": "YES", "is_matched": "NO"}, "id"),
    ("debtor_invoice", {}, "time desc, invoice_id_"),  # mixed directions
    ("debtor_invoice", {}, "module_id_"),  # many ties
    ("debtor_invoice_match", {}, "invoice_id_"),
    ("debtor_invoice_match", {"is_creditnote": "YES"}, "creditnote_id_ desc"),
    ("debtor", {}, "name"),
    ("debtor_accounting_module", {"type": "PAYMENT"}, "id"),
]


@pytest.mark.parametrize(("table", "where", "order"), SHAPES)
def test_pages_are_the_rows_offset_would_give(
    api: DynaccountClient, company: DynaccountSandbox, table: str, where: dict, order: str
) -> None:
    got = [r["id"] for r in api.iter_rows(table, select=["id"], where=where, order=order, page_size=97)]
    assert got == _sql_rows(company, table, where, order)


def test_a_write_between_pages_is_seen_as_offset_sees_it(
    api: DynaccountClient, company: DynaccountSandbox
) -> None:
    first = api.get("debtor", select=["id", "name"], order="name", limit=(0, 20))
    api.put("debtor", 0, {"name": "AAA Første ApS"})  # sorts before every page already served
    second = api.get("debtor", select=["id", "name"], order="name", limit=(20, 20))
    expected = _sql_rows(company, "debtor", {}, "name")[20:40]
    assert [r["id"] for r in second] == expected and second[0]["id"] == first[-1]["id"]


def _steps(sb: DynaccountSandbox, call) -> int:
    """SQLite VM instructions a call costs (counted by the progress handler, every 100 steps)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 100
        return 0

    with sb.store.lock:
        sb.store.conn.set_progress_handler(count, 100)
    try:
        call()
    finally:
        with sb.store.lock:
            sb.store.conn.set_progress_handler(None, 100)
    return steps


@pytest.mark.parametrize(("table", "where", "order"), [s for s in SHAPES if s[0] == "debtor_invoice"][:3])
def test_a_deep_page_costs_what_the_first_costs(
    company: DynaccountSandbox, table: str, where: dict, order: str
) -> None:
    spec = TABLES[table]
    shape = {"select": ("id", "invoice_id_"), "where": where, "order": parse_order(order)}
    first = _steps(company, lambda: company.store.page(spec, offset=0, count=100, **shape))
    offset = 0
    while True:  # page through, as a client does; remember the cost of the deepest pages
        _, num = company.store.page(spec, offset=offset, count=100, **shape)
        if num < 100:
            break
        offset += num
        if offset >= 2400:
            break
    deep = _steps(company, lambda: company.store.page(spec, offset=offset, count=100, **shape))
    company.store._cursors.clear()  # as if the earlier pages had never been served: OFFSET skips them
    skipped = _steps(company, lambda: company.store.page(spec, offset=offset, count=100, **shape))
    assert deep <= 1.5 * first + 1000, (first, deep)
    assert skipped - first >= offset, (first, skipped, offset)  # OFFSET walks every row before the page


def _plan(sb: DynaccountSandbox, table: str, where: dict, order: str, offset: int) -> str:
    """EXPLAIN QUERY PLAN of the SQL the store runs for one page."""
    seen: list[str] = []
    with sb.store.lock:
        sb.store.conn.set_trace_callback(seen.append)
        try:
            sb.store.page(
                TABLES[table], select=("id",), where=where, order=parse_order(order), offset=offset, count=50
            )
        finally:
            sb.store.conn.set_trace_callback(None)
        sql = next(s for s in seen if s.startswith("SELECT"))
        return "\n".join(r[-1] for r in sb.store.conn.execute("EXPLAIN QUERY PLAN " + sql))


INDEXED = [
    ("debtor", {"module_id_": 10001}, "id"),
    ("debtor_invoice", {"module_id_": 10001}, "id"),
    ("debtor_invoice", {"invoice_id_": 1500}, "id"),
    ("debtor_invoice", {"is_booked": "YES"}, "invoice_id_ desc"),
    ("debtor_invoice", {"is_booked": "YES", "is_matched": "NO"}, "id"),
    ("debtor_invoice", {"is_booked": "YES", "is_matched": "YES"}, "invoice_id_"),
    ("debtor_creditnote", {"module_id_": 10001}, "id"),
    ("debtor_creditnote", {"is_booked": "YES"}, "invoice_id_ desc"),
    ("debtor_accounting_module", {"module_id_": 10001}, "id"),
    ("debtor_accounting_module", {"type": "PAYMENT", "is_matched": "NO"}, "id"),
    ("debtor_invoice_match", {"module_id_": 10001}, "id"),
    ("debtor_invoice_match", {"invoice_id_": 1500}, "id"),
    ("debtor_invoice_match", {"is_matched": "NO"}, "id"),
    ("debtor_invoice_match", {"is_creditnote": "YES"}, "creditnote_id_ desc"),
    ("contact", {"module_id_": 10001}, "id"),
    ("contact_user", {"contact_id": 1}, "id"),
    ("accounting", {"enclosure_id": 1}, "id"),
    ("accounting", {"invoice_id_": 1500}, "id"),
    ("enclosure", {"draft_id": 2}, "id"),
    ("debtor_invoice", {"id": 17}, "id"),
]


@pytest.mark.parametrize(("table", "where", "order"), INDEXED)
@pytest.mark.parametrize("offset", [0, 50])
def test_filters_and_orders_are_index_backed(
    company: DynaccountSandbox, table: str, where: dict, order: str, offset: int
) -> None:
    if offset:
        company.store.page(TABLES[table], select=("id",), where=where, order=parse_order(order), count=50)
    plan = _plan(company, table, where, order, offset)
    assert "TEMP B-TREE" not in plan, plan  # no sort
    scans = [line for line in plan.splitlines() if re.match(rf"SCAN {table}\b(?! USING)", line)]
    assert scans == [], plan  # no table scan


def test_order_by_id_alone_walks_the_primary_key(company: DynaccountSandbox) -> None:
    for order in ("id", "id desc"):
        company.store.page(TABLES["debtor_invoice"], select=("id",), order=parse_order(order), count=50)
        plan = _plan(company, "debtor_invoice", {}, order, 50)
        assert "TEMP B-TREE" not in plan and "INTEGER PRIMARY KEY" in plan, plan
