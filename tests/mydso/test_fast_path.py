"""The compiled items formatter must accept, refuse and write exactly what the generic one does."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dsobridge.mydso import COLUMNS, CsvOptions, Item, RowError
from dsobridge.mydso.csvfile import row_formatter

# mostly valid values, so that rows reach every check; the odd ones in a few percent of cells
good_amounts = st.decimals(
    allow_nan=False, allow_infinity=False, places=2, min_value=-(10**7), max_value=10**7
)
amounts = st.one_of(
    good_amounts,
    good_amounts,
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**4), max_value=10**4),
    st.sampled_from(
        [None, Decimal("NaN"), Decimal("-0.00"), Decimal("0"), Decimal("1E+3"), 5, -5, 1.5, "12,50"]
    ),
)
good_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 12, 31))
dates = st.one_of(
    good_dates, good_dates, good_dates, st.sampled_from([None, datetime(2026, 1, 1, 12), "2026-01-01"])
)
items = st.builds(
    Item,
    client_code=st.sampled_from(["C1", "C2", "C1", "C2", "", None]),
    item_number=st.sampled_from(["1", "2", "3", "4", ""]),
    item_type=st.sampled_from(["FAC", "AVO", "RGL", "ODI", "FAC", "AVO", "fac", None]),
    item_date_issue=dates,
    item_date_due=dates,
    item_amount_initial_inc_tax=amounts,
    item_amount_remaining_inc_tax=st.one_of(st.none(), amounts),
    item_currency=st.sampled_from(["DKK", None]),
    item_unique_key=st.sampled_from([None, None, None, "K1", "K2"]),
    item_order_number=st.sampled_from([None] * 9 + ["PO-1"]),
)
HEADERS = [
    list(COLUMNS["items"]),
    ["client_code", "item_number", "item_type", "item_date_issue", "item_date_due",
     "item_amount_initial_inc_tax", "item_amount_remaining_inc_tax", "item_currency", "item_unique_key"],
    ["item_type", "item_amount_initial_inc_tax", "item_number", "client_code", "item_date_due",
     "item_date_issue"],
]  # fmt: skip


def outcome(format_row, rows):
    results = []
    for n, row in enumerate(rows, 1):
        try:
            results.append(format_row(row, n))
        except RowError as exc:
            results.append((exc.row, exc.column, exc.reason))
    return results


def as_mapping(item: Item, header: list[str], how: str) -> dict:
    """A dict row: every header column, only the set ones, or with a column from outside the header."""
    values = {c: getattr(item, c) for c in COLUMNS["items"]}
    if how == "full":
        return {c: values[c] for c in header}
    if how == "sparse":
        return {c: values[c] for c in header if values[c] is not None}
    return {**{c: values[c] for c in header}, "item_colour": "red"}


@settings(max_examples=400, deadline=None)
@given(
    rows=st.lists(
        st.tuples(items, st.sampled_from(["item", "item", "full", "sparse", "extra"])),
        min_size=1,
        max_size=12,
    ),
    header=st.sampled_from(HEADERS),
    style=st.sampled_from(["point", "space_comma"]),
    signs=st.booleans(),
    dups=st.booleans(),
)
def test_fast_path_equals_generic(rows, header, style, signs, dups):
    rows = [item if how == "item" else as_mapping(item, header, how) for item, how in rows]
    options = CsvOptions(columns=header, decimal_style=style, check_signs=signs, check_duplicates=dups)
    fast = row_formatter("items", header, options)
    generic = row_formatter("items", header, replace(options, neutralise_formulas=True))  # never compiled
    assert fast.__code__.co_filename == "<dsobridge.mydso items row>"
    assert outcome(fast, rows) == outcome(generic, rows)
