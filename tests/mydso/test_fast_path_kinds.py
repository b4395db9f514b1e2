"""The compiled clients, contacts and users formatters must accept, refuse and write exactly what the
generic one does (the items one has its own test in test_fast_path.py)."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsobridge.mydso import COLUMNS, Client, Contact, CsvOptions, RowError, User, iter_csv
from dsobridge.mydso.csvfile import row_formatter


class Label(str):
    """A str subclass: written as its own text, whatever __str__ says."""

    def __str__(self) -> str:
        return "not this"


codes = st.sampled_from(["C1", "C2", "C1", "C2", "C3", "", " ", None, 5, Label("C1")])
names = st.sampled_from(["Acme", "Ø A/S", 'Q"uote', "semi;colon", "two\r\nlines", "Acme", "", None, 7])
optional = st.sampled_from([None, None, None, "", "x", "Æble", 'a"b', 3, Label("L")])
flags = st.sampled_from([None, None, True, False, 1, 0, 2, "1", "ja"])
good_amounts = st.decimals(
    allow_nan=False, allow_infinity=False, places=2, min_value=-(10**7), max_value=10**7
)
amounts = st.one_of(
    st.none(),
    good_amounts,
    st.sampled_from(
        [Decimal("NaN"), Decimal("-0.00"), Decimal("5"), Decimal("1E+3"), 5, 1.5, "1 000,00", ""]
    ),
)
numbers = st.sampled_from([None, None, 30, 0, -1, "30", "", True, Decimal("14"), Decimal("2.5"), 1.5])
emails = st.sampled_from([None, None, "", " ", "a@x.dk", "A@X.dk ", "b@x.dk", 5, Label("a@x.dk")])
first_names = st.sampled_from([None, "", " ", "Jens", "jens ", "Ole"])
last_names = st.sampled_from([None, "", " ", "Hansen", "HANSEN", "Berg", 9])

clients = st.builds(
    Client,
    client_code=codes,
    client_business_name=names,
    client_trading_name=optional,
    client_address_city=optional,
    client_email=emails,
    client_blocked=flags,
    client_credit_limit=amounts,
    client_payment_term=numbers,
    client_order_backlog=amounts,
    client_guarantee_score=numbers,
    client_field_perso1=optional,
)
contacts = st.builds(
    Contact,
    client_code=codes,
    contact_lastname=last_names,
    contact_firstname=first_names,
    contact_role=optional,
    contact_email=emails,
    contact_phone=optional,
    contact_collection=flags,
)
users = st.builds(
    User,
    user_email=emails,
    user_firstname=first_names,
    user_lastname=last_names,
    user_role=st.sampled_from([None, "admin", "user", 4]),
    client_code=st.sampled_from([None, "C1", "C2", "", 5]),
)
ROWS = {"clients": clients, "contacts": contacts, "users": users}
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
KINDS = st.sampled_from(["clients", "contacts", "users"])


def outcome(format_row, rows):
    results = []
    for n, row in enumerate(rows, 1):
        try:
            results.append(format_row(row, n))
        except RowError as exc:
            results.append((exc.row, exc.column, exc.reason))
    return results


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
    kind = draw(KINDS)
    header = draw(st.sampled_from(HEADERS[kind]))
    hows = st.sampled_from(["model", "full", "full", "sparse", "extra"])
    pairs = draw(st.lists(st.tuples(ROWS[kind], hows), min_size=1, max_size=12))
    rows = [as_row(model, kind, header, how) for model, how in pairs]
    options = CsvOptions(
        columns=header,
        decimal_style=draw(st.sampled_from(["point", "space_comma"])),
        check_duplicates=draw(st.booleans()),
        encoding=draw(st.sampled_from(["UTF-8", "ISO-8859-1"])),
    )
    return kind, header, rows, options


@settings(max_examples=500, deadline=None)
@given(case=cases())
def test_compiled_formatter_equals_generic(case):
    kind, header, rows, options = case
    fast = row_formatter(kind, header, options)
    generic = row_formatter(kind, header, replace(options, neutralise_formulas=True))  # never compiled
    assert fast.__code__.co_filename == f"<dsobridge.mydso {kind} row>"
    assert generic.__code__.co_filename != fast.__code__.co_filename
    assert outcome(fast, rows) == outcome(generic, rows)


def written(kind, rows, options):
    try:
        return b"".join(iter_csv(kind, rows, options))
    except RowError as exc:
        return (exc.row, exc.column, exc.reason)


def reference(kind, rows, options):
    """csv.writer fed with the generic formatter's cells (no fast path involved), or its first RowError."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(options.columns)
    generic = row_formatter(kind, options.columns, replace(options, neutralise_formulas=True))
    try:
        for n, row in enumerate(rows, 1):
            writer.writerow(generic(row, n))
    except RowError as exc:
        return (exc.row, exc.column, exc.reason)
    return out.getvalue().encode(options.encoding)


