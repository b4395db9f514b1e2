"""The configurable mapping, the state store (config loading: test_config.py, test_config_sources.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from dsobridge.sync.config import MappingConfig, UserMapping
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.openitems import OpenItem

DEBTOR = {
    "id": 1,
    "module_id_": 10001,
    "name": "Hansen & Co ApS",
    "module_group_name": "Indland",
    "vatno": "12345678",
    "ean": "5790000000000",
    "address": "Vestergade 1",
    "zip": "8000",
    "city": "Aarhus C",
    "ref_country_name": "DK",
    "email": "info@hansen.dk",
    "phone": "",
    "is_blocked": "YES",
    "credit_max": Decimal("50000.00"),
    "payment_name": "Netto 14 dage",
    "ref_currency_name": "EUR",
    "balance": Decimal("0.00"),
    "attention_name": "Mette Bjerre Hansen",
    "attention_email": "MH@hansen.dk",
    "attention_phone": "+45 1234",
    "attention_position": "CFO",
    "email_statement": "mh@hansen.dk",
}


def test_client_and_contacts_mapping_with_overrides():
    mapper = Mapper(
        MappingConfig(
            client_code_format="C{number:06d}",
            client_fields={
                "client_field_perso2": "{ean}",
                "client_phone": "",
                "client_comments": "EAN {ean}",
            },
        )
    )
    row = mapper.client(DEBTOR)
    assert row["client_code"] == "C010001"
    assert row["client_business_name"] == "Hansen & Co ApS"
    assert row["client_id"] == "12345678"
    assert row["client_blocked"] is True
    assert row["client_credit_limit"] == Decimal("50000.00")
    assert row["client_field_perso1"] == "Indland"
    assert row["client_field_perso2"] == "5790000000000"
    assert row["client_phone"] is None
    assert row["client_comments"] == "EAN 5790000000000"
    assert mapper.columns("clients")[-2:] == ("client_field_perso2", "client_comments")
    contacts = mapper.debtor_contacts(DEBTOR)
    # the statement address is the attention person's: one contact, for collection
    assert [
        (c["contact_firstname"], c["contact_lastname"], c["contact_role"], c["contact_collection"])
        for c in contacts
    ] == [("Mette Bjerre", "Hansen", "attention, statement", True)]
    assert mapper.contact_key(contacts[0]) == "C010001|mh@hansen.dk"
    other = {**DEBTOR, "email_statement": "bogholderi@hansen.dk"}
    both = Mapper(MappingConfig(collection_contact="attention")).debtor_contacts(other)
    assert [(c["contact_lastname"], c["contact_collection"]) for c in both] == [
        ("Hansen", True),
        ("Bogholderi", False),
    ]
    info = mapper.debtor_info(DEBTOR)
    assert (info.client_code, info.currency, info.excluded) == ("C010001", "EUR", False)
    assert Mapper(MappingConfig(exclude_groups=("indland",))).debtor_info(DEBTOR).excluded
    assert Mapper(MappingConfig(exclude_zero_balance=True)).debtor_info(DEBTOR).excluded
    assert Mapper(MappingConfig(exclude_debtors=("10001",))).debtor_info(DEBTOR).excluded


def test_item_mapping_formats_and_users():
    item = OpenItem(
        kind="PAYMENT",
        debtor="10001",
        number=77,
        source_id=9001,
        issue_date=date(2026, 10, 10),
        due_date=date(2026, 10, 10),
        currency="",
        initial=Decimal("-100.00"),
        remaining=Decimal("-40.00"),
        text="Indbetaling",
        row={"txt": "Indbetaling", "enc_id_": 77},
    )
    mapper = Mapper(
        MappingConfig(
            item_types={"INVOICE": "FAC", "CREDITNOTE": "AVO", "PAYMENT": "ODI"},
            item_number_format="{number:08d}",
            date_format="%d/%m/%Y",
            item_fields={"item_field_perso1": "{txt} #{enc_id_}"},
        ),
        users=(UserMapping(email="anne@x.dk", role="Collector", groups=("Indland",), debtors=("10009",)),),
    )
    info = mapper.debtor_info(DEBTOR)
    row = mapper.item(item, info)
    assert row == {
        "client_code": "10001",
        "item_number": "00000077",
        "item_type": "ODI",
        "item_date_issue": "10/10/2026",
        "item_date_due": "10/10/2026",
        "item_amount_initial_inc_tax": Decimal("-100.00"),
        "item_amount_initial": None,
        "item_amount_remaining_inc_tax": Decimal("-40.00"),
        "item_currency": "EUR",
        "item_date_payment": None,
        "item_erp_type": "PAYMENT",
        "item_order_number": None,
        "item_unique_key": "PAYMENT-9001",
        "item_field_perso1": "Indbetaling #77",
    }
    other = mapper.debtor_info({**DEBTOR, "module_id_": 10009, "module_group_name": "Udland"})
    third = mapper.debtor_info({**DEBTOR, "module_id_": 10010, "module_group_name": "Udland"})
    users = list(mapper.user_rows({"10001": info, "10009": other, "10010": third}))
    assert [(u["user_email"], u["client_code"]) for u in users] == [
        ("anne@x.dk", "10001"),
        ("anne@x.dk", "10009"),
    ]
