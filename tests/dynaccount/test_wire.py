"""Pure wire helpers: values, bulk transposition, paths, Retry-After."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from email.utils import format_datetime
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsobridge.dynaccount.wire import (
    build_path,
    encode_bulk,
    encode_fields,
    encode_get_query,
    parse_retry_after,
    wire_value,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "YES"),
        (False, "NO"),
        (None, ""),
        (Decimal("1E+2"), "100"),
        (Decimal("-0.50"), "-0.50"),
        (dt.date(2024, 12, 31), "12-31-2024"),
        (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "1704067200"),
        (17, "17"),
        ("æ ~", "æ ~"),
    ],
)
def test_wire_value(value, text) -> None:
    assert wire_value(value) == text


def test_wire_value_refuses_float_and_lists() -> None:
    with pytest.raises(TypeError):
        wire_value(0.1)
    with pytest.raises(TypeError):
        wire_value([1])


def test_encode_bulk_sparse_columns() -> None:
    rows = [{"a": 1}, {"b": "x y"}, {"a": 3, "b": "~"}]
    assert encode_bulk(rows) == "a[0]=1&a[2]=3&b[1]=x+y&b[2]=%7E"
    with pytest.raises(ValueError, match="row 1 has no fields"):
        encode_bulk([{"a": 1}, {}])


def test_get_query_forms() -> None:
    assert encode_get_query() == ""
    assert encode_get_query(order="time desc", limit="0, 10") == "order=time+desc&limit=0%2C10"
    assert encode_get_query(select=["a", "b"], where={"x": "1&2"}) == "select=a,b&x=1%262"
    assert encode_get_query(limit=(0, 5)) == "limit=0%2C5"


def test_build_path() -> None:
    assert build_path("", "v5", "1", "K", "get", "debtor", "") == "/v5/1/K/get/debtor/json/"
    assert build_path("", "v5", "1", "K", "get", "debtor", "7") == "/v5/1/K/get/debtor/json/7/"
    assert (
        build_path("", "v5", "1", "K", "document", "invoice", "1033") == "/v5/1/K/document/invoice/1033/json/"
    )
    assert build_path("/p", "v7", "1", "K", "put", "debtor", 0) == "/p/v7/1/K/put/debtor/"
    assert (
        build_path("", "v7", "1", "K", "report", "ledger_cards", "pdf") == "/v7/1/K/report/ledger_cards/pdf/"
    )


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    assert 100 < parse_retry_after(format_datetime(later, usegmt=True)) <= 120


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True).filter(
            lambda k: k not in ("select", "order", "limit")
        ),
        st.text(max_size=30),
        max_size=5,
    )
)
def test_encoded_values_round_trip(fields: dict[str, str]) -> None:
    body = encode_fields(fields)
    assert parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body)) == list(fields.items())
    assert set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.%+=&")
    query = encode_get_query(where=fields)
    assert parse_qsl(query, keep_blank_values=True) == list(fields.items())