@settings(max_examples=300, deadline=None)
@given(case=cases())
def test_written_bytes_equal_csv_writer_on_generic_cells(case):
    kind, _header, rows, options = case
    assert written(kind, rows, options) == reference(kind, rows, options)


def test_sync_shaped_rows_are_written_by_the_compiled_path():
    """Dict rows with explicit columns, as the sync engine renders clients: the exact bytes."""
    columns = ("client_code", "client_business_name", "client_blocked", "client_credit_limit", "client_email")
    rows = [
        {"client_code": "D1", "client_business_name": "Ærø A/S", "client_blocked": False,
         "client_credit_limit": Decimal("6580.10"), "client_email": None},
        {"client_code": "D2", "client_business_name": 'Say "hi"', "client_blocked": True,
         "client_credit_limit": None, "client_email": "a@b.dk"},
    ]  # fmt: skip
    options = CsvOptions(columns=columns, decimal_style="space_comma")
    assert row_formatter("clients", columns, options).__code__.co_filename == "<dsobridge.mydso clients row>"
    assert (
        b"".join(iter_csv("clients", rows, options))
        == (
            '"client_code";"client_business_name";"client_blocked";"client_credit_limit";"client_email"\r\n'
            '"D1";"Ærø A/S";"0";"6 580,10";""\r\n'
            '"D2";"Say ""hi""";"1";"";"a@b.dk"\r\n'
        ).encode()
    )


@pytest.mark.parametrize("mode", ["writer", "formatter"])
def test_duplicate_found_after_the_key_table_grew(mode):
    """The compiled code keeps the table as a global: it must follow the table when it is replaced."""
    count = 20_000  # the table starts with 4,096 slots: it doubles three times on the way
    rows = ({"client_code": f"C{i}", "client_business_name": "x"} for i in range(count))
    late = [{"client_code": "C17", "client_business_name": "again"}]
    options = CsvOptions(columns=("client_code", "client_business_name"))
    with pytest.raises(RowError) as caught:
        if mode == "writer":
            for _chunk in iter_csv("clients", [*rows, *late], options):
                pass
        else:
            format_row = row_formatter("clients", options.columns, options)
            for n, row in enumerate([*rows, *late], 1):
                format_row(row, n)
    assert (caught.value.row, caught.value.column) == (count + 1, "client_code")
    assert caught.value.reason == "duplicate key (client_code) within the file"


def test_contact_and_user_keys_match_the_generic_rules():
    """Contacts: same client and e-mail, whatever its case and spaces; users: name when no e-mail."""
    contacts_rows = [
        Contact(client_code="C1", contact_lastname="Hansen", contact_email="J@X.dk"),
        Contact(client_code="C2", contact_lastname="Hansen", contact_email="j@x.dk"),
        Contact(client_code="C1", contact_lastname="Berg", contact_email=" j@x.DK "),
    ]
    with pytest.raises(RowError) as caught:
        b"".join(iter_csv("contacts", contacts_rows))
    assert (caught.value.row, caught.value.column) == (3, "contact_email")
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
        b"".join(iter_csv("users", [User(user_role="admin", client_code="C1")]))
    assert (caught.value.row, caught.value.column) == (1, "user_email")
