"""The per-line API the sync engine spools with: ``CsvLayout.header()``, ``line(row, n)``, ``key(row)``.

A file written by ``write_csv`` must be exactly ``header()`` followed by each row's ``line``."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from dsobridge.mydso import (
    COLUMNS,
    Client,
    Contact,
    CsvLayout,
    CsvOptions,
    HeaderError,
    Item,
    RowError,
    User,
    iter_csv,
    write_csv,
)

ENCODINGS = ["UTF-8", "ISO-8859-1", "cp1252", "cp865", "ascii", "UTF-16", "UTF-32", "utf-8-sig", "UTF-16-LE",
             "iso-2022-jp", "iso2022_kr", "shift_jis", "utf-7"]  # fmt: skip
TEXT = 'Ærø "Sø"; Łódź – 5 €\r\nline 2'  # beyond Latin-1, quotes, separator, line break


def rows_of(kind: str) -> list:
    if kind == "items":
        return [
            Item("C1", "1", "FAC", date(2025, 3, 13), date(2025, 4, 13), Decimal("6580.1"),
                 item_amount_remaining_inc_tax=1200, item_currency="DKK", item_business_case=TEXT),
            Item("C1", "2", "AVO", "13/03/2025", date(2025, 4, 13), Decimal("-1234567.891"),
                 item_date_payment=date(2025, 5, 1), item_erp_type='credit "note"'),
            {"client_code": "C2", "item_number": "3", "item_type": "ODI", "item_date_issue": date(2024, 1, 1),
             "item_date_due": date(2024, 2, 1), "item_amount_initial_inc_tax": Decimal("-0.00"),
             "item_unique_key": "K3", "item_sales_manager": None},
        ]  # fmt: skip
    if kind == "clients":
        return [
            Client("C1", TEXT, client_blocked=True, client_credit_limit=Decimal(25), client_payment_term=3),
            {"client_code": "C2", "client_business_name": "Acme", "client_guarantee_score": Decimal("7.5"),
             "client_comments": "=SUM(A1)", "client_blocked": False},
        ]  # fmt: skip
    if kind == "contacts":
        return [
            Contact(
                "C1", "Jackson", contact_firstname="Mike", contact_email="m@x.dk", contact_collection=True
            ),
            Contact("C1", TEXT, contact_role="-1 200,50"),
        ]
    return [
        User("a@x.dk", client_code="C1"),
        User(user_firstname="Ole", user_lastname=TEXT, client_code="C2"),
    ]


@pytest.mark.parametrize("kind", ["items", "clients", "contacts", "users"])
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("style", ["point", "space_comma"])
def test_a_file_is_the_header_and_the_lines(kind, encoding, style):
    options = CsvOptions(encoding=encoding, decimal_style=style, transliterate=True)
    rows = rows_of(kind)
    buffer = io.BytesIO()
    assert write_csv(kind, rows, buffer, options) == len(rows)
    layout = CsvLayout(kind, options)
    lines = [layout.line(row, n) for n, row in enumerate(rows, 1)]
    assert buffer.getvalue() == layout.header() + b"".join(lines)
    assert b"".join(iter_csv(kind, rows, options)) == buffer.getvalue()
    assert all(line.decode(encoding).endswith('"\r\n') for line in lines)
    # each line stands alone: written in another order, or again, it is the same bytes
    assert [layout.line(row, n) for n, row in reversed(list(enumerate(rows, 1)))] == lines[::-1]


@pytest.mark.parametrize("encoding", ["UTF-8", "ISO-8859-1", "cp1252", "UTF-16", "UTF-32", "utf-8-sig"])
def test_header_and_lines_are_the_whole_text_encoded_at_once(encoding):
    options = CsvOptions(encoding=encoding, columns=["client_code", "client_business_name"])
    layout = CsvLayout("clients", options)
    lines = [layout.line(Client(f"C{i}", "Brødrene Ærø"), i) for i in range(1, 4)]
    text = '"client_code";"client_business_name"\r\n' + "".join(
        f'"C{i}";"Brødrene Ærø"\r\n' for i in range(1, 4)
    )
    assert layout.header() + b"".join(lines) == text.encode(encoding)
    bom = "".encode(encoding)  # what the codec writes before any text, if anything: its BOM
    assert layout.header().startswith(bom)
    if bom:  # in the header only
        assert not any(line.startswith(bom) for line in lines)


def test_no_bom_for_plain_utf8():
    layout = CsvLayout("users", CsvOptions(columns=["user_email"]))
    assert layout.header() == b'"user_email"\r\n'
    assert layout.line({"user_email": "a@x.dk"}, 1) == b'"a@x.dk"\r\n'


def test_line_refuses_a_row_exactly_as_the_writer_does(item_factory):
    bad_rows = [
        item_factory(1, client_code="  "),
        item_factory(1, item_amount_initial_inc_tax=Decimal("-1")),
        item_factory(1, item_amount_initial_inc_tax=1.5),
        item_factory(1, item_date_due=datetime_value()),
        item_factory(1, item_order_number="PO-1"),
        item_factory(1, item_business_case="Zloty ł"),
        {"client_code": "C1", "item_colour": "red"},
        Client("C1", "A"),
    ]
    columns = [*COLUMNS["items"][:6], "item_currency", "item_business_case"]
    options = CsvOptions(encoding="ISO-8859-1", columns=columns)
    layout = CsvLayout("items", options)
    for bad in bad_rows:
        with pytest.raises(RowError) as from_line:
            layout.line(bad, 7)
        rows = [item_factory(n) for n in range(1, 7)] + [bad]
        with pytest.raises(RowError) as from_writer:
            b"".join(iter_csv("items", rows, options))
        got, want = from_line.value, from_writer.value
        assert (got.row, got.column, got.reason) == (want.row, want.column, want.reason) != (None, None, None)
        assert got.row == 7


def datetime_value():
    from datetime import datetime

    return datetime(2025, 3, 20, 12, 0)


def test_key_of_each_kind():
    items = CsvLayout("items")
    invoice = Item("C1", "7", "fac", date(2025, 3, 13), date(2025, 4, 13), Decimal("1.00"))
    assert items.key(invoice) == ("C1", "FAC", "7", 2025)
    as_text = {c: getattr(invoice, c) for c in COLUMNS["items"]} | {"item_date_issue": "13/03/2025"}
    assert items.key(as_text) == items.key(invoice)  # the year is read from a date written as text too
    assert items.key(Item("C1", "7", "FAC", date(2025, 1, 1), date(2025, 1, 1), 1, item_unique_key="K")) == (
        "K",
    )
    assert CsvLayout("clients").key(Client("C1", "A")) == ("C1",)
    contacts = CsvLayout("contacts")
    assert contacts.key(Contact("C1", "Hansen", contact_email=" J@X.dk ")) == ("C1", "j@x.dk")
    assert contacts.key(Contact("C1", "Hansen ", contact_firstname="Jens")) == ("C1", "jens", "hansen")
    users = CsvLayout("users")
    assert users.key(User("A@x.dk", client_code="C1")) == ("a@x.dk", "C1")
    assert users.key(User(user_firstname=" Ole", user_lastname="BERG")) == ("ole berg", None)
    assert users.key(User(user_role="admin")) is None  # no e-mail and no name: no user, no key
    assert CsvLayout("clients", CsvOptions(check_duplicates=False)).key(Client("C1", "A")) is None


def test_duplicate_error_is_the_writers():
    layout = CsvLayout("items")
    invoice = Item("C1", "7", "FAC", date(2025, 3, 13), date(2025, 4, 13), Decimal("1.00"))
    with pytest.raises(RowError) as info:
        b"".join(iter_csv("items", [invoice, invoice]))
    mine = layout.duplicate_error(layout.key(invoice), 2)
    assert (mine.row, mine.column, mine.reason) == (info.value.row, info.value.column, info.value.reason)
    unique = layout.duplicate_error(("K1",), 3)
    assert (unique.column, unique.reason) == (
        "item_unique_key",
        "duplicate key (item_unique_key) within the file",
    )


def test_header_errors_and_defaults():
    with pytest.raises(HeaderError, match="duplicate column"):
        CsvLayout("items", CsvOptions(columns=["client_code", "client_code"]))
    layout = CsvLayout("contacts")
    assert layout.columns == COLUMNS["contacts"]
    assert layout.header().decode() == ";".join(f'"{c}"' for c in COLUMNS["contacts"]) + "\r\n"
    with pytest.raises(ValueError, match="unknown file kind"):
        CsvLayout("invoices")
