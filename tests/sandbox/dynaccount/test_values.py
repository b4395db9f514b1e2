"""Input parsing per field type (receivables-model.md "Wire conventions") and the schema declarations."""

from __future__ import annotations

import datetime as dt

import pytest

from dsobridge.sandbox.dynaccount import TABLES
from dsobridge.sandbox.dynaccount.values import parse_date, parse_value


def test_dates_in_the_three_accepted_forms() -> None:
    assert parse_date("2026-03-01") == dt.date(2026, 3, 1)
    assert parse_date("3-1-2026") == dt.date(2026, 3, 1)  # m-d-Y, as the PHP library sends
    assert parse_date("12-31-2025") == dt.date(2025, 12, 31)
    # 2026-02-28 23:30 UTC is already 1 March in Copenhagen
    assert parse_date("1772321400") == dt.date(2026, 3, 1)
    assert parse_date("01-02-14") == dt.date(2014, 1, 2)  # m-d-y
    with pytest.raises(ValueError):
        parse_date("31-12-2025")
    with pytest.raises(ValueError):
        parse_date("yesterday")


@pytest.mark.parametrize(
    ("table", "field", "text", "stored"),
    [
        ("debtor", "credit_max", "1250.5", 125050),
        ("debtor", "credit_max", "-10", -1000),
        ("debtor", "credit_max", "1250.50", 125050),
        ("enclosure", "time", "11-20-2026", "2026-11-20"),
        ("enclosure", "time", "01-02-14", "2014-01-02"),  # m-d-y, as the PHP library's tests send it
        ("enclosure", "time", "12-31-99", "1999-12-31"),  # PHP's y: 70–99 are 19xx
        ("debtor", "credit_max", "", 0),  # '' is "no value" for money too
        ("account", "is_monitored", "", "NO"),
        ("unit", "name", "æske", "æske"),
        ("payment", "type", "CURRENT_MONTH", "CURRENT_MONTH"),
        ("payment", "days", "30", 30),
        ("debtor_invoice", "order_id_", "", 0),
    ],
)
def test_parse_value(table: str, field: str, text: str, stored: object) -> None:
    assert parse_value(TABLES[table].fields[field], text) == stored


@pytest.mark.parametrize(
    ("table", "field", "text", "message"),
    [
        ("debtor", "credit_max", "1.005", "Must be an amount with at most two decimals, like 1250.50"),
        ("debtor", "credit_max", "1,5", "Must be an amount with at most two decimals, like 1250.50"),
        ("payment", "days", "3.5", "Must be an integer"),
        ("payment", "type", "WEEKLY", "Must be one of NET, CURRENT_MONTH"),
        ("enclosure", "time", "2026-02-30", "Must be a valid date"),
        ("enclosure", "time", "13-01-14", "Must be a valid date"),
        ("account", "is_monitored", "yes", "Must be YES or NO"),
    ],
)
def test_parse_value_errors(table: str, field: str, text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_value(TABLES[table].fields[field], text)
    assert str(err.value) == message


def test_schema_read_only_and_derived_fields() -> None:
    debtor = TABLES["debtor"]
    assert [
        f for f in ("balance", "due", "id", "contact_id", "is_blocked") if debtor.fields[f].writable
    ] == []
    invoice = TABLES["debtor_invoice"]
    derived = (
        "is_matched",
        "is_booked",
        "invoice_id_",
        "total_amount",
        "vat_amount",
        "time_due",
        "currency_rate",
    )
    assert [f for f in derived if invoice.fields[f].writable] == []
    assert TABLES["debtor_invoice_match"].readonly_table is not None
    assert list(TABLES["debtor_creditnote"].fields)[:13] == [
        "id",
        "module_id",
        "module_id_",
        "invoice_id_",
        "credit_invoice_id_",
        "time",
        "is_booked",
        "is_matched",
        "currency_name",
        "currency_rate",
        "vat_amount",
        "total_amount",
        "txt",
    ]
