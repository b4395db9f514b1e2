"""The report's one pass over Dynaccount (``dsobridge.sync.measures``) gives today's figures.

- ``fold_for`` keeps what a measure as of one date needs: ``aging`` and ``dso`` are equal on the folded and on
  the whole list, for any items and any date (property test);
- the split reads (``is_matched=NO`` then ``YES``) return exactly the rows of the one filter they replace;
- on a seeded company, the streamed, folded report equals the computation it replaced (one filter per table,
  whole rows, every item in memory) at several dates, for the account and for one client; and its totals
  equal independent sums over the raw rows (Σ debtor balances, Σ invoices − credit notes of the window);
- the items are streamed: the first is yielded before the payment postings are asked for;
- progress is reported per read, with the rows read.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsobridge.dynaccount import DynaccountClient
from dsobridge.receivables import Event, Item, add_months, aging, dso, month_start
from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox
from dsobridge.sync.config import MappingConfig
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.measure_tables import measures_json
from dsobridge.sync.measures import (
    DOCUMENT_READS,
    MATCH_STATES,
    allocations,
    document_item,
    fold_for,
    iter_receivable_items,
    measure_input,
)

TODAY = date(2026, 11, 20)
CURRENCIES = ("DKK", "EUR", "JPY")

# --- fold_for: a property over arbitrary items -----------------------------------------------------------

_days = st.integers(min_value=0, max_value=700)
_start = date(2025, 1, 1)


@st.composite
def _item(draw: Any, key: int) -> Item:
    issue = _start + timedelta(days=draw(_days))
    amount = Decimal(draw(st.integers(min_value=-500_000, max_value=2_000_000))) / 100
    events = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        when = issue + timedelta(days=draw(st.integers(min_value=0, max_value=200)))
        kind = draw(st.sampled_from(["created", "updated", "cleared", "reopened"]))
        left = Decimal(draw(st.integers(min_value=-100_000, max_value=2_000_000))) / 100
        events.append(Event(when, Decimal(0) if kind == "cleared" else left, None, kind))
    paid = draw(st.none() | st.integers(min_value=0, max_value=300).map(lambda d: issue + timedelta(days=d)))
    return Item(
        key=str(key),
        client_code=draw(st.sampled_from(["A", "B"])),
        item_type=draw(st.sampled_from(["FAC", "AVO", "RGL", "ODI", "DPA"])),
        issue_date=issue,
        due_date=issue + timedelta(days=draw(st.integers(min_value=0, max_value=90))),
        currency=draw(st.sampled_from(CURRENCIES)),
        amount_initial=amount,
        payment_date=paid,
        events=tuple(events),
    )


@st.composite
def _items(draw: Any) -> list[Item]:
    return [draw(_item(k)) for k in range(draw(st.integers(min_value=0, max_value=30)))]


@settings(max_examples=150, deadline=None)
@given(items=_items(), offset=_days)
def test_folded_items_give_the_same_aging_and_dso_as_all_items(items, offset):
    as_of = _start + timedelta(days=offset)
    folded = fold_for(items, as_of)
    mine = [i for i in items if i.client_code == "A"]
    folded_a = fold_for(mine, as_of)
    for currency in CURRENCIES:
        assert aging(folded, as_of, currency) == aging(items, as_of, currency)
        assert dso(folded, as_of, currency) == dso(items, as_of, currency)
        assert dso(folded_a, as_of, currency) == dso(items, as_of, currency, client_code="A")
        assert aging(folded_a, as_of, currency) == aging(items, as_of, currency, client_code="A")


def test_fold_keeps_open_items_and_sums_the_rest_per_currency_type_and_day():
    day = date(2026, 3, 2)
    fac = [
        Item("1", "A", "FAC", day, day, "DKK", Decimal("100.00"), payment_date=date(2026, 3, 5)),
        Item("2", "B", "FAC", day, day, "DKK", Decimal("250.50"), payment_date=date(2026, 3, 9)),
        Item("3", "B", "FAC", day, day, "DKK", Decimal("40.00")),  # still open
        Item("4", "B", "DPA", day, day, "DKK", Decimal("999.00")),  # memo: never counted
    ]
    folded = fold_for(fac, date(2026, 3, 31))
    assert [i.key for i in folded] == ["3", "FAC-DKK-2026-03-02-folded"]
    assert folded[1].amount_initial == Decimal("350.50") and folded[1].payment_date == day


# --- a seeded company ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    sandbox = DynaccountSandbox(tmp_path_factory.mktemp("measures") / "dyn.sqlite3", today=TODAY)
    sandbox.seed(debtors=60, invoices=1500, seed=5)
    yield sandbox
    sandbox.close()


def _client(sandbox: DynaccountSandbox, base_url: str, transport: Any = None) -> DynaccountClient:
    creds = sandbox.credentials
    return DynaccountClient(
        creds.api_id, creds.api_key, creds.api_secret, base_url=base_url, transport=transport
    )


@pytest.fixture(params=["inprocess", "loopback"])
def source(request, company):
    if request.param == "inprocess":
        transport = InProcessTransport(company.app)
        with _client(company, "http://dynaccount.test", transport) as client:
            yield client
        transport.close()
    else:
        with LoopbackServer(company.app) as server, _client(company, server.url) as client:
            yield client


class Recording:
    """A row source that records the reads it was asked for."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.reads: list[tuple[str, dict[str, Any]]] = []

    def iter_rows(self, table: str, **kw: Any) -> Any:
        self.reads.append((table, dict(kw.get("where") or {})))
        return self.source.iter_rows(table, **kw)


