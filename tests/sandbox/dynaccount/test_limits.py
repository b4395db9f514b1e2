"""Values that would overflow a date or SQLite's 64-bit integers: field errors, never a 500."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dsobridge.dynaccount import DynaccountClient, ValidationError

MAX = "9999999999999.99"


def _errors(call) -> dict:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.errors


def test_currency_rate_must_be_positive_and_bounded(client: DynaccountClient) -> None:
    for rate in ("0", "-746.00", "100000.01"):
        assert _errors(lambda r=rate: client.put("currency", 0, {"name": "XXX", "rate": r})) == {
            "rate": "Must be greater than 0 and at most 100000.00 (DKK per 100 units)"
        }
    row = client.put("currency", 0, {"name": "XXX", "rate": "100000.00"})
    assert row["rate"] == Decimal("100000.00")
    converted = client.action(
        "convert_currency", {"from_currency": "DKK", "to_currency": "XXX", "amount": "50"}
    )
    assert converted[0]["converted_amount"] == Decimal("0.05")
    assert _errors(lambda: client.put("currency", row["id"], {"rate": "0"})) == {
        "rate": "Must be greater than 0 and at most 100000.00 (DKK per 100 units)"
    }


def test_payment_days_are_bounded(client: DynaccountClient) -> None:
    for days in (-1, 3651, 99999999999999999):
        assert _errors(
            lambda d=days: client.put("payment", 0, {"name": "Lang", "type": "NET", "days": d})
        ) == {"days": "Must be between 0 and 3650"}
    assert client.put("payment", 0, {"name": "Lang", "type": "NET", "days": 3650})["days"] == 3650


def test_due_date_past_year_9999_is_a_field_error(client: DynaccountClient) -> None:
    errors = _errors(lambda: client.put("debtor_invoice", 0, {"module_id_": 10001, "time": "12-31-9999"}))
    assert errors == {"time": "The due date (issue date + payment terms) is past year 9999"}


def test_line_and_document_amounts_are_bounded(client: DynaccountClient) -> None:
    draft = client.put("debtor_invoice", 0, {"module_id_": 10001})
    line = {"invoice_id": draft["id"], "qty": MAX, "price": MAX, "vatcode_name": "U25"}
    assert _errors(lambda: client.put("debtor_invoice_product", 0, line)) == {
        "total_amount": f"qty × price (less discount) exceeds {MAX}"
    }
    big = {"invoice_id": draft["id"], "qty": 1, "price": "7000000000000.00", "vatcode_name": "U25"}
    client.put("debtor_invoice_product", 0, big)
    assert _errors(lambda: client.put("debtor_invoice_product", 0, big)) == {
        "total_amount": f"The document total would exceed {MAX}"
    }
    again = client.get("debtor_invoice", draft["id"], select=["total_amount", "vat_amount"])[0]
    assert again == {"total_amount": Decimal("8750000000000.00"), "vat_amount": Decimal("1750000000000.00")}


def test_order_and_quote_rates_are_numbers(client: DynaccountClient) -> None:
    eur = client.get("debtor", where={"ref_currency_name": "EUR"}, select=["module_id_"], limit=(0, 1))[0]
    for table in ("debtor_order", "debtor_quote"):
        assert client.put(table, 0, {"module_id_": 10001})["currency_rate"] == Decimal("100.00")
        assert client.put(table, 0, {"module_id_": eur["module_id_"]})["currency_rate"] == Decimal("746.00")
