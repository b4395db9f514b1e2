"""The writer's quoting, joining and encoding against an independent reference (``csv.writer`` with QUOTE_ALL,
``;`` and CRLF, fed the cells the layout formats), and its duplicate-key refusals on every kind."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsobridge.mydso import COLUMNS, Client, Contact, CsvOptions, Item, RowError, User, iter_csv
from dsobridge.mydso.csvlayout import CsvLayout


class Label(str):
    """A str subclass: written as its own text, whatever __str__ says."""

    def __str__(self) -> str:
        return "not this"


def reference(kind, rows, options):
    """csv.writer fed with ``CsvLayout.cells`` of each row (the duplicate check applied by hand), or the
    first RowError."""
    layout = CsvLayout(kind, options)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(layout.columns)
    seen = set()
    try:
        for n, row in enumerate(rows, 1):
            cells = layout.cells(row, n)
            try:
                "".join(cells).encode(options.encoding)
            except UnicodeEncodeError:
                return "unencodable"
            writer.writerow(cells)
            key = layout.key(row)
            if key is not None:
                if key in seen:
                    raise layout.duplicate_error(key, n)
                seen.add(key)
    except RowError as exc:
        return (exc.row, exc.column, exc.reason)
    return out.getvalue().encode(options.encoding)


def written(kind, rows, options):
    try:
        return b"".join(iter_csv(kind, rows, options))
    except RowError as exc:
        if "cannot be encoded" in exc.reason:
            return "unencodable"
        return (exc.row, exc.column, exc.reason)


# --- items --------------------------------------------------------------------------------------------------

texts = st.one_of(
    st.sampled_from(["C1", "C2", "C1"]),
    st.text(alphabet='ab";\r\n\x00 =-æł', min_size=1, max_size=6),
    st.builds(Label, st.sampled_from(["L1", 'L"2'])),
)
optional_texts = st.one_of(st.none(), st.just(""), texts, st.integers(0, 99))
amounts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**6), max_value=10**6),
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**4), max_value=10**4),
    st.sampled_from(
        [None, Decimal("5"), Decimal("-0.00"), Decimal("NaN"), Decimal("1E+3"), 7, -5, 1.5, "12,50"]
    ),
)
dates = st.one_of(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 12, 31)),
    st.sampled_from([None, "2026-01-01", "13/03/2025"]),
)
items = st.builds(
    Item,
    client_code=st.one_of(texts, st.sampled_from(["", " ", None])),
    item_number=st.one_of(texts, st.integers(1, 3)),
    item_type=st.sampled_from(["FAC", "AVO", "RGL", "ODI", "fac", Label("FAC"), None]),
    item_date_issue=dates,
    item_date_due=dates,
    item_amount_initial_inc_tax=amounts,
    item_amount_remaining_inc_tax=amounts,
    item_currency=optional_texts,
    item_erp_type=optional_texts,
    item_unique_key=st.sampled_from([None, None, "K1"]),
    item_order_number=st.sampled_from([None] * 9 + ["PO-1"]),
)
HEADER = ["client_code", "item_number", "item_type", "item_date_issue", "item_date_due",
          "item_amount_initial_inc_tax", "item_amount_remaining_inc_tax", "item_currency", "item_erp_type",
          "item_unique_key"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(items, min_size=1, max_size=10),
    how=st.sampled_from(["model", "dict", "sparse dict"]),
    style=st.sampled_from(["point", "space_comma"]),
    dups=st.booleans(),
    signs=st.booleans(),
    encoding=st.sampled_from(["UTF-8", "ISO-8859-1", "UTF-16"]),
)
def test_items_equal_csv_writer_on_the_cells(rows, how, style, dups, signs, encoding):
    if how != "model":
        rows = [
            {c: getattr(r, c) for c in HEADER if how == "dict" or getattr(r, c) is not None} for r in rows
        ]
    options = CsvOptions(
        columns=HEADER, decimal_style=style, check_duplicates=dups, check_signs=signs, encoding=encoding
    )
    assert written("items", rows, options) == reference("items", rows, options)


# --- clients, contacts, users -------------------------------------------------------------------------------

codes = st.sampled_from(["C1", "C2", "C1", "C2", "C3", "", " ", None, 5, Label("C1")])
names = st.sampled_from(["Acme", "Ø A/S", 'Q"uote', "semi;colon", "two\r\nlines", "Acme", "", None, 7])
optional = st.sampled_from([None, None, None, "", "x", "Æble", 'a"b', 3, Label("L"), "=1+2", "-5"])
flags = st.sampled_from([None, None, True, False, 1, 0, 2, "1", "ja"])
kind_amounts = st.one_of(
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**7), max_value=10**7),
    st.sampled_from(
        [Decimal("NaN"), Decimal("-0.00"), Decimal("5"), Decimal("1E+3"), 5, 1.5, "1 000,00", ""]
    ),
)
numbers = st.sampled_from([None, None, 30, 0, -1, "30", "", True, Decimal("14"), Decimal("2.5"), 1.5])
emails = st.sampled_from([None, None, "", " ", "a@x.dk", "A@X.dk ", "b@x.dk", 5, Label("a@x.dk")])
first_names = st.sampled_from([None, "", " ", "Jens", "jens ", "Ole"])
last_names = st.sampled_from([None, "", " ", "Hansen", "HANSEN", "Berg", 9])

MODELS = {
    "clients": st.builds(
        Client,
        client_code=codes,
        client_business_name=names,
        client_trading_name=optional,
        client_address_city=optional,
        client_email=emails,
        client_blocked=flags,
        client_credit_limit=kind_amounts,
        client_payment_term=numbers,
        client_order_backlog=kind_amounts,
        client_guarantee_score=numbers,
        client_field_perso1=optional,
    ),
    "contacts": st.builds(
        Contact,
        client_code=codes,
        contact_lastname=last_names,
        contact_firstname=first_names,
        contact_role=optional,
        contact_email=emails,
        contact_phone=optional,
        contact_collection=flags,
    ),
    "users": st.builds(
        User,
        user_email=emails,
        user_firstname=first_names,
        user_lastname=last_names,
        user_role=st.sampled_from([None, "admin", "user", 4]),
        client_code=st.sampled_from([None, "C1", "C2", "", 5]),
    ),
}
HEADERS = {
    "clients": [
        list(COLUMNS["clients"]),
        [
            "client_business_name",
            "client_credit_limit",
            "client_code",
            "client_blocked",
            "client_payment_term",
        ],
    ],
    "contacts": [
        list(COLUMNS["contacts"]),
        ["contact_lastname", "client_code", "contact_email", "contact_collection"],
        ["client_code", "contact_firstname", "contact_lastname"],
    ],
    "users": [
        list(COLUMNS["users"]),
        ["user_email", "client_code"],
        ["user_lastname", "user_firstname", "client_code", "user_role"],
    ],
}


def as_row(model, kind: str, header: list[str], how: str):
    values = {c: getattr(model, c) for c in COLUMNS[kind]}
    if how == "model":
        return model
    if how == "full":
        return {c: values[c] for c in header}
    if how == "sparse":
        return {c: values[c] for c in header if values[c] is not None}
    return {**{c: values[c] for c in header}, "colour": "red"}


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(["clients", "contacts", "users"]))
    header = draw(st.sampled_from(HEADERS[kind]))
    hows = st.sampled_from(["model", "full", "full", "sparse", "extra"])
    pairs = draw(st.lists(st.tuples(MODELS[kind], hows), min_size=1, max_size=12))
    rows = [as_row(model, kind, header, how) for model, how in pairs]
    options = CsvOptions(
        columns=header,
        decimal_style=draw(st.sampled_from(["point", "space_comma"])),
        check_duplicates=draw(st.booleans()),
        neutralise_formulas=draw(st.booleans()),
        encoding=draw(st.sampled_from(["UTF-8", "ISO-8859-1"])),
    )
    return kind, rows, options


@settings(max_examples=300, deadline=None)
@given(case=cases())
def test_other_kinds_equal_csv_writer_on_the_cells(case):
    kind, rows, options = case
    assert written(kind, rows, options) == reference(kind, rows, options)


# --- chunks, dates, keys ------------------------------------------------------------------------------------


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


def test_sync_shaped_client_rows_exact_bytes():
    """Dict rows with explicit columns, as the sync engine renders clients."""
    columns = ("client_code", "client_business_name", "client_blocked", "client_credit_limit", "client_email")
    rows = [
        {"client_code": "D1", "client_business_name": "Ærø A/S", "client_blocked": False,
         "client_credit_limit": Decimal("6580.10"), "client_email": None},
        {"client_code": "D2", "client_business_name": 'Say "hi"', "client_blocked": True,
         "client_credit_limit": None, "client_email": "a@b.dk"},
    ]  # fmt: skip
    options = CsvOptions(columns=columns, decimal_style="space_comma")
    assert (
        b"".join(iter_csv("clients", rows, options))
        == (
            '"client_code";"client_business_name";"client_blocked";"client_credit_limit";"client_email"\r\n'
            '"D1";"Ærø A/S";"0";"6 580,10";""\r\n'
            '"D2";"Say ""hi""";"1";"";"a@b.dk"\r\n'
        ).encode()
    )


