"""The tolerant reader and value parsers (spec §4), and real-world exporter styles (Protheus, Oracle)."""

from __future__ import annotations

import io

import pytest
from mydso_sandbox_helpers import CLIENTS, rows

from dsobridge.sandbox.mydso import (
    ImportFailed,
    ImportOptions,
    MyDsoSandbox,
    open_csv,
    parse_amount,
    parse_date,
)
from dsobridge.sandbox.mydso.values import canonical_amount

FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1200", "1200.00"), ("1200.00123", "1200.00123"), ("1 200,00", "1200.00"), ("6 580,10", "6580.10"),
        ("6\u00a0580,10", "6580.10"), ("6\u202f580,10", "6580.10"), ("-100", "-100.00"),
        ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("1.234.567", "1234567.00"), ("1,5", "1.50"),
        ("+7", "7.00"), ("100-", "-100.00"),
        ("(42.10)", "-42.10"), ("0.10", "0.10"), ("-0.00", "0.00"), ("-0", "0.00"), ("1200.50000", "1200.50"),
        (" 12.30 ", "12.30"), ("1'234.50", "1234.50"),
        ("", None), ("abc", None), ("1e5", None), ("NaN", None), ("Infinity", None), ("1,234.567,8", None),
        ("--5", None), ("12.3.4,5,6", None), ("١٢٣", None),
    ],
)  # fmt: skip
def test_amounts(text: str, expected: str | None) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-13", "2025-03-13"), ("2025/03/13", "2025-03-13"), ("13/03/2025", "2025-03-13"),
        ("3/3/2025", "2025-03-03"), ("13.03.2025", "2025-03-13"), ("13-03-2025", "2025-03-13"),
        ("20250313", "2025-03-13"), ("13-MAR-25", "2025-03-13"), ("13-mar-25", "2025-03-13"),
        ("30-DEC-49", "2049-12-30"), ("01-JAN-50", "1950-01-01"), ("13-MAR-2025", "2025-03-13"),
        (" 2025-03-13 ", "2025-03-13"),
        ("2025-02-30", None), ("2025-W11-4", None), ("20251313", None), ("13-MRZ-25", None), ("", None),
        ("03/13/2025", None), ("yesterday", None), ("2025-3-13", None),
    ],
)  # fmt: skip
def test_dates(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected


def test_canonical_amount_never_goes_through_float() -> None:
    from decimal import Decimal

    assert canonical_amount(Decimal("0.1") + Decimal("0.2")) == "0.30"
    assert canonical_amount(Decimal("12345678901234567890.125")) == "12345678901234567890.125"


def read(data: bytes, encoding: str = "utf-8") -> tuple[list[str], list[tuple[int, list[str]]]]:
    csv_file = open_csv(io.BytesIO(data), encoding)
    return csv_file.header, list(csv_file.rows())


def test_separators_quotes_line_endings_and_bom() -> None:
    expected_header = ["client_code", "client_business_name"]
    for data in (
        b'"client_code";"client_business_name"\r\n"C1";"A; B"\r\n',
        b"client_code;client_business_name;\nC1;A; B;\n".replace(b"A; B", b'"A; B"'),
        b'\xef\xbb\xbfclient_code,client_business_name\r\nC1,"A; B"\r\n',
        b"Client_Code\tCLIENT_BUSINESS_NAME\nC1\tA; B\n",
    ):
        assert read(data) == (expected_header, [(2, ["C1", "A; B"])]), data


def test_blank_lines_multiline_fields_and_line_numbers() -> None:
    data = b'\r\nclient_code;client_business_name\r\n\r\nC1;"two\r\nlines"\r\nC2;x\r\n;\r\n'
    header, found = read(data)
    assert header == ["client_code", "client_business_name"]
    assert found == [(4, ["C1", "two\r\nlines"]), (6, ["C2", "x"])]


def test_header_errors() -> None:
    with pytest.raises(ImportFailed) as info:
        read(b"a;b;a\r\n1;2;3\r\n")
    assert (info.value.code, info.value.column, info.value.message) == (
        "CSV_BAD_SYNTAX", "a", "header: duplicate column 'a' (column 3)"
    )  # fmt: skip
    with pytest.raises(ImportFailed) as info:
        read(b"")
    assert info.value.code == "CSV_EMPTY"
    with pytest.raises(ImportFailed) as info:
        read("client_code;navn\r\nC1;Søren\r\n".encode(), "ascii")
    assert (info.value.code, info.value.message) == (
        "BAD_ENCODING",
        "line 2: ordinal not in range(128) for ascii",
    )


def test_a_utf8_bom_wins_over_the_declared_encoding() -> None:
    data = "\ufeffclient_code;client_business_name\r\nC1;Søren\r\n".encode()
    assert read(data, "iso8859-1")[1] == [(2, ["C1", "Søren"])]


def test_utf16_is_read_too() -> None:
    data = "client_code\tclient_business_name\r\nC1\tSøren\r\n".encode("utf-16")
    assert read(data, "utf-16") == (["client_code", "client_business_name"], [(2, ["C1", "Søren"])])


def test_short_rows_are_padded_and_long_rows_rejected(sandbox: MyDsoSandbox) -> None:
    data = b"client_code;client_business_name;client_email\r\nC1;One\r\nC2;Two;a@b.c;extra\r\nC3;Three;;;\r\n"
    report = sandbox.import_file("acme", "clients", io.BytesIO(data))
    assert (report["added"], report["rejected_rows"]) == (
        2,
        [{"line": 3, "column": None, "reason": "FIELD_COUNT"}],
    )


def test_protheus_style_files(sandbox: MyDsoSandbox) -> None:
    clients = sandbox.import_file("acme", "clients", (FIXTURES / "protheus_clients_20250630.csv").open("rb"))
    assert (clients["added"], clients["rejected"], clients["unknown_columns"]) == (3, 0, [])
    with (FIXTURES / "protheus_items_20250630.csv").open("rb") as fh:
        report = sandbox.import_file("acme", "items", fh, ImportOptions(stock=True))
    assert (report["rows"], report["added"], report["rejected"]) == (5, 5, 0)
    assert rows(
        sandbox,
        "SELECT item_key, item_type, issue_date, due_date, currency, amount_initial, amount_remaining "
        "FROM item ORDER BY item_key",
    ) == [
        ("000123|FAC|000045123|2025", "FAC", "2025-05-02", "2025-06-01", "BRL", "15230.40", "15230.40"),
        ("000123|FAC|000045124|2025", "FAC", "2025-05-10", "2025-06-09", "BRL", "3100.00", "1100.00"),
        ("000124|AVO|000000077|2025", "AVO", "2025-05-20", "2025-05-20", "BRL", "-450.00", "-450.00"),
        ("000124|FAC|000045200|2025", "FAC", "2025-06-15", "2025-07-15", "BRL", "980.50", "980.50"),
        ("000125|RGL|RA0001|2025", "RGL", "2025-06-25", "2025-06-25", "BRL", "-2000.00", "-2000.00"),
    ]
    assert rows(sandbox, "SELECT business_name, group_name FROM client WHERE client_code = '000123'") == [
        ("Ação Comércio de Metais Ltda", "SUDESTE")
    ]


def test_oracle_style_files(sandbox: MyDsoSandbox) -> None:
    sandbox.import_file("acme", "clients", (FIXTURES / "oracle_clients.txt").open("rb"))
    with (FIXTURES / "oracle_items_20250630.txt").open("rb") as fh:
        report = sandbox.import_file("acme", "items", fh)
    assert (report["mode"], report["rows"], report["added"], report["rejected"]) == ("DELTA", 5, 5, 0)
    assert rows(
        sandbox,
        "SELECT item_key, issue_date, due_date, amount_initial, amount_remaining, payment_date FROM item "
        "ORDER BY item_key",
    ) == [
        ("RA-299999", "2024-12-30", "2025-01-29", "4000.00", "0.00", "2025-02-12"),
        ("RA-300001", "2025-05-03", "2025-06-02", "12500.00", "12500.00", None),
        ("RA-300002", "2025-05-15", "2025-06-14", "845.50", "845.50", None),
        ("RA-300003", "2025-05-20", "2025-05-20", "-845.50", "-845.50", None),
        ("RA-300004", "2025-06-01", "2025-07-01", "7300.10", "3000.10", None),
    ]


def test_declared_encoding_is_used(sandbox: MyDsoSandbox) -> None:
    latin = "client_code;client_business_name\r\nC1;Grøn & Søn\r\n".encode("iso-8859-1")
    report = sandbox.import_file("acme", "clients", io.BytesIO(latin), ImportOptions(encoding="iso8859-1"))
    assert report["added"] == 1
    assert rows(sandbox, "SELECT business_name FROM client") == [("Grøn & Søn",)]
    assert sandbox.import_file("acme", "clients", io.BytesIO(CLIENTS))["added"] == 3
