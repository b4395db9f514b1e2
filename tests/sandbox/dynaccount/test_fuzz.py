"""Fuzzing the HTTP entry points (get, put, delete, insert_bulk, action, document, report; v5 and v7) with
validly signed requests over random tables, fields, values and query strings: never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from foreign_clients import Foreign, php_urlencode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_dynaccount_kit import TODAY

from dsobridge.sandbox import InProcessTransport
from dsobridge.sandbox.dynaccount import TABLES, DynaccountSandbox
from dsobridge.sandbox.dynaccount.actions import SEED_ACTIONS
from dsobridge.sandbox.dynaccount.pdf import REPORTS
from dsobridge.sandbox.dynaccount.schema import BOOL, DATE, ENUM, INT, MONEY, TEXT, Field


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[DynaccountSandbox, Foreign]]:
    sandbox = DynaccountSandbox(today=TODAY)
    sandbox.seed(debtors=8, invoices=60, seed=4)
    transport = InProcessTransport(sandbox.app)
    c = sandbox.credentials
    with httpx2.Client(base_url="https://api.dynaccount.com", transport=transport) as http:
        yield sandbox, Foreign(http, "api.dynaccount.com", c.api_id, c.api_key, c.api_secret)
    transport.close()
    sandbox.close()


ALL_FIELDS = sorted({name for table in TABLES.values() for name in table.fields})
identifier = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True)
number = st.integers(-(10**20), 10**20).map(str)
anything = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "-1",
            "YES",
            "NO",
            "yes",
            "99999999999999999999",
            "9999999999999.99",
            "-9999999999999.99",
            "0.001",
            "1e5",
            "NaN",
            "12-31-9999",
            "01-02-14",
            "02-30-2026",
            "²",
            "٣",
            "\u0000",
            "%",
            "&",
            "=",
            "+",
            "a,b",
            "name desc,id",
            "0,10",
            "5,0",
        ]
    ),
    number,
    st.text(max_size=24),
)
# plausible values for a field, by its type and what it refers to (so that writes get past validation)
PLAUSIBLE = {
    MONEY: st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**6), max_value=10**6).map(
            str
        ),
        st.sampled_from(["", "0", "1250.5", "9999999999999.99"]),
    ),
    INT: st.one_of(
        st.integers(0, 30).map(str), st.sampled_from(["", "10001", "10002", "1001", "1002", "101", "5820"])
    ),
    DATE: st.one_of(
        st.dates().map(lambda d: d.strftime("%m-%d-%Y")), st.sampled_from(["", "2026-11-20", "01-02-14"])
    ),
    BOOL: st.sampled_from(["YES", "NO", ""]),
    TEXT: st.one_of(
        st.sampled_from(
            [
                "",
                "DKK",
                "EUR",
                "U25",
                "U0",
                "Erhverv",
                "Netto 8 dage",
                "stk",
                "Salg",
                "Kassekladde",
                "DK",
                "da",
                "Hovedlager",
                "Danske Bank",
            ]
        ),
        st.text(max_size=12),
    ),
}


def _value_for(field: Field | None) -> st.SearchStrategy[str]:
    if field is None:
        return anything
    if field.type == ENUM:
        return st.one_of(st.sampled_from(field.choices), anything)
    return st.one_of(PLAUSIBLE[field.type], PLAUSIBLE[field.type], anything)


@st.composite
def fields_of(draw: st.DrawFn, table: str | None, reserved: bool = False) -> list[tuple[str, str]]:
    known = TABLES[table].fields if table in TABLES else {}
    if known and not reserved and draw(st.booleans()):  # a whole row, as the official library sends one
        return [
            (name, draw(PLAUSIBLE[f.type] if f.type != ENUM else st.sampled_from(f.choices)))
            for name, f in known.items()
            if f.writable or draw(st.booleans())
        ]
    own = st.sampled_from(sorted(known) or ALL_FIELDS)
    names = st.one_of(own, own, own, st.sampled_from(ALL_FIELDS), identifier)
    if reserved:
        names = st.one_of(names, st.sampled_from(["select", "order", "limit"]))
    out = []
    for name in draw(st.lists(names, max_size=8)):
        out.append((name, draw(_value_for(known.get(name)))))
    return out


METHODS = ("get", "put", "delete", "insert_bulk", "action", "document", "report")
table_name = st.sampled_from([*sorted(TABLES), "nosuch", "debtor_invoices", "_meta"])
name_for = {
    "get": table_name,
    "put": table_name,
    "delete": table_name,
    "insert_bulk": table_name,
    "action": st.sampled_from([*SEED_ACTIONS, "upload_voucher", "make_coffee"]),
    "document": st.sampled_from(["invoice", "order", "quote", "creditnote"]),
    "report": st.sampled_from([*REPORTS, "profit_and_loss"]),
}
ACTION_PARAMS = sorted(
    {
        "id",
        "invoice_id",
        "draft_id",
        "amount",
        "time",
        "txt",
        "email",
        "msg",
        "is_attached",
        "status",
        "type",
        "from_currency",
        "to_currency",
        "currency_name",
    }
)


def _form(items: list[tuple[str, str]]) -> str:
    return "&".join(f"{php_urlencode(k)}={php_urlencode(v)}" for k, v in items)


def _bulk(rows: list[list[tuple[str, str]]]) -> str:
    return "&".join(
        f"{php_urlencode(k)}[{i}]={php_urlencode(v)}" for i, row in enumerate(rows) for k, v in row
    )


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, str, str, str, str, str]:
    method = draw(st.sampled_from(METHODS))
    name = draw(name_for[method])
    tail = ""
    if method in ("get", "put", "delete", "document"):
        row_ids = st.one_of(st.integers(1, 40).map(str), number.map(lambda n: n.lstrip("-")))
        tail = draw(st.one_of(st.just(""), st.just(""), row_ids) if method != "document" else row_ids)
    query = ""
    if method == "get":
        query = _form(draw(fields_of(name, reserved=True)))
    elif method == "report":
        query = _form(draw(st.lists(st.tuples(st.sampled_from(["lang"]), anything), max_size=1)))
    body = ""
    if method == "insert_bulk":
        body = _bulk(draw(st.lists(fields_of(name), min_size=1, max_size=3)))
    elif method == "put" or (method == "get" and draw(st.booleans())):
        body = _form(draw(fields_of(name, reserved=method == "get")))
    elif method in ("action", "report"):
        params = st.lists(
            st.tuples(st.sampled_from([*ACTION_PARAMS, "time_from", "time_to"]), _value_for(None))
        )
        body = _form(draw(params))
    return draw(st.sampled_from(["v5", "v7"])), method, name, tail, query, body


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=calls())
def test_no_signed_request_is_answered_with_a_5xx(
    target: tuple[DynaccountSandbox, Foreign], call: tuple
) -> None:
    _sb, foreign = target
    version, method, name, tail, query, body = call
    if version == "v5":
        if method == "document":
            response = foreign.v5(method, name, number=tail or "1", query=query, body=body)
        else:
            response = foreign.v5(method, name, row=tail, query=query, body=body)
    else:
        extra = ("pdf",) if method == "report" else ((tail,) if tail else ())
        response = foreign.v7("POST" if body else "GET", method, name, *extra, query=query, body=body)
    assert response.status_code < 500, (call, response.status_code, response.text[:300])
