"""Gaps found in the acceptance audit of issue 4: each test failed before its fix."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import httpx2
import pytest

from dsobridge.mydso import (
    Client,
    Contact,
    CsvOptions,
    Item,
    MyDsoClient,
    RowError,
    User,
    check_file,
    iter_csv,
)

CLIENT_COLUMNS = ["client_code", "client_business_name"]


@pytest.mark.parametrize("encoding", ["UTF-16", "UTF-32", "utf-8-sig", "UTF-16-LE", "UTF-8"])
def test_a_bom_codec_writes_its_bom_once_across_chunks(encoding):
    rows = [Client(f"C{i}", f"Firm {i}") for i in range(5000)]  # three chunks of rows after the header
    options = CsvOptions(encoding=encoding, columns=CLIENT_COLUMNS)
    chunks = list(iter_csv("clients", rows, options))
    assert len(chunks) == 4
    data = b"".join(chunks)
    text = data.decode(encoding)
    assert "\ufeff" not in text  # the decoder consumed the one leading BOM, if any; none mid-file
    parsed = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert parsed == [CLIENT_COLUMNS, *([f"C{i}", f"Firm {i}"] for i in range(5000))]
    one_shot = ('"client_code";"client_business_name"\r\n' + "".join(
        f'"C{i}";"Firm {i}"\r\n' for i in range(5000))).encode(encoding)  # fmt: skip
    assert data == one_shot


def item(n: int, **changes: object) -> Item:
    values: dict[str, object] = {
        "client_code": "C1",
        "item_number": str(n),
        "item_type": "FAC",
        "item_date_issue": date(2025, 3, 13),
        "item_date_due": date(2025, 4, 13),
        "item_amount_initial_inc_tax": Decimal("10.00"),
    }
    values.update(changes)
    return Item(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (item(2, client_code="   "), "client_code"),  # the server strips, then answers MISSING_REQUIRED
        (item(2, item_number="\t"), "item_number"),
        (item(2, item_type=" "), "item_type"),
        (item(2, item_date_due="  "), "item_date_due"),
        (item(2, item_amount_initial_inc_tax=" "), "item_amount_initial_inc_tax"),
    ],
)
def test_a_blank_required_value_is_missing(row, column):
    with pytest.raises(RowError) as info:
        b"".join(iter_csv("items", [item(1), row]))
    assert (info.value.row, info.value.column, info.value.reason) == (2, column, "missing required value")


def test_blank_required_values_in_the_other_kinds():
    cases = [
        ("clients", [Client("C1", "A"), Client("C2", "  ")], "client_business_name"),
        ("contacts", [Contact("C1", "Jackson"), Contact(" ", "Roy")], "client_code"),
        ("users", [User("a@x.dk"), User(" ", user_firstname="  ")], "user_email"),
        ("items", [{"client_code": "C1", "item_number": "1", "item_type": "FAC",
                    "item_date_issue": date(2025, 1, 1), "item_date_due": date(2025, 2, 1),
                    "item_amount_initial_inc_tax": Decimal("1.00")},
                   {"client_code": "C1", "item_number": " ", "item_type": "FAC",
                    "item_date_issue": date(2025, 1, 1), "item_date_due": date(2025, 2, 1),
                    "item_amount_initial_inc_tax": Decimal("1.00")}], "item_number"),
    ]  # fmt: skip
    for kind, rows, column in cases:
        with pytest.raises(RowError) as info:
            b"".join(iter_csv(kind, rows))
        assert (kind, info.value.row, info.value.column) == (kind, 2, column)
    # a value with blanks around it is a value (the server strips it): written as given
    out = b"".join(iter_csv("clients", [Client(" C1 ", "A")], CsvOptions(columns=CLIENT_COLUMNS)))
    assert out.endswith(b'" C1 ";"A"\r\n')


@pytest.mark.parametrize("issue", ["2025-03-13", "13/03/2025", "20250313", "2025/03/13", "13-MAR-25"])
def test_the_same_key_is_a_duplicate_whether_the_issue_date_is_a_date_or_text(issue):
    with pytest.raises(RowError) as info:
        b"".join(iter_csv("items", [item(1), item(1, item_date_issue=issue)]))
    assert (info.value.row, info.value.column) == (2, "item_number")
    # another year of issue is another key, in text too
    out = b"".join(iter_csv("items", [item(1), item(1, item_date_issue=issue.replace("25", "24", 1))]))
    assert out.count(b"\r\n") == 3


def test_a_base_url_holding_credentials_is_refused_without_echoing_them():
    with pytest.raises(ValueError) as info:
        MyDsoClient("u", "p", base_url="https://acme:s3cret@account.mydsomanager.com/api/")
    assert "s3cret" not in str(info.value) and "acme" not in str(info.value)
    client = MyDsoClient("u", "p", base_url="http://127.0.0.1:9/api/", transport=httpx2.MockTransport(None))
    assert repr(client) == "MyDsoClient(base_url='http://127.0.0.1:9/api/')"
    client.close()


def test_check_file_reports_blank_required_cells_as_the_server_does():
    data = b'"client_code";"client_business_name"\r\n"  ";"A"\r\n"C1";"   "\r\n"C2";"B"\r\n'
    problems = check_file("clients", data)
    assert [(p.row, p.line, p.column, p.reason) for p in problems] == [
        (1, 2, "client_code", "missing required value"),
        (2, 3, "client_business_name", "missing required value"),
    ]
