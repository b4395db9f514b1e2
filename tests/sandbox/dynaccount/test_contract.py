"""The contract suite: the sandbox driven with DynaccountClient, in-process and over a loopback socket."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dsobridge.dynaccount import AuthError, DynaccountClient, NotFound, ValidationError
from dsobridge.sandbox.dynaccount import DynaccountSandbox


def _new_debtor(client: DynaccountClient, **fields: object) -> dict:
    return client.put("debtor", 0, {"name": "Kontrakt Test ApS", **fields})


def _pay(
    client: DynaccountClient, module_no: int, amount: Decimal, invoice_no: int | None, when: dt.date
) -> dict:
    """A customer payment as the official library books one: journal → voucher → lines → book_draft."""
    journal = client.get("draft", select=["id"], where={"name": "Indbetalinger"})[0]["id"]
    voucher = client.put("enclosure", 0, {"time": when, "draft_id": journal, "enc_id_": "", "txt": "Bank"})
    client.insert_bulk(
        "accounting",
        [
            {"enclosure_id": voucher["id"], "type": "LEDGER", "account_id_": 5820, "amount": amount},
            {
                "enclosure_id": voucher["id"],
                "type": "DEBTOR_INVOICE",
                "account_id_": "",
                "accountoff_id_": module_no,
                "invoice_id_": invoice_no or "",
                "amount": amount,
            },
        ],
    )
    booked = client.action("book_draft", {"draft_id": journal})
    assert [row["id"] for row in booked] == [voucher["id"]] and booked[0]["is_booked"] == "YES"
    return booked[0]


def _booked_invoice(client: DynaccountClient, module_no: int, when: dt.date, qty: int = 2) -> dict:
    draft = client.put("debtor_invoice", 0, {"module_id_": module_no, "time": when})
    client.put("debtor_invoice_product", 0, {"invoice_id": draft["id"], "product_id_": 101, "qty": qty})
    return client.action("book_debtor_invoice", {"id": draft["id"]})[0]


def test_get_select_order_limit_and_metadata(client: DynaccountClient, reach) -> None:
    rows = client.get("vatcode", select=["name", "percent"], order="name desc", limit=(1, 2))
    assert rows == [{"name": "U0", "percent": Decimal("0.00")}, {"name": "REP", "percent": Decimal("25.00")}]
    http = reach.http()
    from sandbox_dynaccount_kit import signed_v5

    target, body = signed_v5(
        reach.sb, http.base_url.netloc.decode(), "get", "vatcode", query="order=name&limit=0%2C2"
    )
    payload = http.post(
        target, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    ).json()
    http.close()
    assert [r["name"] for r in payload["result"]] == ["EI25", "EU25"]
    meta = payload["metadata"]
    assert (meta["page"], meta["offset"], meta["num"], meta["order"]) == (1, 2, 2, "name")
    assert isinstance(meta["request_time"], float)


def test_where_filters_and_multi_field_order(client: DynaccountClient, sb: DynaccountSandbox) -> None:
    debtor = client.get("debtor", select=["module_id_"], where={"module_group_name": "Udland"}, limit=(0, 1))[
        0
    ]
    rows = client.get(
        "debtor_invoice",
        select=["invoice_id_", "time", "is_booked"],
        where={"module_id_": debtor["module_id_"], "is_booked": True},
        order=["time desc", "invoice_id_ desc"],
    )
    assert rows, "the seeded foreign debtor has invoices"
    keys = [(r["time"], r["invoice_id_"]) for r in rows]
    assert keys == sorted(keys, reverse=True)
    assert {r["is_booked"] for r in rows} == {"YES"}
    with sb.store.lock:
        expected = sb.store.conn.execute(
            "SELECT count(*) FROM debtor_invoice WHERE module_id_=? AND is_booked='YES'",
            (debtor["module_id_"],),
        ).fetchone()[0]
    assert len(rows) == expected


def test_get_by_id_and_not_found(client: DynaccountClient) -> None:
    assert client.get("currency", 2, select=["name", "rate"]) == [{"name": "EUR", "rate": Decimal("746.00")}]
    with pytest.raises(NotFound):
        client.get("currency", 999)
    with pytest.raises(NotFound):
        client.get("no_such_table")


# The "Tables" list of the seed (004_9cafe73f332c336e.txt), in its order.
SEED_TABLES = [
    "account",
    "accounting",
    "accounting_bank",
    "bank",
    "bank_recon",
    "contact",
    "contact_user",
    "creditor",
    "creditor_accounting_module",
    "creditor_group",
    "creditor_invoice",
    "creditor_invoice_match",
    "creditor_invoice_product",
    "creditor_order",
    "creditor_order_product",
    "creditor_order_product_serialno",
    "currency",
    "data_voucher",
    "debtor",
    "debtor_accounting_module",
    "debtor_creditnote",
    "debtor_creditnote_product",
    "debtor_creditnote_product_list",
    "debtor_group",
    "debtor_group_product_discount",
    "debtor_group_product_group_discount",
    "debtor_invoice",
    "debtor_invoice_match",
    "debtor_invoice_product",
    "debtor_invoice_product_list",
    "debtor_order",
    "debtor_order_product",
    "debtor_order_product_list",
    "debtor_order_product_serialno",
    "debtor_product_discount",
    "debtor_product_group_discount",
    "debtor_reminder",
    "debtor_quote",
    "debtor_quote_product",
    "debtor_quote_product_list",
    "debtor_subscription",
    "debtor_subscription_group",
    "debtor_subscription_group_product",
    "debtor_subscription_group_product_list",
    "debtor_subscription_product",
    "debtor_subscription_product_list",
    "dimension",
    "draft",
    "enclosure",
    "followup",
    "location",
    "opportunity",
    "payment",
    "product",
    "product_currency",
    "product_group",
    "product_list",
    "product_list_product",
    "product_supplier",
    "stock_adjustment",
    "unit",
    "vatcode",
    "year",
    "year_period",
]


def test_all_64_tables_are_addressable(client: DynaccountClient) -> None:
    from dsobridge.sandbox.dynaccount import TABLES

    assert len(SEED_TABLES) == 64 and sorted(TABLES) == sorted(SEED_TABLES)
    for name in SEED_TABLES:
        rows = client.get(name, limit=(0, 1))
        assert len(rows) <= 1
        if rows:  # a row answers exactly the table's public fields, starting with its id
            assert list(rows[0]) == list(TABLES[name].public) and isinstance(rows[0]["id"], int)
        assert client.get(name, select=["id"], where={"id": 0}) == []


def test_wrong_key_and_wrong_secret_are_401(reach) -> None:
    with reach.client(api_key="b" * 40) as bad_key, pytest.raises(AuthError) as err:
        bad_key.get("vatcode")
    assert err.value.status == 401
    assert err.value.error == {"auth": "Unknown API_ID or API_KEY"}
    with reach.client(api_secret="c" * 40) as bad_secret, pytest.raises(AuthError) as err:
        bad_secret.get("vatcode")
    assert err.value.error == {"hash": "Invalid hash"}
    assert reach.sb.credentials.api_key not in str(err.value)


def test_v7_layout_get_and_put(reach) -> None:
    with reach.client(version="v7") as v7:
        created = v7.put("debtor", 0, {"name": "Syv ApS", "vatno": "29403473"})
        assert v7.get("debtor", created["id"], select=["name", "vatno"]) == [
            {"name": "Syv ApS", "vatno": "29403473"}
        ]


def test_put_validation_errors_per_field(client: DynaccountClient) -> None:
    with pytest.raises(ValidationError) as err:
        client.put(
            "debtor",
            0,
            {
                "name": "X",
                "colour": "red",
                "balance": "1.00",
                "credit_max": "abc",
                "payment_name": "Netto 99 dage",
            },
        )
    assert err.value.status == 400
    assert err.value.errors == {  # balance is read-only in the real API: sent anyway, it is ignored
        "colour": "Unknown field 'colour' in table 'debtor'",
        "credit_max": "Must be an amount with at most two decimals, like 1250.50",
        "payment_name": "No payment with name 'Netto 99 dage'",
    }
    with pytest.raises(ValidationError) as err:
        client.put("debtor_invoice", 0, {"module_id_": 99999})
    assert err.value.errors == {"module_id_": "No debtor with module_id_ '99999'"}


def test_put_update_and_delete(client: DynaccountClient) -> None:
    debtor = _new_debtor(client, email="a@b.dk")
    updated = client.put("debtor", debtor["id"], {"city": "Vejle", "zip": "7100"})
    assert (updated["id"], updated["city"], updated["zip"], updated["email"]) == (
        debtor["id"],
        "Vejle",
        "7100",
        "a@b.dk",
    )
    assert client.delete("debtor", debtor["id"]) == [{"id": debtor["id"]}]
    with pytest.raises(NotFound):
        client.get("debtor", debtor["id"])


def test_insert_bulk_all_or_nothing(client: DynaccountClient) -> None:
    rows = client.insert_bulk("unit", [{"name": "pakke"}, {"name": "palle"}])
    assert [r["name"] for r in rows] == ["pakke", "palle"]
    before = len(client.get("unit"))
    with pytest.raises(ValidationError) as err:
        client.insert_bulk("unit", [{"name": "kasse"}, {"name": "stk"}, {"nam": "x"}])
    assert err.value.errors == {
        1: {"name": "A unit with name 'stk' already exists"},
        2: {"nam": "Unknown field 'nam' in table 'unit'"},
    } or err.value.errors == {
        "1": {"name": "A unit with name 'stk' already exists"},
        "2": {"nam": "Unknown field 'nam' in table 'unit'"},
    }
    assert len(client.get("unit")) == before


def test_invoice_credit_and_payment_lifecycle(client: DynaccountClient) -> None:
    debtor = _new_debtor(client, payment_name="Løbende måned + 30 dage")
    invoice = _booked_invoice(client, debtor["module_id_"], dt.date(2026, 9, 10))
    assert invoice["total_amount"] == Decimal("2375.00")
    assert invoice["vat_amount"] == Decimal("475.00")
    assert invoice["time_due"] == "2026-10-30"  # end of September + 30 days
    assert (invoice["is_booked"], invoice["is_matched"]) == ("YES", "NO")
    posting = client.get("debtor_accounting_module", where={"invoice_id_": invoice["invoice_id_"]})[0]
    assert (posting["type"], posting["amount"], posting["time_due"]) == (
        "INVOICE",
        Decimal("2375.00"),
        "2026-10-30",
    )
    assert client.get("debtor", debtor["id"], select=["balance", "due"]) == [
        {"balance": Decimal("2375.00"), "due": Decimal("2375.00")}
    ]
    note = client.action("credit_debtor_invoice", {"invoice_id": invoice["id"], "amount": Decimal("375.00")})[
        0
    ]
    assert (note["credit_invoice_id_"], note["total_amount"], note["vat_amount"]) == (
        invoice["invoice_id_"],
        Decimal("375.00"),
        Decimal("75.00"),
    )
    assert note["invoice_id_"] == invoice["invoice_id_"] + 1
    booked = _pay(
        client, debtor["module_id_"], Decimal("1000.00"), invoice["invoice_id_"], dt.date(2026, 11, 1)
    )
    assert [(line["type"], line["accountoff_id_"], line["invoice_id_"]) for line in booked["lines"]] == [
        ("LEDGER", "", ""),
        ("DEBTOR_INVOICE", debtor["module_id_"], invoice["invoice_id_"]),
    ]
    posting = client.get("debtor_accounting_module", where={"enc_id_": booked["enc_id_"]})
    assert [(r["type"], r["amount"], r["is_matched"], r["txt"]) for r in posting] == [
        ("PAYMENT", Decimal("-1000.00"), "YES", "Bank")
    ]
    inv = client.get(
        "debtor_invoice", invoice["id"], select=["is_matched", "is_credited", "is_credited_complete"]
    )
    assert inv == [{"is_matched": "NO", "is_credited": "YES", "is_credited_complete": "NO"}]
    assert client.get("debtor", debtor["id"], select=["balance", "due"]) == [
        {"balance": Decimal("1000.00"), "due": Decimal("1000.00")}
    ]
    _pay(client, debtor["module_id_"], Decimal("1200.00"), invoice["invoice_id_"], dt.date(2026, 11, 2))
    assert client.get("debtor_invoice", invoice["id"], select=["is_matched"]) == [{"is_matched": "YES"}]
    matches = client.get("debtor_invoice_match", where={"invoice_id_": invoice["invoice_id_"]}, order="id")
    assert [(m["amount"], m["is_creditnote"], m["is_matched"]) for m in matches] == [
        (Decimal("375.00"), "YES", "YES"),
        (Decimal("1000.00"), "NO", "YES"),
        (Decimal("1000.00"), "NO", "NO"),
    ]
    # 200.00 of the last payment is unallocated: the debtor is in credit
    assert client.get("debtor", debtor["id"], select=["balance"]) == [{"balance": Decimal("-200.00")}]
    open_pay = client.get(
        "debtor_accounting_module",
        where={"module_id_": debtor["module_id_"], "type": "PAYMENT", "is_matched": False},
    )
    assert [p["currency_amount"] for p in open_pay] == [Decimal("-1200.00")]


def test_booked_invoice_is_locked(client: DynaccountClient) -> None:
    debtor = _new_debtor(client)
    invoice = _booked_invoice(client, debtor["module_id_"], dt.date(2026, 11, 1))
    with pytest.raises(ValidationError) as err:
        client.put("debtor_invoice", invoice["id"], {"time": dt.date(2026, 11, 2)})
    assert err.value.errors == {"time": "A booked invoice cannot be changed"}
    # total_amount is read-only in the real API: a put that sends it is not refused, the value is ignored
    assert client.put("debtor_invoice", invoice["id"], {"total_amount": "1.00"}) == invoice
    with pytest.raises(ValidationError) as err:
        client.put("vatcode", 1, {"account_name": "Noget andet"})  # our own read-only field, changed
    assert err.value.errors == {"account_name": "Read-only field"}
    with pytest.raises(ValidationError) as err:
        client.delete("debtor_invoice", invoice["id"])
    assert err.value.errors == {
        "id": "A booked invoice cannot be deleted; credit it with credit_debtor_invoice"
    }
    with pytest.raises(ValidationError):
        client.put("debtor_invoice_match", 0, {"amount": "1.00"})


def test_eur_debtor_amounts_in_document_currency(client: DynaccountClient) -> None:
    debtor = _new_debtor(client, ref_currency_name="EUR", vatcode_name="U0", ref_country_name="DE")
    invoice = _booked_invoice(client, debtor["module_id_"], dt.date(2026, 11, 1), qty=1)
    assert (invoice["currency_name"], invoice["currency_rate"], invoice["total_amount"]) == (
        "EUR",
        Decimal("746.00"),
        Decimal("950.00"),
    )
    posting = client.get("debtor_accounting_module", where={"invoice_id_": invoice["invoice_id_"]})[0]
    assert (posting["amount"], posting["currency_amount"]) == (Decimal("7087.00"), Decimal("950.00"))
    with pytest.raises(ValidationError) as err:
        client.put("debtor_invoice", 0, {"module_id_": debtor["module_id_"], "currency_name": "DKK"})
    assert err.value.errors == {"currency_name": "Must be the debtor's currency (EUR)"}


def test_numbering_actions_and_convert_currency(client: DynaccountClient) -> None:
    top = client.get("debtor", select=["module_id_"], order="module_id_ desc", limit=(0, 1))[0]["module_id_"]
    assert client.action("get_next_module_id_") == [{"module_id_": top + 1}]
    enc = client.action("get_next_enc_id_")[0]["enc_id_"]
    top_enc = client.get("debtor_accounting_module", select=["enc_id_"], order="enc_id_ desc", limit=(0, 1))
    assert enc == top_enc[0]["enc_id_"] + 1
    converted = client.action(
        "convert_currency", {"from_currency": "EUR", "to_currency": "DKK", "amount": "10.00"}
    )
    assert converted[0]["converted_amount"] == Decimal("74.60")
    assert converted[0]["rate"] == Decimal("746.000000")


def test_unsupported_and_unknown_actions(client: DynaccountClient) -> None:
    with pytest.raises(ValidationError) as err:
        client.action("close_year", {"year": 2025})
    assert err.value.status == 400
    assert err.value.error == {"action": "Action 'close_year' is not supported by the sandbox"}
    with pytest.raises(NotFound):
        client.action("make_coffee")


# The "Actions" list of the seed, and the ones the issue requires to have real effects (+ empty_draft).
SEED_ACTIONS = """activate_debtor_subscription activate_debtor_subscription_group approve_creditor_order
approve_debtor_order attach_transaction attach_voucher book_creditor_invoice book_debtor_invoice book_draft
charge_subscription_group close_year complete_followup convert_currency credit_debtor_invoice
deactivate_debtor_subscription deactivate_debtor_subscription_group delete_reminder detach_voucher
disapprove_creditor_order disapprove_debtor_order empty_draft get_next_enc_id_ get_next_module_id_
incomplete_followup invoice_creditor_order invoice_debtor_order reopen_year send_creditor_order
send_debtor_account_statements send_debtor_creditnote send_debtor_creditnote_ean send_debtor_invoice
send_debtor_invoice_ean send_debtor_order send_debtor_quote send_debtor_reminder set_opportunity_status
transfer_quote_order""".split()  # noqa: SIM905
EMULATED = {
    "book_debtor_invoice",
    "credit_debtor_invoice",
    "send_debtor_invoice",
    "get_next_module_id_",
    "get_next_enc_id_",
    "book_draft",
    "convert_currency",
    "empty_draft",
    "complete_followup",
    "incomplete_followup",
    "set_opportunity_status",
}


def test_every_other_seed_action_is_refused_by_name(client: DynaccountClient, sb: DynaccountSandbox) -> None:
    assert len(SEED_ACTIONS) == 38 and set(sb.actions.handlers) == EMULATED
    for name in sorted(set(SEED_ACTIONS) - EMULATED):
        with pytest.raises(ValidationError) as err:
            client.action(name, {"id": 1})
        assert (err.value.status, err.value.error) == (
            400,
            {"action": f"Action '{name}' is not supported by the sandbox"},
        )


def test_send_invoice_records_outbox_with_pdf(client: DynaccountClient, sb: DynaccountSandbox) -> None:
    debtor = _new_debtor(client, email_invoice="faktura@kontrakt.dk")
    invoice = _booked_invoice(client, debtor["module_id_"], dt.date(2026, 11, 1))
    result = client.action(
        "send_debtor_invoice", {"invoice_id": invoice["id"], "msg": "Hej", "is_attached": "YES"}
    )
    assert {k: result[0][k] for k in ("invoice_id", "invoice_id_", "email", "is_sent")} == {
        "invoice_id": invoice["id"],
        "invoice_id_": invoice["invoice_id_"],
        "email": "faktura@kontrakt.dk",
        "is_sent": "YES",
    }
    with sb.store.lock:
        row = sb.store.conn.execute(
            "SELECT email, msg, pdf FROM _outbox WHERE id=?", (result[0]["outbox_id"],)
        ).fetchone()
    assert row[0:2] == ("faktura@kontrakt.dk", "Hej")
    assert bytes(row[2]).startswith(b"%PDF-")


def test_document_and_reports_are_pdfs(client: DynaccountClient) -> None:
    number = client.get("debtor_invoice", select=["invoice_id_"], where={"is_booked": True}, limit=(0, 1))[0][
        "invoice_id_"
    ]
    pdf = client.document("invoice", number)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    with pytest.raises(NotFound):
        client.document("invoice", 999999)
    for name in (
        "ledger_balance",
        "ledger_cards",
        "module_ledger_balance",
        "module_ledger_cards",
        "module_turnover",
    ):
        report = client.report(
            name, "da", {"time_from": dt.date(2026, 1, 1), "time_to": dt.date(2026, 3, 31)}
        )
        assert report.startswith(b"%PDF-"), name
    with pytest.raises(NotFound):
        client.report("profit_and_loss", "da")


def test_upload_voucher_stores_data_voucher(client: DynaccountClient, sb: DynaccountSandbox) -> None:
    rows = client.upload_voucher(
        "Kvittering", [("kvittering.pdf", b"%PDF-1.4 test"), ("foto.jpg", b"\xff\xd8jpeg")], "Jens"
    )
    assert [(r["label"], r["from_name"], r["file_name"], r["mime"], r["file_size"]) for r in rows] == [
        ("Kvittering", "Jens", "kvittering.pdf", "application/pdf", 13),
        ("Kvittering", "Jens", "foto.jpg", "image/jpeg", 6),
    ]
    with sb.store.lock:
        data = sb.store.conn.execute(
            "SELECT _data FROM data_voucher WHERE id=?", (rows[1]["id"],)
        ).fetchone()[0]
    assert bytes(data) == b"\xff\xd8jpeg"


def test_iter_rows_pages_the_whole_table(client: DynaccountClient, sb: DynaccountSandbox) -> None:
    ids = [r["id"] for r in client.iter_rows("debtor_invoice", select=["id"], page_size=70)]
    with sb.store.lock:
        expected = [r[0] for r in sb.store.conn.execute("SELECT id FROM debtor_invoice ORDER BY id")]
    assert ids == expected


def test_order_and_quote_documents(client: DynaccountClient) -> None:
    debtor = _new_debtor(client)
    for kind, table, line_table, fk, number_field in (
        ("order", "debtor_order", "debtor_order_product", "order_id", "order_id_"),
        ("quote", "debtor_quote", "debtor_quote_product", "quote_id", "quote_id_"),
    ):
        doc = client.put(table, 0, {"module_id_": debtor["module_id_"], "txt": f"Test {kind}"})
        client.put(line_table, 0, {fk: doc["id"], "product_id_": 108, "qty": 3})
        stored = client.get(table, doc["id"], select=[number_field, "total_amount", "vat_amount"])[0]
        assert stored["total_amount"] == Decimal("12371.25")  # 3 × 3,299.00 + 25 % VAT
        assert stored["vat_amount"] == Decimal("2474.25")
        assert client.document(kind, stored[number_field]).startswith(b"%PDF-")


def test_v7_document_report_and_upload(reach) -> None:
    with reach.client(version="v7") as v7:
        number = v7.get("debtor_invoice", select=["invoice_id_"], where={"is_booked": True}, limit=(0, 1))
        assert v7.document("invoice", number[0]["invoice_id_"]).startswith(b"%PDF-")
        assert v7.report("module_turnover", "en", {"time_from": dt.date(2026, 1, 1)}).startswith(b"%PDF-")
        rows = v7.upload_voucher("Bilag", [("faktura.txt", b"hello")], "mail@firma.dk")
        assert [(r["file_name"], r["mime"], r["file_size"]) for r in rows] == [
            ("faktura.txt", "text/plain", 5)
        ]


def test_reprs_never_show_secrets(sb: DynaccountSandbox) -> None:
    creds = sb.credentials
    for text in (repr(creds), str(creds), repr(sb), repr(sb.faults)):
        assert creds.api_key not in text and creds.api_secret not in text