def old_items(source: Any, mapper: Mapper) -> list[Item]:
    """The items as the report read them before this work: one filter per document table, whole rows, every
    item held in memory (the reference for the streamed, folded report)."""
    debtors = {i.number: i for i in map(mapper.debtor_info, source.iter_rows("debtor", order="id"))}
    allocated = allocations(source.iter_rows("debtor_invoice_match", order="id"))
    items = []
    for kind, table, where in DOCUMENT_READS:
        for row in source.iter_rows(table, where=where, order="id"):
            item = document_item(kind, row, debtors, allocated[kind], mapper.config.item_types)
            if item is not None:
                items.append(item)
    return items


def _dates() -> list[date]:
    """Today, a past mid-month date, month ends back over a year, and a date before any document."""
    return [
        TODAY,
        date(2026, 6, 15),
        *(month_start(add_months(TODAY, -n)) - timedelta(days=1) for n in (1, 4, 13)),
    ]


def test_split_reads_return_exactly_the_rows_of_the_one_filter(source):
    for _, table, where in DOCUMENT_READS:
        whole = sorted(r["id"] for r in source.iter_rows(table, where=where, order="id", select=["id"]))
        split = [
            r["id"]
            for state in MATCH_STATES
            for r in source.iter_rows(table, where={**where, "is_matched": state}, order="id", select=["id"])
        ]
        assert sorted(split) == whole and len(set(split)) == len(split), table
        assert whole, table


@pytest.mark.parametrize("exclude", [(), ("Koncern",)])
def test_the_streamed_report_equals_the_computation_it_replaced(source, exclude):
    mapper = Mapper(MappingConfig(exclude_groups=exclude))
    reference = old_items(source, mapper)
    clients = sorted({i.client_code for i in reference})
    assert len(clients) > 10
    for as_of in _dates():
        data = measure_input(source, as_of, mapper=mapper)
        assert len(data.items) < len(reference) or as_of < TODAY
        for what in ("aging", "dso"):
            want = measures_json(reference, what, as_of, None)
            assert measures_json(data.items, what, as_of, None, data.currencies) == want, (what, as_of)
    client = clients[3]
    one = measure_input(source, TODAY, client=client, mapper=mapper)
    assert one.documents == sum(i.client_code == client for i in reference)
    for what in ("aging", "dso"):
        want = measures_json(reference, what, TODAY, client)
        assert measures_json(one.items, what, TODAY, None, one.currencies) == want, what


def _included(source: Any) -> dict[str, str]:
    """Debtor number → currency, of the debtors a report includes (all, with the default mapping)."""
    return {str(d["module_id_"]): d["ref_currency_name"] or "DKK" for d in source.iter_rows("debtor")}


def test_totals_equal_independent_sums_over_the_raw_rows(source):
    """Receivables today = Σ debtor balances per currency; the standard DSO's sales = Σ booked invoices −
    Σ booked credit notes issued in its three months (from the raw rows, no match involved)."""
    data = measure_input(source, TODAY)
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for d in source.iter_rows("debtor"):
        balances[d["ref_currency_name"] or "DKK"] += Decimal(str(d["balance"]))
    included = _included(source)
    window_start = month_start(add_months(TODAY, -2))
    sales: dict[str, Decimal] = defaultdict(Decimal)
    for table, sign in (("debtor_invoice", 1), ("debtor_creditnote", -1)):
        for row in source.iter_rows(table, where={"is_booked": "YES"}):
            day = date.fromisoformat(str(row["time"])[:10])
            if window_start <= day <= TODAY and str(row["module_id_"]) in included:
                sales[row["currency_name"] or included[str(row["module_id_"])]] += sign * Decimal(
                    str(row["total_amount"])
                )
    assert len(data.currencies) >= 2
    for currency in data.currencies:
        assert aging(data.items, TODAY, currency).total == balances[currency], currency
        assert dso(data.items, TODAY, currency).standard_sales == sales[currency], currency


def test_items_are_streamed_and_progress_is_reported(source):
    recording = Recording(source)
    stream = iter_receivable_items(recording)
    first = next(stream)
    assert first.key.startswith("INVOICE-")
    assert "debtor_accounting_module" not in {table for table, _ in recording.reads}
    stream.close()

    seen: list[tuple[str, int]] = []
    measure_input(source, TODAY, progress=lambda label, rows: seen.append((label, rows)))
    labels = list(dict.fromkeys(label for label, _ in seen))
    assert labels == [
        "debtors",
        "matches",
        "debtor_invoice (open)",
        "debtor_invoice (settled)",
        "debtor_creditnote (open)",
        "debtor_creditnote (settled)",
        "debtor_accounting_module (open)",
        "debtor_accounting_module (settled)",
    ]
    last = {label: rows for label, rows in seen}
    assert last["debtors"] == 60
    invoices = sum(1 for _ in source.iter_rows("debtor_invoice", where={"is_booked": "YES"}))
    assert last["debtor_invoice (open)"] + last["debtor_invoice (settled)"] == invoices
    assert all(rows >= 0 for _, rows in seen)
