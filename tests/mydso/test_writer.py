from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest

from dsobridge.mydso import (
    COLUMNS,
    Client,
    Contact,
    CsvOptions,
    HeaderError,
    Item,
    RowError,
    User,
    file_name,
    iter_csv,
    transliterate,
    write_csv,
)

SEED_ITEM_COLUMNS = [
    "item_type",
    "item_number",
    "client_code",
    "item_date_issue",
    "item_date_due",
    "item_amount_initial_inc_tax",
    "item_currency",
]


def render(kind, rows, **options) -> bytes:
    return b"".join(iter_csv(kind, rows, CsvOptions(**options)))


def test_header_and_row_exact_bytes(item_factory):
    out = render("items", [item_factory(123, item_currency="USD")], columns=SEED_ITEM_COLUMNS)
    assert out == (
        b'"item_type";"item_number";"client_code";"item_date_issue";"item_date_due";'
        b'"item_amount_initial_inc_tax";"item_currency"\r\n'
        b'"FAC";"00000123";"C0001";"2025-03-13";"2025-03-20";"6580.10";"USD"\r\n'
    )


def test_default_header_is_every_column_in_spec_order(item_factory):
    out = render("items", [item_factory()])
    header, row, end = out.split(b"\r\n")
    assert header.decode().split(";") == [f'"{c}"' for c in COLUMNS["items"]]
    assert len(COLUMNS["items"]) == 23
    assert row.startswith(b'"C0001";"00000001";"FAC";"2025-03-13";"2025-03-20";"6580.10";"";"";"";"DKK";""')
    assert end == b""


@pytest.mark.parametrize(
    ("amount", "point", "space_comma"),
    [
        (Decimal("6580.1"), "6580.10", "6 580,10"),
        (Decimal("6580.10"), "6580.10", "6 580,10"),
        (Decimal("1200.00123"), "1200.00123", "1 200,00123"),
        (Decimal("5"), "5.00", "5,00"),
        (7, "7.00", "7,00"),
        (Decimal("1E+3"), "1000.00", "1 000,00"),
        (Decimal("-1234567.5"), "-1234567.50", "-1 234 567,50"),
        (Decimal("-0.00"), "0.00", "0,00"),
        (Decimal("0.5"), "0.50", "0,50"),
    ],
)
def test_amount_formats(item_factory, amount, point, space_comma):
    row = item_factory(item_type="ODI", item_amount_initial_inc_tax=amount, item_currency=None)
    for style, expected in (("point", point), ("space_comma", space_comma)):
        out = render(
            "items",
            [row],
            columns=[
                "client_code",
                "item_number",
                "item_type",
                "item_date_issue",
                "item_date_due",
                "item_amount_initial_inc_tax",
            ],
            decimal_style=style,
        )
        assert out.split(b"\r\n")[1].split(b";")[-1] == f'"{expected}"'.encode()


def test_quotes_are_doubled_and_newlines_kept_inside_quotes():
    row = Client(client_code='C"1', client_business_name='Acme "Nordic"; A/S\r\nline 2')
    out = render("clients", [row], columns=["client_code", "client_business_name"])
    assert out == (b'"client_code";"client_business_name"\r\n"C""1";"Acme ""Nordic""; A/S\r\nline 2"\r\n')


def test_flags_numbers_and_dates():
    row = Client(
        client_code="C1",
        client_business_name="A",
        client_blocked=True,
        client_payment_term=30,
        client_credit_limit=Decimal("50000"),
        client_guarantee_score=Decimal("7.5"),
    )
    cols = [
        "client_code",
        "client_business_name",
        "client_blocked",
        "client_payment_term",
        "client_credit_limit",
        "client_guarantee_score",
    ]
    assert render("clients", [row], columns=cols).split(b"\r\n")[1] == b'"C1";"A";"1";"30";"50000.00";"7.5"'
    contact = Contact(client_code="C1", contact_lastname="Jackson", contact_collection=False)
    out = render("contacts", [contact], columns=["client_code", "contact_lastname", "contact_collection"])
    assert out.split(b"\r\n")[1] == b'"C1";"Jackson";"0"'


