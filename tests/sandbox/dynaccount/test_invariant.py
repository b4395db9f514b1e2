"""Property: after any sequence of bookings, payments (partial, full, over, on account), credit notes
(partial, full) for DKK/EUR/USD debtors, Σ open remaining per debtor — recomputed here from the raw rows
fetched through the API — equals ``debtor.balance``, and the derived flags agree with the open-item rule.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_dynaccount_kit import SANDBOX_HOST, TODAY

from dsobridge.dynaccount import DynaccountClient, RetryPolicy, ValidationError
from dsobridge.sandbox import InProcessTransport
from dsobridge.sandbox.dynaccount import DynaccountSandbox

CURRENCIES = ("DKK", "EUR", "USD")
debtor_index = st.integers(0, len(CURRENCIES) - 1)
pick = st.integers(0, 50)
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
operation = st.one_of(
    st.tuples(st.just("invoice"), debtor_index, st.integers(1, 9), st.integers(0, 90)),
    st.tuples(st.just("pay_full"), pick),
    st.tuples(st.just("pay_part"), pick, st.integers(1, 99)),
    st.tuples(st.just("overpay"), pick, money),
    st.tuples(st.just("on_account"), debtor_index, money),
    st.tuples(st.just("credit_full"), pick),
    st.tuples(st.just("credit_part"), pick, money),
    st.tuples(st.just("advance"), st.integers(1, 40)),
)


def _pay(client: DynaccountClient, module_no: int, amount: Decimal, invoice_no: int | None) -> None:
    """A payment booked as one line: the bank in account_id_, the debtor credited in accountoff_id_."""
    journal = client.get("draft", select=["id"], where={"name": "Kassekladde"})[0]["id"]
    voucher = client.put("enclosure", 0, {"draft_id": journal, "txt": "Bank"})
    line = {"enclosure_id": voucher["id"], "type": "DEBTOR_INVOICE", "account_id_": 5820}
    line.update(accountoff_id_=module_no, invoice_id_=invoice_no or "", amount=amount)
    client.insert_bulk("accounting", [line])
    client.action("book_draft", {"id": journal})


def _apply(
    client: DynaccountClient,
    sb: DynaccountSandbox,
    debtors: list[int],
    invoices: list[tuple[int, int]],
    op: tuple,
) -> None:
    kind = op[0]
    if kind == "invoice":
        _, who, qty, age = op
        draft = client.put(
            "debtor_invoice", 0, {"module_id_": debtors[who], "time": sb.today - dt.timedelta(days=age)}
        )
        client.put("debtor_invoice_product", 0, {"invoice_id": draft["id"], "product_id_": 104, "qty": qty})
        booked = client.action("book_debtor_invoice", {"id": draft["id"]})[0]
        invoices.append((booked["invoice_id_"], booked["module_id_"]))
        return
    if kind == "advance":
        sb.today = sb.today + dt.timedelta(days=op[1])
        return
    if kind == "on_account":
        _pay(client, debtors[op[1]], op[2], None)
        return
    if not invoices:
        return
    number, module_no = invoices[op[1] % len(invoices)]
    remaining = client.get("debtor_invoice", where={"invoice_id_": number}, select=["total_amount"])[0]
    if kind in ("pay_full", "pay_part", "overpay"):
        matched = sum(m["amount"] for m in client.get("debtor_invoice_match", where={"invoice_id_": number}))
        left = remaining["total_amount"] - matched
        if kind == "pay_full":
            amount = left
        elif kind == "pay_part":
            amount = (left * op[2] / 100).quantize(Decimal("0.01"))
        else:
            amount = left + op[2]
        if amount <= 0:
            return
        _pay(client, module_no, amount, number)
        return
    row_id = client.get("debtor_invoice", where={"invoice_id_": number}, select=["id"])[0]["id"]
    params = {"invoice_id": row_id}
    if kind == "credit_part":
        params["amount"] = op[2]
    try:
        client.action("credit_debtor_invoice", params)
    except ValidationError as exc:  # over-crediting or nothing left: refused, and nothing may have changed
        assert set(exc.errors) == {"amount"}


def _check(client: DynaccountClient, today: dt.date) -> None:
    matches = list(client.iter_rows("debtor_invoice_match"))
    by_invoice: dict[int, Decimal] = defaultdict(Decimal)
    by_note: dict[int, Decimal] = defaultdict(Decimal)
    by_payment: dict[int, Decimal] = defaultdict(Decimal)
    for m in matches:
        assert m["amount"] > 0
        by_invoice[m["invoice_id_"]] += m["amount"]
        if m["is_creditnote"] == "YES":
            by_note[m["creditnote_id_"]] += m["amount"]
        else:
            by_payment[m["payment_id"]] += m["amount"]
    balance: dict[int, Decimal] = defaultdict(Decimal)
    due: dict[int, Decimal] = defaultdict(Decimal)
    remaining_of: dict[tuple[str, int], Decimal] = {}
    for inv in client.iter_rows("debtor_invoice", where={"is_booked": True}):
        left = inv["total_amount"] - by_invoice[inv["invoice_id_"]]
        assert left >= 0
        assert inv["is_matched"] == ("YES" if left == 0 else "NO")
        remaining_of[("inv", inv["invoice_id_"])] = left
        balance[inv["module_id_"]] += left
        if left and inv["time_due"] < today.isoformat():
            due[inv["module_id_"]] += left
    for note in client.iter_rows("debtor_creditnote", where={"is_booked": True}):
        left = note["total_amount"] - by_note[note["invoice_id_"]]
        assert left >= 0
        assert note["is_matched"] == ("YES" if left == 0 else "NO")
        remaining_of[("cn", note["invoice_id_"])] = left
        balance[note["module_id_"]] -= left
    for pay in client.iter_rows("debtor_accounting_module", where={"type": "PAYMENT"}):
        left = -pay["currency_amount"] - by_payment[pay["id"]]
        assert left >= 0
        assert pay["is_matched"] == ("YES" if left == 0 else "NO")
        remaining_of[("pay", pay["id"])] = left
        balance[pay["module_id_"]] -= left
    for m in matches:
        source = ("cn", m["creditnote_id_"]) if m["is_creditnote"] == "YES" else ("pay", m["payment_id"])
        still_open = remaining_of[("inv", m["invoice_id_"])] or remaining_of[source]
        assert m["is_matched"] == ("NO" if still_open else "YES")
    # the sync engine's extraction filters select exactly the open set
    open_invoices = {
        r["invoice_id_"]
        for r in client.iter_rows("debtor_invoice", where={"is_booked": True, "is_matched": False})
    }
    assert open_invoices == {n for (k, n), v in remaining_of.items() if k == "inv" and v}
    for debtor in client.iter_rows("debtor", select=["module_id_", "balance", "due"]):
        assert debtor["balance"] == balance[debtor["module_id_"]], debtor
        assert debtor["due"] == due[debtor["module_id_"]], debtor


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=14))
def test_balance_equals_open_items(ops: list[tuple]) -> None:
    sb = DynaccountSandbox(today=TODAY)
    transport = InProcessTransport(sb.app)
    creds = sb.credentials
    try:
        with DynaccountClient(
            creds.api_id,
            creds.api_key,
            creds.api_secret,
            base_url=f"http://{SANDBOX_HOST}",
            transport=transport,
            retry=RetryPolicy.never(),
        ) as client:
            debtors = [
                client.put(
                    "debtor",
                    0,
                    {
                        "name": f"Debitor {cur}",
                        "ref_currency_name": cur,
                        "payment_name": "Løbende måned + 30 dage",
                    },
                )["module_id_"]
                for cur in CURRENCIES
            ]
            invoices: list[tuple[int, int]] = []
            for op in ops:
                _apply(client, sb, debtors, invoices, op)
            _check(client, sb.today)
    finally:
        transport.close()
        sb.close()


def test_seeded_company_satisfies_the_invariant(sb: DynaccountSandbox, client: DynaccountClient) -> None:
    _check(client, sb.today)
    assert sb.check_invariant() == []


def test_advance_keeps_the_invariant(sb: DynaccountSandbox) -> None:
    counts = sb.advance(days=30, seed=5)
    assert counts["invoices"] > 0 and counts["payments"] > 0 and counts["partial_payments"] > 0
    assert counts["creditnotes"] >= 1
    assert sb.today == TODAY + dt.timedelta(days=30)
    transport = InProcessTransport(sb.app)
    creds = sb.credentials
    with DynaccountClient(
        creds.api_id,
        creds.api_key,
        creds.api_secret,
        base_url=f"http://{SANDBOX_HOST}",
        transport=transport,
        retry=RetryPolicy.never(),
    ) as client:
        _check(client, sb.today)
    transport.close()


@pytest.mark.parametrize("days", [1, 3])
def test_advance_on_a_tiny_company_still_pays_and_credits(empty_sb: DynaccountSandbox, days: int) -> None:
    empty_sb.seed(debtors=2, invoices=3, seed=9)
    counts = empty_sb.advance(days=days, seed=1)
    assert counts["invoices"] >= days
    assert counts["payments"] >= 1 and counts["partial_payments"] >= 1 and counts["creditnotes"] >= 1
    assert empty_sb.check_invariant() == []
