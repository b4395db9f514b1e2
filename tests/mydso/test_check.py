from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dsobridge.mydso import (
    Client,
    Contact,
    CsvOptions,
    RowError,
    User,
    check_file,
    iter_csv,
    parse_amount,
    parse_date,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1200", "1200"),
        ("1200.00123", "1200.00123"),
        ("1 200,00", "1200.00"),
        ("6 580,10", "6580.10"),
        ("-100", "-100"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("6\u00a0580,10", "6580.10"),
    ],
)
def test_parse_amount(text, value):
    assert parse_amount(text) == Decimal(value)
    assert str(parse_amount(text)) == value


@pytest.mark.parametrize("text", ["abc", "1,2,3", "NaN", "Infinity", ""])
def test_parse_amount_refuses(text):
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text)


@pytest.mark.parametrize(
    "text", ["2025-03-13", "2025/03/13", "13/03/2025", "20250313", "13-MAR-25", "13-Mar-25"]
)
def test_parse_date(text):
    assert parse_date(text) == date(2025, 3, 13)


def test_check_collects_every_problem_with_lines():
    data = (
        "\ufeffitem_type;item_number;client_code;item_date_issue;item_date_due;item_amount_initial_inc_tax;"
        "item_colour;\n"
        "FAC;1;C1;20250313;13/03/2025;1 200,00;red;\n"
        "FAC;2;;2025-03-13;2025-03-20;10;;\n"
        "FAC;3;C1;2025-13-45;2025-03-20;10;;\n"
        "AVO;4;C1;2025-03-13;2025-03-20;10;;\n"
        "FAC;5;C1;2025-01-01;2025-03-20;-1;;\n"
        "FAC;1;C1;2025-01-01;2025-03-20;1;;\n"
        "\n"
        "FAC;7;C1;2025-01-01;2025-03-20;1,2,3;;\n"
    ).encode()
    problems = check_file("items", data)
    assert [(p.row, p.column, p.reason) for p in problems] == [
        (0, "item_colour", "unknown column for a items file (ignored by the server)"),
        (2, "client_code", "missing required value"),
        (3, "item_date_issue", "not a date: '2025-13-45'"),
        (4, "item_amount_initial_inc_tax", "positive amount 10 on a AVO (must be negative)"),
        (5, "item_amount_initial_inc_tax", "negative amount -1 on a FAC (invoice)"),
        (6, "item_number", "duplicate key (client, type, number, year of issue) within the file"),
        (7, "item_amount_initial_inc_tax", "not an amount: '1,2,3'"),
    ]


def test_check_stops_at_a_fatal_header_and_reports_empty_and_encoding():
    dup = b'"client_code";"client_code";"client_business_name"\r\n"C1";"C1";"A"\r\n'
    assert [str(p) for p in check_file("clients", dup)] == ["header, column 'client_code': duplicate column"]
    assert [str(p) for p in check_file("clients", b'"client_code";"client_business_name"\r\n')] == [
        "header: no data row (the server answers CSV_EMPTY)"
    ]
    bad = '"client_code";"client_business_name"\r\n"C1";"Ærø"\r\n'.encode("latin-1")
    (problem,) = check_file("clients", bad)
    assert (problem.row, problem.line) == (1, 2)
    assert problem.reason == "bytes invalid in UTF-8 at offset 44"
    assert check_file("clients", bad, encoding="ISO-8859-1") == []


def test_check_accepts_what_the_writer_writes():
    rows = [
        Client(
            client_code=f"C{i}",
            client_business_name=f"Firm {i}",
            client_blocked=bool(i % 2),
            client_credit_limit=Decimal(i * 1000),
        )
        for i in range(50)
    ]
    for style in ("point", "space_comma"):
        data = b"".join(iter_csv("clients", rows, CsvOptions(decimal_style=style)))
        assert check_file("clients", data) == []


def test_duplicates_of_clients_contacts_users():
    with pytest.raises(RowError, match=r"row 2 \(line 3\), column 'client_code': duplicate key"):
        b"".join(iter_csv("clients", [Client("C1", "A"), Client("C1", "B")]))
    contacts = [
        Contact("C1", "Jackson", contact_email="MIKE@x.dk"),
        Contact("C1", "Other", contact_email="mike@x.dk"),
    ]
    with pytest.raises(RowError, match="column 'contact_email': duplicate key"):
        b"".join(iter_csv("contacts", contacts))
    named = [Contact("C1", "Jackson", "Mike"), Contact("C1", "jackson", "mike ")]
    with pytest.raises(RowError, match="column 'contact_lastname': duplicate key"):
        b"".join(iter_csv("contacts", named))
    assert (
        b"".join(iter_csv("contacts", [Contact("C1", "Jackson"), Contact("C2", "Jackson")])).count(b"\n") == 3
    )
    users = [
        User("a@x.dk", client_code="C1"),
        User("A@x.dk", client_code="C2"),
        User("a@x.dk", client_code="C1"),
    ]
    with pytest.raises(RowError, match=r"row 3 \(line 4\), column 'client_code': duplicate key"):
        b"".join(iter_csv("users", users))


def test_user_identity():
    with pytest.raises(RowError, match=r"row 1 \(line 2\), column 'user_email': missing required value"):
        b"".join(iter_csv("users", [User(client_code="C1")]))
    with pytest.raises(RowError, match="user_email, or both name columns"):
        b"".join(iter_csv("users", [{"user_firstname": "John", "client_code": "C1"}]))
    out = b"".join(iter_csv("users", [User(user_lastname="Roy", client_code="C1")]))
    assert out.endswith(b'"";"";"Roy";"";"C1"\r\n')