def test_strings_in_typed_columns_are_written_verbatim(item_factory):
    row = item_factory(item_date_issue="13/03/2025", item_amount_initial_inc_tax="6 580,10")
    out = render("items", [row], columns=SEED_ITEM_COLUMNS)
    assert out.split(b"\r\n")[1] == b'"FAC";"00000001";"C0001";"13/03/2025";"2025-03-20";"6 580,10";"DKK"'


def test_mapping_rows_take_their_header_from_the_first_row():
    rows = [
        {"user_email": "a@x.dk", "user_firstname": "John", "client_code": "C0001"},
        {"user_email": "a@x.dk", "client_code": "C0002"},
    ]
    out = render("users", rows)
    assert out == (
        b'"user_email";"user_firstname";"client_code"\r\n"a@x.dk";"John";"C0001"\r\n"a@x.dk";"";"C0002"\r\n'
    )


@pytest.mark.parametrize(
    ("columns", "column", "reason"),
    [
        (
            [
                "client_code",
                "item_number",
                "item_type",
                "item_date_issue",
                "item_date_due",
                "item_amount_initial_inc_tax",
                "item_colour",
            ],
            "item_colour",
            "unknown column for a items file",
        ),
        (
            [
                "client_code",
                "item_number",
                "item_type",
                "item_date_issue",
                "item_date_issue",
                "item_date_due",
                "item_amount_initial_inc_tax",
            ],
            "item_date_issue",
            "duplicate column",
        ),
        (
            ["client_code", "item_number", "item_type", "item_date_issue", "item_amount_initial_inc_tax"],
            "item_date_due",
            "required column missing from the header",
        ),
    ],
)
def test_header_errors(item_factory, columns, column, reason):
    with pytest.raises(HeaderError) as info:
        render("items", [item_factory()], columns=columns)
    assert (info.value.row, info.value.column, info.value.reason) == (0, column, reason)


def test_seed_header_with_repeated_issue_date_is_refused():
    rows = [{"item_type": "FAC"}]
    with pytest.raises(HeaderError, match="duplicate column"):
        render(
            "items",
            rows,
            columns=[
                "item_type",
                "item_number",
                "client_code",
                "item_date_issue",
                "item_date_issue",
                "item_amount_initial_inc_tax",
                "item_currency",
            ],
        )


def test_missing_required_value_names_row_and_column(item_factory):
    rows = [item_factory(1), item_factory(2), item_factory(3, client_code="")]
    with pytest.raises(RowError) as info:
        render("items", rows)
    assert (info.value.row, info.value.line, info.value.column) == (3, 4, "client_code")
    assert str(info.value) == "row 3 (line 4), column 'client_code': missing required value"


def test_mapping_row_with_unknown_or_missing_columns():
    rows = [{"user_email": "a@x.dk"}, {"user_email": "b@x.dk", "user_shoe_size": "44"}]
    with pytest.raises(RowError) as info:
        render("users", rows)
    assert (info.value.row, info.value.column, info.value.reason) == (2, "user_shoe_size", "unknown column")
    rows = [{"user_email": "a@x.dk"}, {"user_email": "b@x.dk", "user_role": "Collector"}]
    with pytest.raises(RowError) as info:
        render("users", rows)
    assert (info.value.row, info.value.column, info.value.reason) == (
        2,
        "user_role",
        "column is not in the header",
    )
    with pytest.raises(RowError) as info:
        render("users", [{"user_email": None}])
    assert (info.value.row, info.value.column) == (1, "user_email")


def test_value_outside_a_narrowed_header_is_refused(item_factory):
    with pytest.raises(RowError) as info:
        render("items", [item_factory(item_order_number="PO-1")], columns=SEED_ITEM_COLUMNS)
    assert (info.value.row, info.value.column) == (1, "item_order_number")


