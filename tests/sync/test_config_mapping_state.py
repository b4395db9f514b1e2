"""Config loading and secrets, the configurable mapping, the state store."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal

import pytest

from dsobridge.sync.config import (
    ConfigError,
    MappingConfig,
    Secret,
    UserMapping,
    load_config,
    render_template,
)
from dsobridge.sync.mapping import Mapper, row_hash
from dsobridge.sync.openitems import OpenItem
from dsobridge.sync.spool import Spool
from dsobridge.sync.state import Delivered, Locked, StateStore

ENV = {
    "DSOBRIDGE_DYNACCOUNT_API_KEY": "k" * 40,
    "DSOBRIDGE_DYNACCOUNT_API_SECRET": "s" * 40,
    "DSOBRIDGE_MYDSO_PASSWORD": "hunter2",
}

MINIMAL = """
[dynaccount]
api_id = 1234
[mydso]
login = "acme"
"""


def write(tmp_path, text, name="dsobridge.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_template_loads_and_keeps_secrets_out_of_reprs(tmp_path):
    path = write(tmp_path, render_template(api_id=42, mydso_login="acme", secrets_file="secrets.toml"))
    secrets = write(
        tmp_path,
        'dynaccount_api_key = "KEY-0451"\ndynaccount_api_secret = "SECRET-0451"\n'
        'mydso_password = "PASS-0451"\n',
        "secrets.toml",
    )
    os.chmod(secrets, 0o600)
    config = load_config(path, env={})
    assert config.dynaccount.api_id == 42
    assert config.dynaccount.api_key.reveal() == "KEY-0451" and config.mydso.password.reveal() == "PASS-0451"
    assert config.state_path == tmp_path / "dsobridge-state.sqlite3"
    assert config.max_drop == Decimal("0.30")
    assert config.mapping.item_types == {"INVOICE": "FAC", "CREDITNOTE": "AVO", "PAYMENT": "RGL"}
    text = repr(config)
    assert "0451" not in text and "Secret('***')" in text
    # the environment wins over the file
    assert load_config(path, env=ENV).mydso.password == Secret("hunter2")


def test_secrets_file_must_be_owner_only(tmp_path):
    path = write(tmp_path, MINIMAL + '[secrets]\nfile = "s.toml"\n')
    secrets = write(tmp_path, 'mydso_password = "pp"\n', "s.toml")
    os.chmod(secrets, 0o644)
    with pytest.raises(ConfigError, match="readable by its owner only"):
        load_config(path, env={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[mydso]\nlogin='a'\n", r"\[dynaccount\] api_id"),
        (MINIMAL.replace('login = "acme"', ""), r"\[mydso\] login is required"),
        (
            MINIMAL.replace("api_id = 1234", 'api_id = 1234\napi_key = "x"'),
            "do not belong in the config file",
        ),
        (MINIMAL + "[sync]\nmax_drop = 1.5\n", "max_drop must be a number between 0 and 1"),
        (MINIMAL + '[format]\nencoding = "klingon"\n', "not a known codec"),
        (MINIMAL + '[mapping.item_types]\nDEBIT = "FAC"\n', "unknown source kinds"),
        (MINIMAL + '[mapping]\nitem_number_format = "{nummer}"\n', "not a valid format"),
        (MINIMAL + "[[users]]\nfirstname = 'x'\n", "email is required"),
        ("not toml [", "dsobridge.toml"),
    ],
)
def test_config_errors_say_what_is_wrong(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text), env=ENV)


def test_missing_secret_names_the_variable(tmp_path):
    env = dict(ENV)
    del env["DSOBRIDGE_MYDSO_PASSWORD"]
    with pytest.raises(ConfigError, match=r"\$DSOBRIDGE_MYDSO_PASSWORD"):
        load_config(write(tmp_path, MINIMAL), env=env)


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
    assert row_hash(row) == row_hash(dict(reversed(list(row.items()))))
    assert row_hash(row) != row_hash({**row, "item_amount_remaining_inc_tax": Decimal("-39.99")})


def test_state_store_migrations_lock_commit_and_reports(tmp_path):
    path = tmp_path / "state.sqlite3"
    with StateStore(path) as state:
        assert state.schema_versions() == [1, 2]
        assert state.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        state.acquire_lock()
        with StateStore(path) as other:
            assert other.migrate() == []
            with pytest.raises(Locked, match="another sync run holds the lock"):
                other.acquire_lock()
        run = state.start_run("stock")
        state.commit_file(
            run,
            "items",
            [
                Delivered("INVOICE-1", "h1", True, json.dumps({"a": 1})),
                Delivered("INVOICE-2", "h2", True, None),
            ],
            report={"success": True, "added": 2},
            mode="STOCK",
            counts={"items": {"rows": 2}},
            close_missing_items=True,
        )
        state.finish_run(run, status="success", exit_code=0, open_count=2, open_total=Decimal("10.00"))
        run2 = state.start_run("stock")
        state.commit_file(
            run2,
            "items",
            [Delivered("INVOICE-2", "h2b", True, None)],
            report={"success": True},
            mode="STOCK",
            counts={},
            close_missing_items=True,
        )
        assert state.item_states() == {"INVOICE-1": ("h1", False), "INVOICE-2": ("h2b", True)}
        assert state.delivered_row("items", "INVOICE-1") == {"a": 1}
        assert state.last_stock_run().id == run
        assert state.reports(run)[0]["report"] == {"success": True, "added": 2}
        state.release_lock()
    with StateStore(path) as again:
        again.acquire_lock()  # released: free again
        assert [r.status for r in again.runs()] == ["running", "success"]
        again.start_run("delta")
        assert [r.status for r in again.runs()] == ["running", "interrupted", "success"]


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    path = tmp_path / "state.sqlite3"
    with StateStore(path) as state:
        state.db.execute(
            "INSERT INTO lock (name, pid, host, acquired_at) VALUES ('sync', 999999999, ?, 'x')",
            (__import__("socket").gethostname(),),
        )
        state.acquire_lock()
        assert state.db.execute("SELECT pid FROM lock").fetchone()[0] == os.getpid()


def test_spool_reads_back_every_row_in_order_and_again():
    spool = Spool()
    for i in range(2500):
        spool.add({"n": i, "amount": Decimal(i) / 100, "day": date(2026, 1, 1)}, f"k{i}", "h", i % 2 == 0)
    rows = list(spool)
    assert len(rows) == 2500 == len(spool)
    assert rows[1234] == {"n": 1234, "amount": Decimal("12.34"), "day": date(2026, 1, 1)}
    assert [e[1] for e in spool.entries()][-2:] == ["k2498", "k2499"]
    assert sum(1 for _ in spool) == 2500
    spool.close()
