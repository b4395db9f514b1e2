"""``select=``: the sync asks Dynaccount only for the fields its mapping reads, and never loses one.

The comparison tests export a STOCK run of a seeded Dynaccount sandbox (in process) twice, once with the field
lists and once reading whole rows, and require byte-identical files: a field the select drops that the
mapping needs changes a file (``test_the_comparison_catches_a_dropped_field`` shows it does).
"""

from __future__ import annotations

import csv
import io
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dsobridge.sandbox import InProcessTransport
from dsobridge.sandbox.dynaccount import DynaccountSandbox
from dsobridge.sync import fields
from dsobridge.sync.config import MappingConfig, load_config
from dsobridge.sync.delivery import Endpoints
from dsobridge.sync.engine import SyncEngine, SyncOptions
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.state import SqliteStateStore

TODAY = date(2026, 11, 20)


class Recording:
    """The Dynaccount client, recording the select of every table read."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.calls: list[tuple[str, tuple[str, ...] | None]] = []

    def iter_rows(self, table: str, *, select: Any = None, **kw: Any) -> Any:
        self.calls.append((table, tuple(select) if select else None))
        return self.source.iter_rows(table, select=select, **kw)


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("select")
    sandbox = DynaccountSandbox(tmp / "dyn.sqlite3", today=TODAY)
    sandbox.seed(debtors=40, invoices=500, seed=11)
    yield sandbox
    sandbox.close()


def config_for(sandbox: DynaccountSandbox, tmp: Path, mapping: str = ""):
    path = tmp / "dsobridge.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [dynaccount]
            api_id = {sandbox.credentials.api_id}
            base_url = "http://dynaccount.test"
            page_size = 7
            retries = 1
            [mydso]
            base_url = "http://127.0.0.1:9"
            login = "acme"
            [sync]
            state = "state.sqlite3"
            """
        )
        + textwrap.dedent(mapping),
        encoding="utf-8",
    )
    env = {
        "DSOBRIDGE_DYNACCOUNT_API_KEY": sandbox.credentials.api_key,
        "DSOBRIDGE_DYNACCOUNT_API_SECRET": sandbox.credentials.api_secret,
        "DSOBRIDGE_MYDSO_PASSWORD": "unused",
    }
    return load_config(path, env=env)


def export(sandbox: DynaccountSandbox, config, directory: Path, *, select: bool):
    """A STOCK run with history, exported to ``directory``: (result, {file name: bytes}, recorded calls)."""
    with (
        Endpoints(config, dynaccount_transport=InProcessTransport(sandbox.app)) as ends,
        SqliteStateStore(directory.parent / f"{directory.name}.sqlite3") as state,
    ):
        source = Recording(ends.source)
        engine = SyncEngine(
            source,
            ends.sink,
            state,
            mapper=Mapper(config.mapping, config.users),
            page_size=config.dynaccount.page_size,
            today=TODAY,
            select=select,
        )
        result = engine.run(SyncOptions(mode="stock", history_months=6, export_dir=directory))
    files = {p.name: p.read_bytes() for p in sorted(directory.iterdir())}
    return result, files, source.calls


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_template_fields_names_every_field_a_template_reads():
    assert list(fields.template_fields("{name} ({zip})")) == ["name", "zip"]
    assert list(fields.template_fields("{row.attr}-{items[0]}-{txt:>{width}}")) == [
        "row",
        "items",
        "txt",
        "width",
    ]
    assert list(fields.template_fields("no field, {{escaped}}")) == []


def test_select_fields_are_the_base_set_plus_every_override_field():
    base = fields.select_fields()
    assert base["debtor_invoice"] == fields.INVOICE_FIELDS
    assert base["debtor_invoice_match"] == (
        "id",
        "invoice_id_",
        "creditnote_id_",
        "payment_id",
        "is_creditnote",
        "is_matched",
        "amount",
        "time",
    )
    assert "contact_user" not in base  # read whole: its field names are not public
    assert "txt" not in base["debtor_invoice"] and "ean" not in base["debtor"]
    custom = fields.select_fields(
        MappingConfig(
            client_fields={"client_field_perso2": "{ean}", "client_business_name": "{name}"},
            contact_fields={"contact_function": "{lang}"},
            item_fields={"item_business_case": "{credit_invoice_id_}/{txt}"},
            exclude_groups=("Koncern",),
            exclude_zero_balance=True,
        )
    )
    assert custom["debtor"] == (*fields.DEBTOR_FIELDS, "ean", "lang")
    for table, base_fields in (
        ("debtor_invoice", fields.INVOICE_FIELDS),
        ("debtor_creditnote", fields.CREDITNOTE_FIELDS),
        ("debtor_accounting_module", fields.PAYMENT_FIELDS),
    ):
        assert custom[table] == (*base_fields, "credit_invoice_id_", "txt")
    assert custom["debtor_invoice_match"] == base["debtor_invoice_match"]
    assert custom["contact"] == ("id", "module_id", "module_id_")
    # the filters' fields are in the base set
    assert {"module_id_", "module_group_name", "balance"} <= set(custom["debtor"])


