"""The schema has every field name of ``dynaccount-fields.md`` (sections A and B), and treats section A's
read-only fields as the real API's clients need: returned by get, ignored (never refused) on put."""

from __future__ import annotations

import pytest
from spec_fields import COPY, all_fields, read_only_fields, sent_fields, shared_spec

from dsobridge.sandbox.dynaccount import TABLES
from dsobridge.sandbox.dynaccount.schema import REAL_READ_ONLY

TEXT = COPY.read_text(encoding="utf-8")


def test_the_copy_is_the_shared_spec() -> None:
    shared = shared_spec()
    if shared is None:
        pytest.skip("the shared spec folder is not beside this checkout; the copy in data/ is used")
    assert shared.read_text(encoding="utf-8") == TEXT


def test_the_parser_reads_both_sections() -> None:
    a = read_only_fields(TEXT)
    b = sent_fields(TEXT, set(TABLES))
    assert len(a) == 63 and a["debtor"] == {
        "balance",
        "contact_id",
        "due",
        "id",
        "is_blocked",
        "time_vatno_validation",
        "vatno_validation",
    }
    assert set(b) == {
        "draft",
        "debtor_group",
        "debtor",
        "debtor_order",
        "debtor_order_product",
        "enclosure",
        "accounting",
        "account",
    }
    assert b["draft"] == {"name"} and "invoicing_module_attention" in b["debtor"]
    assert b["accounting"] == {
        "enclosure_id",
        "type",
        "account_id_",
        "accountoff_id_",
        "vatcode_name",
        "dimension_name",
        "dimensionoff_name",
        "invoice_id_",
        "invoice_time_due",
        "fi_payment_id_",
        "currency_name",
        "amount",
        "currency_rate",
    }


def test_every_field_name_of_the_spec_is_in_the_schema() -> None:
    wanted = all_fields(TEXT, set(TABLES))
    total = sum(len(names) for names in wanted.values())
    missing = {t: sorted(n - set(TABLES[t].fields)) for t, n in wanted.items() if n - set(TABLES[t].fields)}
    assert missing == {}, f"{sum(map(len, missing.values()))} of {total} field names missing"
    assert total == 498  # (table, field) pairs in the spec: all of them are in the schema


def test_section_a_fields_are_read_only_and_ignored_on_put() -> None:
    for table, names in read_only_fields(TEXT).items():
        assert set(REAL_READ_ONLY[table].split()) == names, table
        for name in names:
            field = TABLES[table].fields[name]
            assert not field.writable and field.real_read_only, (table, name)


def test_section_b_fields_are_writable() -> None:
    """What the official library sends is accepted (``draft_id``/``enclosure_id`` too: parents' row ids)."""
    for table, names in sent_fields(TEXT, set(TABLES)).items():
        for name in names - {"id"}:
            field = TABLES[table].fields[name]
            assert field.writable or field.create_only, (table, name)
