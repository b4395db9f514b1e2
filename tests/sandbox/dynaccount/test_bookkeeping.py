"""Journal (draft) → voucher (enclosure) → posting lines (accounting) → book_draft, with DynaccountClient:
partial, full and over-payments, payments on account, the voucher's balance, line errors, deletion while
unbooked, the webhooks of lines and of the booking."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sandbox_dynaccount_kit import Receiver

from dsobridge.dynaccount import DynaccountClient, NotFound, ValidationError
from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.dynaccount import TABLES, DynaccountSandbox


def _journal(client: DynaccountClient, name: str = "Kassekladde") -> int:
    return client.get("draft", select=["id"], where={"name": name})[0]["id"]


def _open_invoice(client: DynaccountClient, currency: str = "DKK") -> dict:
    for invoice in client.iter_rows("debtor_invoice", where={"is_booked": True, "is_matched": False}):
        if invoice["currency_name"] == currency and not client.get(
            "debtor_invoice_match", where={"invoice_id_": invoice["invoice_id_"]}, select=["id"]
        ):
            return invoice
    raise AssertionError(f"no untouched open {currency} invoice")


def _voucher(
    client: DynaccountClient, journal: int, *lines: dict, when: dt.date = dt.date(2026, 11, 18)
) -> dict:
    voucher = client.put("enclosure", 0, {"draft_id": journal, "time": when, "txt": "Indbetaling"})
    client.insert_bulk("accounting", [{"enclosure_id": voucher["id"], **line} for line in lines])
    return voucher


def _payment(
    module_no: int, amount: Decimal, invoice_no: int | str = "", currency: str = "DKK"
) -> tuple[dict, dict]:
    """The bank debited (in the payment's currency), the debtor credited: a two-line payment voucher."""
    return (
        {"type": "LEDGER", "account_id_": 5820, "amount": amount, "currency_name": currency},
        {"type": "DEBTOR_INVOICE", "accountoff_id_": module_no, "invoice_id_": invoice_no, "amount": amount},
    )


def _remaining(client: DynaccountClient, invoice: dict) -> Decimal:
    matched = sum(
        m["amount"] for m in client.get("debtor_invoice_match", where={"invoice_id_": invoice["invoice_id_"]})
    )
    return invoice["total_amount"] - matched


@pytest.mark.parametrize(("share", "on_account"), [("0.4", "0.00"), ("1", "0.00"), ("1.25", "0.25")])
def test_partial_full_and_over_payment(
    client: DynaccountClient, sb: DynaccountSandbox, share: str, on_account: str
) -> None:
    invoice = _open_invoice(client)
    total = invoice["total_amount"]
    amount = (total * Decimal(share)).quantize(Decimal("0.01"))
    journal = _journal(client)
    voucher = _voucher(client, journal, *_payment(invoice["module_id_"], amount, invoice["invoice_id_"]))
    booked = client.action("book_draft", {"draft_id": journal})
    assert [v["id"] for v in booked] == [voucher["id"]]
    payment = client.get("debtor_accounting_module", where={"enc_id_": voucher["enc_id_"]})[0]
    assert (payment["type"], payment["currency_amount"], payment["time"]) == (
        "PAYMENT",
        -amount,
        "2026-11-18",
    )
    matched = client.get("debtor_invoice_match", where={"payment_id": payment["id"]})
    assert [m["amount"] for m in matched] == [min(amount, total)]
    assert _remaining(client, invoice) == max(total - amount, Decimal(0))
    flags = client.get("debtor_invoice", invoice["id"], select=["is_matched"])[0]["is_matched"]
    assert flags == ("YES" if amount >= total else "NO")
    open_payments = client.get(
        "debtor_accounting_module",
        where={"module_id_": invoice["module_id_"], "type": "PAYMENT", "is_matched": False},
    )
    assert (payment["id"] in [p["id"] for p in open_payments]) == (on_account != "0.00")
    assert sb.check_invariant() == []


def test_payment_on_account_and_one_line_voucher(client: DynaccountClient, sb: DynaccountSandbox) -> None:
    debtor = client.get("debtor", select=["module_id_", "balance"], limit=(0, 1))[0]
    journal = _journal(client)
    one_line = {"type": "DEBTOR_INVOICE", "account_id_": 5820, "accountoff_id_": debtor["module_id_"]}
    voucher = _voucher(client, journal, {**one_line, "amount": Decimal("500.00")})
    assert client.get("enclosure", voucher["id"], select=["balance_amount"]) == [
        {"balance_amount": Decimal("0.00")}
    ]
    client.action("book_draft", {"id": journal})
    payment = client.get("debtor_accounting_module", where={"enc_id_": voucher["enc_id_"]})[0]
    assert (payment["is_matched"], payment["currency_amount"]) == ("NO", Decimal("-500.00"))
    balance = client.get("debtor", where={"module_id_": debtor["module_id_"]}, select=["balance"])[0][
        "balance"
    ]
    assert balance == debtor["balance"] - Decimal("500.00")
    assert sb.check_invariant() == []


def test_a_voucher_must_balance_and_name_a_payable_invoice(client: DynaccountClient) -> None:
    invoice = _open_invoice(client)
    journal = _journal(client)
    lonely = _voucher(
        client,
        journal,
        {"type": "DEBTOR_INVOICE", "accountoff_id_": invoice["module_id_"], "amount": "10.00"},
    )
    with pytest.raises(ValidationError) as err:
        client.action("book_draft", {"draft_id": journal})
    assert err.value.errors == {
        str(lonely["id"]): {
            "balance_amount": f"Voucher {lonely['enc_id_']} does not balance (difference -10.00 DKK)"
        }
    }
    client.delete("enclosure", lonely["id"])
    other = client.get("debtor", select=["module_id_"], where={"module_group_name": "Koncern"}, limit=(0, 1))
    with pytest.raises(ValidationError) as err:
        _voucher(client, journal, *_payment(other[0]["module_id_"], Decimal("1.00"), invoice["invoice_id_"]))
    assert err.value.errors == {
        1: {"invoice_id_": f"Invoice {invoice['invoice_id_']} belongs to another debtor"}
    }
    with pytest.raises(ValidationError) as err:
        client.insert_bulk(
            "accounting",
            [
                {"enclosure_id": 0, "type": "LEDGER", "account_id_": 5820, "amount": "1"},
                {
                    "enclosure_id": 0,
                    "type": "DEBTOR_INVOICE",
                    "accountoff_id_": invoice["module_id_"],
                    "amount": "-1",
                },
            ],
        )
    assert set(err.value.errors) == {0, 1}  # errors keyed by line; nothing inserted


def test_lines_of_a_booked_voucher_are_locked(client: DynaccountClient) -> None:
    invoice = _open_invoice(client)
    journal = _journal(client)
    voucher = _voucher(
        client, journal, *_payment(invoice["module_id_"], Decimal("5.00"), invoice["invoice_id_"])
    )
    line = client.get("accounting", where={"enclosure_id": voucher["id"]}, order="id")[0]
    client.put(
        "accounting", line["id"], {"amount": "6.00"}
    )  # unbooked: lines change, the voucher re-balances
    assert client.get("enclosure", voucher["id"], select=["balance_amount"])[0]["balance_amount"] == Decimal(
        "1.00"
    )
    client.put("accounting", line["id"], {"amount": "5.00"})
    client.action("book_draft", {"draft_id": journal})
    with pytest.raises(ValidationError):
        client.put("accounting", line["id"], {"amount": "7.00"})
    with pytest.raises(ValidationError):
        client.delete("enclosure", voucher["id"])
    again = client.get("accounting", line["id"])[0]
    assert client.put("accounting", line["id"], again) == again  # sent back unchanged: fine
    with pytest.raises(ValidationError):
        client.action("book_draft", {"draft_id": journal})  # nothing left to book


def test_empty_draft_and_unknown_journals(client: DynaccountClient) -> None:
    journal = client.put("draft", 0, {"name": "Bank import"})["id"]
    _voucher(client, journal, *_payment(10001, Decimal("1.00")))
    client.put("enclosure", 0, {"draft_id": journal})  # a voucher without lines stays in the journal
    assert client.action("empty_draft", {"draft_id": journal}) == [{"draft_id": journal, "deleted": 2}]
    assert client.get("enclosure", where={"draft_id": journal}) == []
    with pytest.raises(NotFound):
        client.action("book_draft", {"draft_id": 999999})
    with pytest.raises(ValidationError) as err:
        client.action("book_draft")
    assert err.value.errors == {"draft_id": "Required parameter"}
    with pytest.raises(ValidationError) as err:
        client.put("enclosure", 0, {"draft_id": 999999})
    assert err.value.errors == {"draft_id": "No draft with id 999999"}


def test_a_eur_payment_is_in_the_debtors_currency(client: DynaccountClient, sb: DynaccountSandbox) -> None:
    invoice = _open_invoice(client, "EUR")
    journal = _journal(client)
    amount = invoice["total_amount"]
    with pytest.raises(ValidationError) as err:
        _voucher(
            client,
            journal,
            {
                "type": "DEBTOR_INVOICE",
                "account_id_": 5820,
                "accountoff_id_": invoice["module_id_"],
                "amount": amount,
                "currency_name": "DKK",
            },
        )
    assert err.value.errors == {0: {"currency_name": "Must be the debtor's currency (EUR)"}}
    voucher = _voucher(
        client, journal, *_payment(invoice["module_id_"], amount, invoice["invoice_id_"], "EUR")
    )
    lines = client.get("accounting", where={"enclosure_id": voucher["id"]}, order="id")
    assert [(line["currency_name"], line["currency_rate"]) for line in lines][1] == ("EUR", Decimal("746.00"))
    assert lines[1]["currency_amount"] == (amount * Decimal("7.46")).quantize(Decimal("0.01"))
    client.action("book_draft", {"draft_id": journal})
    assert client.get("debtor_invoice", invoice["id"], select=["is_matched"]) == [{"is_matched": "YES"}]
    assert sb.check_invariant() == []


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    with LoopbackServer(rec.app) as server:
        yield rec, f"{server.url}/hook/"


def test_webhooks_for_lines_and_for_the_booking(
    client: DynaccountClient, sb: DynaccountSandbox, receiver: tuple[Receiver, str]
) -> None:
    rec, url = receiver
    sb.subscribe_webhook(url, "accounting", "insert")
    sb.subscribe_webhook(url, "book_draft", "action")
    invoice = _open_invoice(client)
    journal = _journal(client)
    voucher = _voucher(
        client, journal, *_payment(invoice["module_id_"], Decimal("3.00"), invoice["invoice_id_"])
    )
    client.action("book_draft", {"draft_id": journal})
    assert sb.webhooks.wait_idle(5)
    lines = client.get("accounting", where={"enclosure_id": voucher["id"]}, order="id")
    bodies = [json.loads(body) for body, _ in rec.received]
    inserts = [b for b in bodies if b["table"] == "accounting"]
    assert [(b["method"], b["result"]["id"], b["result"]["is_readonly"]) for b in inserts] == [
        ("insert", line["id"], "NO") for line in lines
    ]
    assert list(inserts[1]["result"]) == list(TABLES["accounting"].public)  # the line as get returns it
    assert (inserts[1]["result"]["accountoff_id_"], inserts[1]["result"]["invoice_id_"]) == (
        invoice["module_id_"],
        invoice["invoice_id_"],
    )
    action = [b for b in bodies if b["table"] == "book_draft"]
    assert len(action) == 1 and action[0]["method"] == "action"
    (booked,) = action[0]["result"]
    assert (booked["id"], booked["enc_id_"], booked["is_booked"]) == (
        voucher["id"],
        voucher["enc_id_"],
        "YES",
    )
    debtor_lines = [line for line in booked["lines"] if line["type"] == "DEBTOR_INVOICE"]
    assert [(line["accountoff_id_"], line["invoice_id_"]) for line in debtor_lines] == [
        (invoice["module_id_"], invoice["invoice_id_"])
    ]
