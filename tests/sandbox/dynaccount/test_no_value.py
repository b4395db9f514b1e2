"""``''`` is "no value" for every field type, as the official library sends it: on create the default (the
next number, the debtor's or the group's value, 0, NO), on update the empty value — except keys, required
fields and enums without an empty choice, which keep theirs. Read-only fields are ignored, not refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dsobridge.dynaccount import DynaccountClient, ValidationError


def test_empty_values_on_create(client: DynaccountClient) -> None:
    row = client.put(
        "debtor",
        0,
        {
            "name": "Tom ApS",
            "module_id_": "",
            "credit_max": "",
            "discount_percent": "",
            "payment_name": "",
            "vatcode_name": "",
            "ref_currency_name": "",
            "lang": "",
            "invoicing_module_id_": "",
            "ref_country_name": "",
        },
    )
    top = client.get("debtor", select=["module_id_"], order="module_id_ desc", limit=(0, 1))[0]["module_id_"]
    assert row["module_id_"] == top >= 10001  # never number 0
    assert (row["credit_max"], row["discount_percent"], row["invoicing_module_id_"]) == (0, 0, "")
    assert (row["payment_name"], row["vatcode_name"], row["ref_currency_name"], row["lang"]) == (
        "Netto 8 dage",
        "U25",
        "DKK",
        "da",
    )
    assert row["ref_country_name"] == "DK"
    grouped = client.put(
        "debtor", 0, {"name": "Export GmbH", "module_group_name": "Udland", "payment_name": ""}
    )
    assert (
        grouped["payment_name"],
        grouped["vatcode_name"],
        grouped["ref_currency_name"],
        grouped["lang"],
    ) == (
        "Netto 30 dage",
        "U0",
        "EUR",
        "en",
    )  # a debtor group's defaults, as the webshop flow reads them from the group
    with pytest.raises(ValidationError) as err:
        client.put("debtor", 0, {"name": ""})
    assert err.value.errors == {"name": "Required field"}


def test_empty_values_on_update(client: DynaccountClient) -> None:
    row = client.put(
        "debtor", 0, {"name": "Fuld ApS", "credit_max": "5000", "note": "vigtig", "discount_percent": "5"}
    )
    updated = client.put(
        "debtor",
        row["id"],
        {
            "credit_max": "",
            "note": "",
            "discount_percent": "",
            "module_id_": "",
            "name": "",
            "vatcode_name": "",
        },
    )
    assert (updated["credit_max"], updated["note"], updated["discount_percent"]) == (Decimal("0.00"), "", 0)
    assert (updated["module_id_"], updated["name"]) == (row["module_id_"], "Fuld ApS")  # key, required: kept
    assert updated["vatcode_name"] == ""  # a reference: cleared
    account = client.put(
        "account", 0, {"account_id_": 1999, "name": "Test", "type": "PROFIT", "is_monitored": "YES"}
    )
    again = client.put("account", account["id"], {"type": "", "is_monitored": "", "sum_account_id_": ""})
    assert (again["type"], again["is_monitored"], again["sum_account_id_"]) == ("PROFIT", "NO", "")


def test_read_only_fields_are_ignored_ours_refused_when_changed(client: DynaccountClient) -> None:
    debtor = client.get("debtor", limit=(0, 1))[0]
    sent = dict(debtor, balance="1.00", due="2.00", is_blocked="YES", contact_id=999, vatno_validation="x")
    assert client.put("debtor", debtor["id"], sent) == debtor  # section A: whatever the value, ignored
    vatcode = client.get("vatcode", where={"name": "U25"})[0]
    assert client.put("vatcode", vatcode["id"], vatcode) == vatcode  # ours, unchanged: fine
    with pytest.raises(ValidationError) as err:
        client.put("vatcode", vatcode["id"], {"account_name": "Andet"})
    assert err.value.errors == {"account_name": "Read-only field"}


def test_rows_made_by_actions_accept_their_own_values_only(client: DynaccountClient) -> None:
    match = client.get("debtor_invoice_match", limit=(0, 1))[0]
    assert client.put("debtor_invoice_match", match["id"], match) == match
    with pytest.raises(ValidationError) as err:
        client.put("debtor_invoice_match", match["id"], {"payment_id": match["payment_id"] + 1})
    assert err.value.errors == {"payment_id": "Read-only field"}
    with pytest.raises(ValidationError) as err:
        client.put("debtor_invoice_match", 0, {"amount": "1.00"})
    assert list(err.value.errors) == ["table"]