def test_wrong_row_type(item_factory):
    with pytest.raises(RowError, match="a clients file takes Client rows, not Item"):
        render("clients", [item_factory()])


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        (
            {"item_amount_initial_inc_tax": Decimal("-1")},
            "item_amount_initial_inc_tax",
            "negative amount -1 on a FAC (invoice)",
        ),
        (
            {"item_type": "AVO"},
            "item_amount_initial_inc_tax",
            "positive amount 6580.10 on a AVO (must be negative)",
        ),
        (
            {
                "item_type": "RGL",
                "item_amount_initial_inc_tax": Decimal("-5"),
                "item_amount_remaining_inc_tax": Decimal("2"),
            },
            "item_amount_remaining_inc_tax",
            "positive amount 2 on a RGL (must be negative)",
        ),
        (
            {"item_amount_initial_inc_tax": 1.5},
            "item_amount_initial_inc_tax",
            "amount must be Decimal, int or str, not float",
        ),
        (
            {"item_amount_initial_inc_tax": Decimal("NaN"), "item_type": "ODI"},
            "item_amount_initial_inc_tax",
            "amount must be finite, not NaN",
        ),
        (
            {"item_date_due": datetime(2025, 3, 20, 12, 0)},
            "item_date_due",
            "expected a date, got a datetime (pass .date() explicitly)",
        ),
    ],
)
def test_value_checks(item_factory, changes, column, reason):
    with pytest.raises(RowError) as info:
        render("items", [item_factory(1), item_factory(2, **changes)])
    assert (info.value.row, info.value.column, info.value.reason) == (2, column, reason)


def test_signs_check_can_be_switched_off_and_other_types_take_any_sign(item_factory):
    rows = [
        item_factory(1, item_amount_initial_inc_tax=Decimal("-1")),
        item_factory(2, item_type="ODI", item_amount_initial_inc_tax=Decimal("-3")),
        item_factory(3, item_type="AVO", item_amount_initial_inc_tax=Decimal("0")),
    ]
    out = render("items", rows, check_signs=False, columns=SEED_ITEM_COLUMNS)
    assert out.count(b"\r\n") == 4
    with pytest.raises(RowError):
        render("items", rows[:1])
    assert render("items", rows[1:]).count(b"\r\n") == 3


def test_duplicate_item_key(item_factory):
    rows = [item_factory(1), item_factory(2), item_factory(1)]
    with pytest.raises(RowError) as info:
        render("items", rows)
    assert (info.value.row, info.value.column) == (3, "item_number")
    # same number, another year of issue, another type or another client: distinct keys
    ok = [
        item_factory(1),
        item_factory(1, item_date_issue=date(2026, 1, 2)),
        item_factory(1, item_type="AVO", item_amount_initial_inc_tax=Decimal("-1")),
        item_factory(1, client_code="C0002"),
    ]
    assert render("items", ok).count(b"\r\n") == 5
    # the unique key wins over the natural key
    keyed = [item_factory(1, item_unique_key="K1"), item_factory(1, item_unique_key="K2")]
    assert render("items", keyed).count(b"\r\n") == 3
    with pytest.raises(RowError):
        render("items", [item_factory(1, item_unique_key="K1"), item_factory(2, item_unique_key="K1")])
    assert render("items", rows, check_duplicates=False).count(b"\r\n") == 4


def test_unencodable_character_names_row_and_column(item_factory):
    rows = [item_factory(i, item_business_case="Æblegrød å ø") for i in range(1, 3000)]
    rows.append(item_factory(3000, item_business_case="Zloty ł"))
    assert render("items", rows[:-1], encoding="ISO-8859-1").count("Æblegrød å ø".encode("latin-1")) == 2999
    with pytest.raises(RowError) as info:
        render("items", rows, encoding="ISO-8859-1")
    assert (info.value.row, info.value.column) == (3000, "item_business_case")
    assert "'ł' (U+0142) cannot be encoded in ISO-8859-1" in info.value.reason


def test_transliteration():
    assert transliterate("Łódź – 5 € “ok” Æblegrød", "ascii") == 'Lodz - 5 EUR "ok" AEblegrod'
    assert transliterate("Łódź – 5 € Æblegrød", "ISO-8859-1") == "Lódz - 5 EUR Æblegrød"
    assert transliterate("中", "ascii") == "?"
    row = Contact(client_code="C1", contact_lastname="Wałęsa €")
    out = render(
        "contacts",
        [row],
        columns=["client_code", "contact_lastname"],
        encoding="ISO-8859-1",
        transliterate=True,
    )
    assert out.split(b"\r\n")[1] == b'"C1";"Walesa EUR"'


