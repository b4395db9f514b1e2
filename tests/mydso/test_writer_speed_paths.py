"""The writer's fast paths (rows joined as text, quotes counted per chunk, the compact key table) must write
exactly what ``csv.writer`` writes from the formatter's cells, and refuse exactly the same rows."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsobridge.mydso import COLUMNS, Client, CsvOptions, Item, RowError, iter_csv
from dsobridge.mydso.csvfile import _KeyTable, row_formatter


def reference(kind, rows, options):
    """csv.writer fed with the cells of row_formatter: the writer's output before the fast paths existed."""
    columns = list(options.columns or COLUMNS[kind])
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(columns)
    format_row = row_formatter(kind, columns, options)
    for n, row in enumerate(rows, 1):
        writer.writerow(format_row(row, n))
    return out.getvalue().encode(options.encoding)


def outcome(produce):
    try:
        return produce()
    except RowError as exc:
        return (exc.row, exc.column, exc.reason)


class Label(str):
    """A str subclass: csv.writer writes its own text, whatever __str__ says."""

    def __str__(self) -> str:
        return "not this"


texts = st.one_of(
    st.sampled_from(["C1", "C2", "C1"]),
    st.text(alphabet='ab";\r\n\x00 =-æ', min_size=1, max_size=6),
    st.builds(Label, st.sampled_from(["L1", 'L"2'])),
)
optional_texts = st.one_of(st.none(), st.just(""), texts, st.integers(0, 99))
amounts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**6), max_value=10**6),
    st.sampled_from([None, Decimal("5"), Decimal("-0.00"), 7]),
)
dates = st.one_of(st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 12, 31)), st.none())
items = st.builds(
    Item,
    client_code=texts,
    item_number=st.one_of(texts, st.integers(1, 3)),
    item_type=st.sampled_from(["FAC", "AVO", "ODI", "fac", Label("FAC")]),
    item_date_issue=dates,
    item_date_due=dates,
    item_amount_initial_inc_tax=amounts,
    item_amount_remaining_inc_tax=amounts,
    item_currency=optional_texts,
    item_erp_type=optional_texts,
    item_unique_key=st.sampled_from([None, None, "K1"]),
)
HEADER = ["client_code", "item_number", "item_type", "item_date_issue", "item_date_due",
          "item_amount_initial_inc_tax", "item_amount_remaining_inc_tax", "item_currency", "item_erp_type",
          "item_unique_key"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(items, min_size=1, max_size=10),
    as_dicts=st.booleans(),
    style=st.sampled_from(["point", "space_comma"]),
    dups=st.booleans(),
)
def test_items_writer_equals_csv_writer_on_the_cells(rows, as_dicts, style, dups):
    if as_dicts:
        rows = [{c: getattr(r, c) for c in HEADER} for r in rows]
    options = CsvOptions(columns=HEADER, decimal_style=style, check_duplicates=dups)
    ours = outcome(lambda: b"".join(iter_csv("items", rows, options)))
    assert ours == outcome(lambda: reference("items", rows, options))


@settings(max_examples=100, deadline=None)
@given(names=st.lists(st.one_of(texts, st.none()), min_size=1, max_size=8))
def test_generic_kinds_equal_csv_writer(names):
    rows = [Client(client_code=f"C{i}", client_business_name=name) for i, name in enumerate(names)]
    options = CsvOptions()
    assert outcome(lambda: b"".join(iter_csv("clients", rows, options))) == outcome(
        lambda: reference("clients", rows, options)
    )


def item(n: int, **changes) -> Item:
    values = dict(
        client_code=f"C{n % 7}",
        item_number=str(n),
        item_type="FAC",
        item_date_issue=date(2020, 1, 1) + timedelta(days=n % 5000),
        item_date_due=date(2020, 2, 1) + timedelta(days=n),
        item_amount_initial_inc_tax=Decimal(n) / 100,
        item_currency="DKK",
    )
    return Item(**{**values, **changes})