def test_stock_export_with_select_equals_the_export_of_whole_rows(company, tmp_path):
    config = config_for(company, tmp_path)
    with_select, files, calls = export(company, config, tmp_path / "select", select=True)
    whole, whole_files, whole_calls = export(company, config, tmp_path / "whole", select=False)
    assert with_select.status == whole.status == "exported"
    assert with_select.open_count == whole.open_count > 0
    assert with_select.balance_ok and with_select.balance_checked == 40
    assert sorted(files) == [
        "clients_20261120.csv",
        "contacts_20261120.csv",
        "items-history_20261120.csv",
        "items_20261120.stock.csv",
    ]
    assert files == whole_files
    # every table but contact_user was asked for its field list, on every page
    expected = fields.select_fields()
    asked = {table: select for table, select in calls}
    assert asked == {**expected, "contact_user": None}
    assert all(select == expected.get(table) for table, select in calls)
    assert {select for _, select in whole_calls} == {None}
    assert not any("select=" in m for m in with_select.messages)


def test_an_override_outside_the_base_set_still_gets_its_value(company, tmp_path):
    mapping = """\
        [mapping.clients]
        client_field_perso2 = "{ean}"
        [mapping.items]
        item_business_case = "{credit_invoice_id_}"
        """
    config = config_for(company, tmp_path, mapping)
    result, files, calls = export(company, config, tmp_path / "select", select=True)
    assert result.status == "exported"
    # the values are Dynaccount's, read whole from the sandbox
    with Endpoints(config, dynaccount_transport=InProcessTransport(company.app)) as ends:
        ean = {str(d["module_id_"]): d["ean"] or "" for d in ends.source.iter_rows("debtor")}
        credited = {
            str(c["invoice_id_"]): "" if c["credit_invoice_id_"] is None else str(c["credit_invoice_id_"])
            for c in ends.source.iter_rows("debtor_creditnote")
        }
    clients = rows_of(files["clients_20261120.csv"])
    assert {r["client_code"]: r["client_field_perso2"] for r in clients} == ean
    assert sum(1 for v in ean.values() if v) > 0
    notes = [r for r in rows_of(files["items_20261120.stock.csv"]) if r["item_erp_type"] == "CREDITNOTE"]
    assert notes and all(r["item_business_case"] == credited[r["item_number"]] for r in notes)
    # debtor asked for ean; debtor_invoice and the payments do not have credit_invoice_id_: the sandbox
    # refused their field list once, and they were read whole (the run says so)
    debtor_selects = {select for table, select in calls if table == "debtor"}
    assert debtor_selects == {(*fields.DEBTOR_FIELDS, "ean")}
    invoice_selects = [select for table, select in calls if table == "debtor_invoice"]
    assert invoice_selects[0] == (*fields.INVOICE_FIELDS, "credit_invoice_id_") and None in invoice_selects
    assert {select for table, select in calls if table == "debtor_creditnote"} == {
        (*fields.CREDITNOTE_FIELDS, "credit_invoice_id_")
    }
    assert [m for m in result.messages if "select=" in m] == [
        "debtor_accounting_module: Dynaccount refused the field list (select=); read whole rows",
        "debtor_invoice: Dynaccount refused the field list (select=); read whole rows",
    ]
    _, whole_files, _ = export(company, config, tmp_path / "whole", select=False)
    assert files == whole_files


def test_the_comparison_catches_a_dropped_field(company, tmp_path, monkeypatch):
    config = config_for(company, tmp_path)
    _, whole_files, _ = export(company, config, tmp_path / "whole", select=False)
    monkeypatch.setattr(fields, "INVOICE_FIELDS", tuple(f for f in fields.INVOICE_FIELDS if f != "time_due"))
    result, files, _ = export(company, config, tmp_path / "short", select=True)
    assert result.status == "exported"
    assert files["clients_20261120.csv"] == whole_files["clients_20261120.csv"]
    short = rows_of(files["items_20261120.stock.csv"])
    whole = rows_of(whole_files["items_20261120.stock.csv"])
    assert files["items_20261120.stock.csv"] != whole_files["items_20261120.stock.csv"]
    # without time_due every invoice falls due on its issue date
    invoices = [r for r in short if r["item_erp_type"] == "INVOICE"]
    assert invoices and all(r["item_date_due"] == r["item_date_issue"] for r in invoices)
    assert any(r["item_date_due"] != r["item_date_issue"] for r in whole if r["item_erp_type"] == "INVOICE")
