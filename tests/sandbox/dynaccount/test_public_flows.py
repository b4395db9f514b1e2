"""The official library's own flows, driven by a client no one here wrote (``foreign_clients``: its own
signing), in-process and over a loopback socket — ``dynaccount-fields.md`` §B step by step:

- find the booking journal, create a voucher, insert its posting lines, book the journal (a customer payment);
- find or create a debtor with the library's full field set (``''`` for every "no value");
- an order with lines;
- a read-then-put-back on every populated table (the v5-era client's ``save``, and the whole row too).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from foreign_clients import Foreign, Library, sha1_hash, voucher_multipart
from spec_fields import COPY, read_only_fields

from dsobridge.sandbox.dynaccount import TABLES, DynaccountSandbox

READ_ONLY = read_only_fields(COPY.read_text(encoding="utf-8"))
# Webshop::get_debtor: every field the library sends
DEBTOR_FIELDS = [
    "module_id_",
    "module_group_name",
    "vatcode_name",
    "payment_name",
    "discount_percent",
    "payment_method",
    "bank_name",
    "name",
    "attention_name",
    "attention_position",
    "attention_phone",
    "attention_email",
    "address",
    "zip",
    "city",
    "ref_country_name",
    "phone",
    "email",
    "email_invoice",
    "email_statement",
    "vatno",
    "ean",
    "ean_contact",
    "lang",
    "ref_currency_name",
    "dlv_attention",
    "dlv_name",
    "dlv_address",
    "dlv_zip",
    "dlv_city",
    "dlv_ref_country_name",
    "dlv_phone",
    "dlv_email",
    "note",
    "credit_max",
    "invoicing_module_id_",
    "invoicing_module_attention",
]
ORDER_FIELDS = [
    "module_id_",
    "dimension_name",
    "time",
    "currency_name",
    "time_delivery",
    "discount_percent",
    "requisition",
    "lang",
    "attention",
    "address",
    "zip",
    "city",
    "ref_country_name",
    "dlv_attention",
    "dlv_name",
    "dlv_address",
    "dlv_zip",
    "dlv_city",
    "dlv_ref_country_name",
    "txt",
]
ORDER_LINE_FIELDS = (
    "order_id product_id_ vatcode_name product_type qty discount_type discount_value price name txt"
)


@pytest.fixture
def php(foreign: Foreign) -> Library:
    return Library(foreign)


def _ok(answer: tuple[int, dict]) -> list[dict]:
    status, payload = answer
    assert status == 200, payload
    return payload["result"]


def _accounting_row(
    enclosure_id: int, kind: str, account: int | str, amount: Decimal, invoice: object = ""
) -> dict:
    """Webshop::put_accounting: a debtor goes in accountoff_id_ with account_id_ ''; every other field ''."""
    accountoff: int | str = ""
    if kind != "LEDGER":
        accountoff, account = account, ""
    return {
        "enclosure_id": enclosure_id,
        "type": kind,
        "account_id_": account,
        "accountoff_id_": accountoff,
        "vatcode_name": "",
        "dimension_name": "",
        "dimensionoff_name": "",
        "invoice_id_": invoice,
        "invoice_time_due": "",
        "fi_payment_id_": "",
        "currency_name": "",
        "amount": amount,
        "currency_rate": "",
    }


def test_journal_voucher_lines_book(php: Library, sb: DynaccountSandbox) -> None:
    journal = _ok(php.get("draft", ["id"], {"name": "Kassekladde"}))[0]["id"]
    invoice = _ok(
        php.get(
            "debtor_invoice",
            ["id", "invoice_id_", "module_id_", "total_amount"],
            {"is_booked": "YES", "is_matched": "NO"},
            limit="0,1",
        )
    )[0]
    debtor = _ok(php.get("debtor", ["balance"], {"module_id_": invoice["module_id_"]}))[0]
    voucher = _ok(
        php.put(
            "enclosure",
            0,
            {
                "time": "11-19-2026",
                "draft_id": journal,
                "dimension_name": "",
                "enc_id_": "",
                "txt": "Betaling via bank",
                "note": "",
            },
        )
    )[0]
    assert (voucher["draft_id"], voucher["time"], voucher["is_booked"]) == (journal, "2026-11-19", "NO")
    paid = invoice["total_amount"] - Decimal("1.00")  # a partial payment
    lines = _ok(
        php.insert_bulk(
            "accounting",
            [
                _accounting_row(voucher["id"], "LEDGER", 5820, paid),
                _accounting_row(
                    voucher["id"], "DEBTOR_INVOICE", invoice["module_id_"], paid, invoice["invoice_id_"]
                ),
            ],
        )
    )
    assert [(line["type"], line["enclosure_id"], line["is_readonly"]) for line in lines] == [
        ("LEDGER", voucher["id"], "NO"),
        ("DEBTOR_INVOICE", voucher["id"], "NO"),
    ]
    assert _ok(php.get("enclosure", ["balance_amount"], {"id": voucher["id"]})) == [{"balance_amount": 0}]
    booked = _ok(php.action("book_draft", {"draft_id": journal}))
    assert [(v["id"], v["enc_id_"], v["is_booked"]) for v in booked] == [
        (voucher["id"], voucher["enc_id_"], "YES")
    ]
    assert [(line["accountoff_id_"], line["invoice_id_"]) for line in booked[0]["lines"]][1] == (
        invoice["module_id_"],
        invoice["invoice_id_"],
    )
    after = _ok(php.get("debtor_invoice", ["is_matched"], {"id": invoice["id"]}))[0]
    assert after == {"is_matched": "NO"}  # 1.00 still open
    balance = _ok(php.get("debtor", ["balance"], {"module_id_": invoice["module_id_"]}))[0]["balance"]
    assert balance == debtor["balance"] - paid
    posting = _ok(
        php.get("debtor_accounting_module", ["type", "currency_amount"], {"enc_id_": voucher["enc_id_"]})
    )
    assert posting == [{"type": "PAYMENT", "currency_amount": -paid}]
    assert sb.check_invariant() == []


def test_a_refused_line_leaves_nothing_and_the_voucher_is_deleted(php: Library) -> None:
    """On any error the library deletes the voucher again; the lines were all-or-nothing."""
    journal = _ok(php.get("draft", ["id"], {"name": "Kassekladde"}))[0]["id"]
    voucher = _ok(
        php.put("enclosure", 0, {"time": "1795042800", "draft_id": journal, "enc_id_": "", "txt": "x"})
    )[0]
    status, payload = php.insert_bulk(
        "accounting",
        [
            _accounting_row(voucher["id"], "LEDGER", 5820, Decimal("100.00")),
            _accounting_row(voucher["id"], "DEBTOR_INVOICE", 99999, Decimal("100.00")),
        ],
    )
    assert status == 400 and list(payload["error"]) == ["1"] and "accountoff_id_" in payload["error"]["1"]
    assert _ok(php.get("accounting", ["id"], {"enclosure_id": voucher["id"]})) == []
    assert _ok(php.delete("enclosure", voucher["id"])) == [{"id": voucher["id"]}]
    assert _ok(php.get("enclosure", ["id"], {"id": voucher["id"]})) == []


def test_find_or_create_a_debtor_with_the_full_field_set(php: Library) -> None:
    group = _ok(
        php.get(
            "debtor_group",
            ["payment_name", "vatcode_name", "ref_currency_name", "payment_method", "bank_name", "lang"],
            {"name": "Erhverv"},
        )
    )[0]
    assert group["payment_method"] == "BANK_ACCOUNT" and group["bank_name"]
    fields: dict[str, object] = dict.fromkeys(DEBTOR_FIELDS, "")
    fields.update(
        group, payment_method="BANK_ACCOUNT", lang="da", name="Webshop Kunde ApS", module_group_name="Erhverv"
    )
    found = _ok(php.get("debtor", ["id"], {"module_id_": ""}))
    assert found == []
    created = _ok(php.put("debtor", 0, fields))[0]  # module_id_ '': the next number, never 0
    top = _ok(php.get("debtor", ["module_id_"], {"order": "module_id_ desc"}, limit="0,1"))[0]["module_id_"]
    assert created["module_id_"] == top > 0
    assert (created["credit_max"], created["ref_currency_name"], created["payment_name"]) == (
        0,
        group["ref_currency_name"],
        group["payment_name"],
    )
    again = _ok(php.get("debtor", ["id"], {"module_id_": created["module_id_"]}))
    assert again == [{"id": created["id"]}]
    fields.update(module_id_=created["module_id_"], city="Odense C", credit_max="")
    updated = _ok(php.put("debtor", created["id"], fields))[0]
    assert (updated["id"], updated["module_id_"], updated["city"]) == (
        created["id"],
        created["module_id_"],
        "Odense C",
    )


@pytest.mark.parametrize("when", ["11-19-2026", "11-19-26", "1795042800", "2026-11-19"])
def test_an_order_with_lines(php: Library, when: str) -> None:
    debtor = _ok(php.get("debtor", ["module_id_"], limit="0,1"))[0]["module_id_"]
    order = _ok(
        php.put(
            "debtor_order",
            0,
            {
                **dict.fromkeys(ORDER_FIELDS, ""),
                "module_id_": debtor,
                "time": when,
                "lang": "da",
                "txt": "Webshop ordre",
            },
        )
    )[0]
    assert order["time"] == "2026-11-19" and order["order_id_"] >= 1
    line = dict.fromkeys(ORDER_LINE_FIELDS.split(), "")
    line.update(order_id=order["id"], product_id_=108, qty=2, discount_type="PERCENT", discount_value=10)
    added = _ok(php.put("debtor_order_product", 0, line))[0]
    assert (added["price"], added["name"]) == (Decimal("3299.00"), "Kontorstol Ergo")  # '' → the product's
    assert (added["total_amount"], added["vat_amount"]) == (Decimal("7422.75"), Decimal("1484.55"))
    total = _ok(php.get("debtor_order", ["total_amount", "vat_amount"], {"id": order["id"]}))[0]
    assert total == {"total_amount": Decimal("7422.75"), "vat_amount": Decimal("1484.55")}


def _populated(php: Library) -> dict[str, list[dict]]:
    out = {}
    for table in sorted(TABLES):
        rows = _ok(php.get(table, limit="0,25"))
        if rows:
            out[table] = rows
    return out


@pytest.mark.parametrize("style", ["without read-only fields", "whole row"])
def test_read_then_put_back_on_every_populated_table(php: Library, foreign: Foreign, style: str) -> None:
    mp = voucher_multipart(
        "bilag", "bogholder@firma.dk", [("kvittering.pdf", b"%PDF-1.4 x")], boundary="z" * 32
    )
    path = foreign.path("v7", "action", "upload_voucher")
    digest = sha1_hash(foreign.host + path, mp.hash_base, foreign.api_secret)
    foreign.send("POST", path, body=mp.body, headers={"Content-Type": mp.content_type, "X-Hash": digest})
    before = _populated(php)
    assert len(before) >= 35, sorted(before)
    for table, rows in before.items():
        for row in rows:
            fields = {
                k: v for k, v in row.items() if style == "whole row" or k not in READ_ONLY.get(table, ())
            }
            answer = _ok(php.put(table, row["id"], fields))
            assert answer == [row], table
    assert _populated(php) == before


def test_seeded_vouchers_are_what_booking_makes(sb: DynaccountSandbox) -> None:
    """Every seeded customer payment is a booked voucher of the payments journal: a bank line, a
    DEBTOR_INVOICE line for the debtor (naming the invoice it pays), and the PAYMENT posting with its
    number."""
    with sb.store.lock:
        rows = sb.store.conn.execute(
            "SELECT p.module_id_, p.currency_amount, e.is_booked, d.name, "
            "(SELECT group_concat(type || ':' || accountoff_id_ || ':' || amount, ' ') FROM accounting a "
            " WHERE a.enclosure_id = e.id), "
            "(SELECT count(*) FROM debtor_invoice_match m WHERE m.payment_id = p.id) "
            "FROM debtor_accounting_module p JOIN enclosure e ON e.enc_id_ = p.enc_id_ "
            "JOIN draft d ON d.id = e.draft_id WHERE p.type='PAYMENT'"
        ).fetchall()
        payments = sb.store.conn.execute("SELECT count(*) FROM debtor_accounting_module WHERE type='PAYMENT'")
        assert len(rows) == payments.fetchone()[0] > 0
    for module_no, currency_amount, booked, journal, lines, _matches in rows:
        assert (booked, journal) == ("YES", "Indbetalinger")
        assert lines == f"LEDGER:0:{-currency_amount} DEBTOR_INVOICE:{module_no}:{-currency_amount}"