def test_client_duplicate_found_after_the_key_table_grew():
    count = 20_000  # the table starts with 4,096 slots: it doubles three times on the way
    rows = [{"client_code": f"C{i}", "client_business_name": "x"} for i in range(count)]
    rows.append({"client_code": "C17", "client_business_name": "again"})
    options = CsvOptions(columns=("client_code", "client_business_name"))
    with pytest.raises(RowError) as caught:
        for _chunk in iter_csv("clients", iter(rows), options):
            pass
    assert (caught.value.row, caught.value.column) == (count + 1, "client_code")
    assert caught.value.reason == "duplicate key (client_code) within the file"


def test_contact_and_user_keys():
    """Contacts: same client and e-mail, whatever its case and spaces; users: name when no e-mail."""
    contacts_rows = [
        Contact(client_code="C1", contact_lastname="Hansen", contact_email="J@X.dk"),
        Contact(client_code="C2", contact_lastname="Hansen", contact_email="j@x.dk"),
        Contact(client_code="C1", contact_lastname="Berg", contact_email=" j@x.DK "),
    ]
    with pytest.raises(RowError) as caught:
        b"".join(iter_csv("contacts", contacts_rows))
    assert (caught.value.row, caught.value.column) == (3, "contact_email")
    named = [
        Contact("C1", "Hansen", contact_firstname="Jens"),
        Contact("C1", " HANSEN", contact_firstname="jens"),
    ]
    with pytest.raises(RowError) as caught:
        b"".join(iter_csv("contacts", named))
    assert (caught.value.row, caught.value.column, caught.value.reason) == (
        2, "contact_lastname", "duplicate key (client, first and last name) within the file"
    )  # fmt: skip
    user_rows = [
        User(user_firstname="Ole", user_lastname="Berg", client_code="C1"),
        User(user_firstname=" ole", user_lastname="BERG ", client_code="C2"),
        User(user_firstname="OLE", user_lastname="berg", client_code="C1"),
    ]
    with pytest.raises(RowError) as caught:
        b"".join(iter_csv("users", user_rows))
    assert (caught.value.row, caught.value.column, caught.value.reason) == (
        3, "client_code", "duplicate key (user, client_code) within the file"
    )  # fmt: skip
    with pytest.raises(RowError) as caught:
        b"".join(iter_csv("users", [User("a@x.dk"), User("A@x.dk")]))
    assert (caught.value.row, caught.value.column) == (2, "user_email")
    with pytest.raises(RowError) as caught:
        b"".join(iter_csv("users", [User(user_role="admin", client_code="C1")]))
    assert (caught.value.row, caught.value.column) == (1, "user_email")