def test_formula_neutralisation_is_opt_in():
    rows = [
        Contact(
            client_code="C1",
            contact_lastname="=HYPERLINK(1)",
            contact_role="-100",
            contact_function="@sum",
            contact_phone="+45 12 34 56 78",
            contact_email="-1 200,50",
        )
    ]
    cols = [
        "client_code",
        "contact_lastname",
        "contact_role",
        "contact_function",
        "contact_phone",
        "contact_email",
    ]
    plain = render("contacts", rows, columns=cols).split(b"\r\n")[1]
    assert plain == b'"C1";"=HYPERLINK(1)";"-100";"@sum";"+45 12 34 56 78";"-1 200,50"'
    safe = render("contacts", rows, columns=cols, neutralise_formulas=True).split(b"\r\n")[1]
    assert safe == b'"C1";"\'=HYPERLINK(1)";"-100";"\'@sum";"+45 12 34 56 78";"-1 200,50"'


def test_chunks_stream_and_header_comes_first(item_factory):
    chunks = iter_csv(
        "items", (item_factory(i) for i in range(1, 5001)), CsvOptions(columns=SEED_ITEM_COLUMNS)
    )
    first = next(chunks)
    assert first.endswith(b'"item_currency"\r\n') and first.count(b"\r\n") == 1
    sizes = [c.count(b"\r\n") for c in chunks]
    assert sizes == [2048, 2048, 904]


def test_empty_file_is_header_only():
    assert (
        render("users", []) == b'"user_email";"user_firstname";"user_lastname";"user_role";"client_code"\r\n'
    )


def test_write_csv_to_path_and_stream(tmp_path, item_factory):
    dest = tmp_path / "items.csv"
    assert write_csv("items", [item_factory(1), item_factory(2)], dest) == 2
    assert dest.read_bytes().count(b"\r\n") == 3
    buffer = io.BytesIO()
    assert write_csv("users", [User(user_email="a@x.dk")], buffer) == 1
    assert buffer.getvalue().endswith(b'"a@x.dk";"";"";"";""\r\n')
    bad = tmp_path / "bad.csv"
    with pytest.raises(RowError):
        write_csv("items", [item_factory(1), item_factory(1)], bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.csv"]  # no half file left behind


def test_options_validate():
    with pytest.raises(LookupError):
        CsvOptions(encoding="no-such-codec")
    with pytest.raises(ValueError, match="decimal_style"):
        CsvOptions(decimal_style="comma")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown file kind 'invoices'"):
        render("invoices", [])


def test_file_names():
    assert file_name("items", date(2026, 11, 20)) == "items_20261120.csv"
    assert file_name("items", datetime(2026, 11, 20, 22, 30, 15)) == "items_20261120_223015.csv"
    assert file_name("items", date(2026, 11, 20), stock=True) == "items_20261120.stock.csv"
    assert file_name("items", date(2026, 11, 20), stock=False) == "items_20261120.csv"
    assert file_name("clients", date(2026, 1, 2), encoding="UTF-8") == "clients_20260102.csv"
    assert file_name("clients", date(2026, 1, 2), encoding="utf8") == "clients_20260102.csv"
    assert (
        file_name("items", datetime(2026, 11, 20, 1, 2, 3), stock=True, encoding="ISO-8859-1")
        == "items_20261120_010203.stock.iso-8859-1.csv"
    )
    with pytest.raises(ValueError, match="items files only"):
        file_name("users", date(2026, 1, 2), stock=True)


def test_item_model_matches_the_spec_example():
    item = Item(
        client_code="C1",
        item_number="1001",
        item_type="FAC",
        item_date_issue=date(2025, 3, 13),
        item_date_due=date(2025, 3, 20),
        item_amount_initial_inc_tax=Decimal("6580.10"),
        item_currency="DKK",
        item_date_payment=None,
    )
    assert item.item_amount_remaining is None
    with pytest.raises(AttributeError):
        item.client_code = "C2"  # type: ignore[misc]


def test_a_none_row_is_refused_wherever_it_comes(item_factory):
    for rows, n in (([None, item_factory(1)], 1), ([item_factory(1), None], 2)):
        with pytest.raises(RowError) as info:
            render("items", rows)
        assert (info.value.row, info.value.column) == (n, None)
        assert info.value.reason == "a items file takes Item rows, not NoneType"
