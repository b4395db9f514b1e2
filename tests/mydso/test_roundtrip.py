"""What the writer produces, read back by an independent parser (stdlib csv), and golden files."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsobridge.mydso import (
    COLUMNS,
    Client,
    Contact,
    CsvOptions,
    Item,
    User,
    check_file,
    iter_csv,
    parse_amount,
)

GOLDEN = Path(__file__).parent / "golden"

ENCODINGS = ["UTF-8", "ISO-8859-1", "cp1252", "UTF-16", "cp865", "ascii"]


def read_back(data: bytes, encoding: str) -> list[list[str]]:
    text = data.decode(encoding)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def rows_with_text(text: str) -> list[Item]:
    return [
        Item(
            client_code="C0001",
            item_number="1",
            item_type="FAC",
            item_date_issue=date(2026, 1, 31),
            item_date_due=date(2026, 3, 2),
            item_amount_initial_inc_tax=Decimal("1234567.891"),
            item_amount_remaining_inc_tax=Decimal("100"),
            item_currency="DKK",
            item_business_case=text,
        ),
        Item(
            client_code="C0002",
            item_number="2",
            item_type="AVO",
            item_date_issue=date(2025, 12, 1),
            item_date_due=date(2025, 12, 1),
            item_amount_initial_inc_tax=Decimal("-0.5"),
            item_date_payment=date(2026, 1, 5),
            item_sales_manager='He said "hi"; then\r\nleft',
        ),
    ]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(
    ("style", "amounts"),
    [("point", ("1234567.891", "100.00", "-0.50")), ("space_comma", ("1 234 567,891", "100,00", "-0,50"))],
)
def test_round_trip_every_encoding_and_number_format(encoding, style, amounts):
    text = "Ærø Sø" if encoding not in ("ascii",) else "Aero So"
    data = b"".join(
        iter_csv("items", rows_with_text(text), CsvOptions(encoding=encoding, decimal_style=style))
    )
    header, first, second = read_back(data, encoding)
    assert header == list(COLUMNS["items"])
    got = dict(zip(header, first, strict=True))
    assert first[:5] == ["C0001", "1", "FAC", "2026-01-31", "2026-03-02"]  # no BOM in front of a data row
    assert second[:3] == ["C0002", "2", "AVO"]
    assert got["item_business_case"] == text
    assert got["item_amount_initial_inc_tax"] == amounts[0]
    assert got["item_amount_remaining_inc_tax"] == amounts[1]
    assert got["item_date_issue"] == "2026-01-31"
    assert got["item_date_payment"] == ""
    got2 = dict(zip(header, second, strict=True))
    assert got2["item_amount_initial_inc_tax"] == amounts[2]
    assert got2["item_sales_manager"] == 'He said "hi"; then\r\nleft'
    assert got2["item_date_payment"] == "2026-01-05"
    assert parse_amount(got["item_amount_initial_inc_tax"]) == Decimal("1234567.891")
    # every field quoted, CRLF line ends
    assert data.decode(encoding).startswith('"client_code";"item_number";')
    assert data.decode(encoding).endswith('"\r\n')


safe_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)


@settings(max_examples=150, deadline=None)
@given(
    name=safe_text.filter(lambda s: s.strip() != ""),
    comment=safe_text,
    limit=st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**9), max_value=10**9),
    style=st.sampled_from(["point", "space_comma"]),
)
def test_round_trip_property(name, comment, limit, style):
    row = Client(
        client_code="C1", client_business_name=name, client_comments=comment, client_credit_limit=limit
    )
    cols = ["client_code", "client_business_name", "client_comments", "client_credit_limit"]
    data = b"".join(iter_csv("clients", [row], CsvOptions(columns=cols, decimal_style=style)))
    header, line = read_back(data, "utf-8")
    assert header == cols
    assert line[:3] == ["C1", name, comment]
    assert parse_amount(line[3]) == limit
    assert line[3].rsplit("," if style == "space_comma" else ".", 1)[1].__len__() == 2


@pytest.mark.parametrize(
    ("golden", "kind", "rows", "options"),
    [
        (
            "seed_items.csv",
            "items",
            [
                Item(
                    item_type="FAC",
                    item_number="00000123",
                    client_code="C0001",
                    item_date_issue=date(2025, 3, 13),
                    item_date_due=date(2025, 3, 20),
                    item_amount_initial_inc_tax=Decimal("6580.10"),
                    item_currency="USD",
                )
            ],
            CsvOptions(
                decimal_style="space_comma",
                columns=[
                    "item_type",
                    "item_number",
                    "client_code",
                    "item_date_issue",
                    "item_date_due",
                    "item_amount_initial_inc_tax",
                    "item_currency",
                ],
            ),
        ),
        (
            "seed_clients.csv",
            "clients",
            [
                Client(
                    client_business_name="My company",
                    client_code="C0001",
                    client_id="FR12345678",
                    client_address_country="France",
                )
            ],
            CsvOptions(
                columns=["client_business_name", "client_code", "client_id", "client_address_country"]
            ),
        ),
        (
            "seed_contacts.csv",
            "contacts",
            [
                Contact(
                    contact_firstname="Mike",
                    contact_lastname="Jackson",
                    contact_role="other",
                    client_code="C0001",
                )
            ],
            CsvOptions(columns=["contact_firstname", "contact_lastname", "contact_role", "client_code"]),
        ),
        (
            "seed_users.csv",
            "users",
            [{"user_firstname": "John", "user_lastname": "Roy", "client_code": "C0001"}],
            None,
        ),
        (
            "danish_clients.iso-8859-1.csv",
            "clients",
            [
                Client(
                    client_code="C0001",
                    client_business_name="Brødrene Ærø A/S",
                    client_id="DK12345678",
                    client_address_street="Åboulevarden 7",
                    client_address_zip="8000",
                    client_address_city="Aarhus C",
                    client_address_country="DK",
                    client_blocked=False,
                    client_credit_limit=Decimal("250000"),
                )
            ],
            CsvOptions(
                encoding="ISO-8859-1",
                decimal_style="space_comma",
                columns=[
                    "client_code",
                    "client_business_name",
                    "client_id",
                    "client_address_street",
                    "client_address_zip",
                    "client_address_city",
                    "client_address_country",
                    "client_blocked",
                    "client_credit_limit",
                ],
            ),
        ),
    ],
)
def test_golden_files(golden, kind, rows, options):
    expected = (GOLDEN / golden).read_bytes()
    assert b"".join(iter_csv(kind, rows, options)) == expected
    encoding = options.encoding if options else "UTF-8"
    assert check_file(kind, expected, encoding=encoding) == []


def test_users_from_typed_rows_match_the_seed_golden():
    rows = [User(user_firstname="John", user_lastname="Roy", client_code="C0001")]
    options = CsvOptions(columns=["user_firstname", "user_lastname", "client_code"])
    assert b"".join(iter_csv("users", rows, options)) == (GOLDEN / "seed_users.csv").read_bytes()
