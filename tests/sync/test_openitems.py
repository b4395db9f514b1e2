"""The open-item rule and the balance invariant, on hand-made rows shaped like Dynaccount's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dsobridge.sync.guards import GuardRefusal, check_drop, check_stock_complete, drop_share
from dsobridge.sync.openitems import Mismatch, check_balances, open_items, payment_date


def inv(number, total, *, debtor=10001, matched="NO", booked="YES", due="2026-10-31", order_id_=""):
    return {
        "id": number * 10,
        "module_id_": debtor,
        "invoice_id_": number,
        "time": "2026-10-01",
        "time_due": due,
        "total_amount": Decimal(total),
        "vat_amount": Decimal(total) / 5,
        "currency_name": "DKK",
        "is_booked": booked,
        "is_matched": matched,
        "order_id_": order_id_,
    }


def note(number, total, *, debtor=10001, matched="NO"):
    return {
        "id": number * 10,
        "module_id_": debtor,
        "invoice_id_": number,
        "credit_invoice_id_": 0,
        "time": "2026-10-05",
        "total_amount": Decimal(total),
        "vat_amount": None,
        "currency_name": "DKK",
        "is_booked": "YES",
        "is_matched": matched,
    }


def pay(posting, amount, *, debtor=10001, enc=7, matched="NO"):
    return {
        "id": posting,
        "module_id_": debtor,
        "type": "PAYMENT",
        "enc_id_": enc,
        "time": "2026-10-10",
        "time_due": "",
        "currency_name": "DKK",
        "currency_amount": -Decimal(amount),
        "is_matched": matched,
    }


def match(invoice, amount, *, payment=0, creditnote=0, time="2026-10-10"):
    return {
        "invoice_id_": invoice,
        "amount": Decimal(amount),
        "is_creditnote": "YES" if creditnote else "NO",
        "creditnote_id_": creditnote,
        "payment_id": payment,
        "time": time,
        "is_matched": "NO",
    }


def test_remaining_per_kind_and_signs():
    items = list(
        open_items(
            invoices=[
                inv(1001, "1250.00"),
                inv(1002, "500.00", order_id_="PO-9"),
                inv(1003, "10.00", matched="YES"),
            ],
            creditnotes=[note(1004, "300.00")],
            payments=[pay(55, "1000.00"), pay(56, "20.00", matched="YES")],
            matches=[
                match(1002, "200.00", payment=55),
                match(1002, "100.00", creditnote=1004),
                match(1001, "0.50", payment=99),
            ],
        )
    )
    assert [(i.unique_key, i.initial, i.remaining) for i in items] == [
        ("INVOICE-1001", Decimal("1250.00"), Decimal("1249.50")),
        ("INVOICE-1002", Decimal("500.00"), Decimal("200.00")),
        ("CREDITNOTE-1004", Decimal("-300.00"), Decimal("-200.00")),
        ("PAYMENT-55", Decimal("-1000.00"), Decimal("-800.00")),
    ]
    assert items[1].order_number == "PO-9"
    assert items[0].due_date == date(2026, 10, 31) and items[2].due_date == date(2026, 10, 5)
    assert items[0].vat == Decimal("250.00") and items[2].vat is None
    assert items[3].number == 7 and items[3].issue_date == date(2026, 10, 10)


def test_unbooked_and_fully_matched_rows_are_not_open():
    items = list(
        open_items(
            invoices=[inv(1001, "100.00", booked="NO"), inv(1002, "100.00")],
            creditnotes=[],
            payments=[pay(5, "100.00")],
            matches=[match(1002, "100.00", payment=5)],
        )
    )
    assert items == []  # 1002 and the payment cancel out exactly, even though flagged open


def test_payment_date_is_the_latest_match():
    assert payment_date([match(1, "1", time="2026-10-02"), match(1, "1", time="2026-11-03")]) == date(
        2026, 11, 3
    )
    assert payment_date([]) is None


def test_check_balances_lists_exactly_the_debtors_that_disagree():
    sums = {"10001": Decimal("100.00"), "10002": Decimal("-5.00")}
    balances = {"10001": Decimal("100.00"), "10002": Decimal("5.00"), "10003": Decimal("1.00")}
    assert check_balances(sums, balances) == [
        Mismatch("10002", Decimal("5.00"), Decimal("-5.00")),
        Mismatch("10003", Decimal("1.00"), Decimal("0.00")),
    ]
    assert check_balances(sums, balances)[0].difference == Decimal("10.00")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 500_000), st.lists(st.integers(1, 200_000), max_size=3)),
        min_size=1,
        max_size=8,
    )
)
def test_sum_of_open_items_is_the_balance(docs):
    """Σ remaining of the open items == Σ totals − Σ allocations (cents, any partial payments)."""
    invoices, matches, expected = [], [], Decimal(0)
    for n, (total_cents, allocations) in enumerate(docs, start=1001):
        total = Decimal(total_cents) / 100
        used = Decimal(0)
        for cents in allocations:
            amount = min(Decimal(cents) / 100, total - used)
            if amount > 0:
                matches.append(match(n, str(amount), payment=1))
                used += amount
        invoices.append(inv(n, str(total), matched="YES" if used == total else "NO"))
        expected += total - used
    items = list(open_items(invoices=invoices, creditnotes=[], payments=[], matches=matches))
    assert sum((i.remaining for i in items), Decimal(0)) == expected
    assert all(i.remaining > 0 for i in items)


def test_guards():
    assert drop_share(100, 60) == Decimal("0.4")
    assert drop_share(100, 120) == 0 and drop_share(0, 5) == 0
    check_drop(100, Decimal("1000"), 71, Decimal("700"))  # 29 % / 30 %: allowed
    try:
        check_drop(100, Decimal("1000"), 69, Decimal("1000"))
    except GuardRefusal as exc:
        assert "open items 100 → 69 (−31%)" in str(exc)
    else:
        raise AssertionError("a 31 % drop must be refused")
    try:
        check_drop(100, Decimal("1000.00"), 100, Decimal("500.00"))
    except GuardRefusal as exc:
        assert "open total 1000.00 → 500.00 (−50%)" in str(exc)
    else:
        raise AssertionError("a 50 % drop of the total must be refused")
    check_drop(100, Decimal("1000"), 1, Decimal("1"), force=True)
    check_stock_complete([])
    check_stock_complete(["10001"], force=True)
    try:
        check_stock_complete(["10001", "10002"])
    except GuardRefusal as exc:
        assert str(exc).startswith("2 client(s) skipped (10001, 10002)")
    else:
        raise AssertionError("skipped clients must refuse a STOCK items file")