def test_a_quote_in_a_later_chunk_is_doubled_and_the_rest_untouched():
    rows = [item(n) for n in range(5000)]
    rows[4097] = item(4097, item_erp_type='Invoice "A"')
    options = CsvOptions(columns=[*HEADER[:8], "item_erp_type"])
    out = b"".join(iter_csv("items", rows, options))
    assert out == reference("items", rows, options)
    line = out.split(b"\r\n")[4098]
    assert line.endswith(b'"DKK";"Invoice ""A"""')
    assert out.count(b'"') == 9 * 2 * 5001 + 4


def test_more_distinct_dates_than_the_date_cache_holds():
    rows = [item(n) for n in range(9000)]  # 9,000 distinct due dates: the cache is cleared twice
    options = CsvOptions(columns=HEADER[:8])
    out = b"".join(iter_csv("items", rows, options))
    assert out == reference("items", rows, options)
    assert out.split(b"\r\n")[9000].split(b";")[4] == b'"2044-09-21"'


@pytest.mark.parametrize("source", [list, iter], ids=["list (table sized once)", "generator (table grows)"])
def test_duplicate_found_after_the_key_table_has_grown(source):
    rows = [item(n) for n in range(30_000)] + [item(17, item_amount_initial_inc_tax=Decimal("1.00"))]
    with pytest.raises(RowError) as info:
        for _ in iter_csv("items", source(rows)):
            pass
    assert (info.value.row, info.value.column) == (30_001, "item_number")
    assert info.value.reason == "duplicate key (client, type, number, year of issue) within the file"


def test_duplicate_refused_when_type_case_differs_across_chunks():
    rows = [item(n) for n in range(3000)] + [item(5, item_type="fac")]
    with pytest.raises(RowError) as info:
        b"".join(iter_csv("items", rows))
    assert (info.value.row, info.value.column) == (3001, "item_number")


def test_key_table_is_exact_and_grows():
    table = _KeyTable()
    keys = [0, 1, -1, 2**64 - 1, 2**63, -(2**63), 4096, 8192] + [
        n * 0x9E3779B97F4A7C15 for n in range(10_000)
    ]
    added = [table.add_new(k) for k in keys]
    # 0 is stored as 1, and -1 and 2**64 - 1 are the same 64-bit value
    assert added[:8] == [True, False, True, False, True, False, True, True]
    assert all(k in table for k in keys)
    assert 12345 not in table and 2 not in table
    assert len(table.table) == 1 << 14  # 10,006 keys: doubled from 4,096 slots while staying <= 2/3 full
    assert table.add_new(4096) is False


def test_key_table_reserve_grows_before_a_chunk_could_overfill_it():
    table = _KeyTable()
    assert (len(table.table), table.free) == (4096, 2730)
    table.reserve(2048)
    assert (len(table.table), table.free) == (4096, 682)
    table.reserve(2048)
    assert (len(table.table), table.free) == (8192, 5461 - 4096)


def test_key_table_memory_per_key_beside_a_set():
    keys = [n * 0x9E3779B97F4A7C15 for n in range(1, 100_001)]

    def peak(build):
        tracemalloc.start()
        try:
            kept = build()
            return tracemalloc.get_traced_memory()[1], kept
        finally:
            tracemalloc.stop()

    def fill_table():
        table = _KeyTable()
        for k in keys:
            table.add_new(hash(k))
        return table

    def fill_set():
        return {hash(k) for k in keys}

    table_peak, table = peak(fill_table)
    set_peak, kept = peak(fill_set)
    # 100,000 keys: 2**18 slots of 8 bytes, and the 2**17 it grew from still held while doubling
    assert len(table.table) == 1 << 18
    assert 3 * 2**20 <= table_peak < 3 * 2**20 + 50_000
    assert set_peak > 2 * table_peak
    assert len(kept) == 100_000
