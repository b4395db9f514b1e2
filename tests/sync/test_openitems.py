"""The open-item rule and the balance invariant, on hand-made rows shaped like Dynaccount's."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsobridge.sync.openitems import (
    MatchSums,
    Mismatch,
    OpenItem,
    check_balances,
    money,
    open_items,
    order_text,
    payment_date,
    to_date,
)


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


# --- rows as the real API writes them -----------------------------------------------------------------------
# ``''`` for "no value" in amounts, ids, order numbers and dates (the seed's own answer has
# ``"accountoff_id_" : ""``), ``0000-00-00`` for no date, numbers as strings or as ints. Every field of the
# output is asserted: a field that is computed but never checked can silently change.

D = Decimal


def messy_invoice(**changes):
    row = {
        "id": "2001",
        "module_id_": "10001",
        "invoice_id_": "1001",
        "time": "2026-10-01",
        "time_due": "0000-00-00",
        "total_amount": "1250.50",
        "vat_amount": "250.10",
        "currency_name": "EUR",
        "is_booked": "YES",
        "is_matched": "NO",
        "order_id_": 0,
        "txt": "Rådgivning oktober",
        "accountoff_id_": "",
    }
    return {**row, **changes}


def messy_note(**changes):
    row = {
        "id": 3001,
        "module_id_": 10001,
        "invoice_id_": 501,
        "credit_invoice_id_": "",
        "time": "2026-10-05 00:00:00",
        "time_due": "2026-11-05",
        "total_amount": 300,
        "vat_amount": 0,
        "currency_name": " DKK ",
        "is_booked": "yes",
        "is_matched": "",
        "order_id_": "PO-7",
        "txt": None,
    }
    return {**row, **changes}


def messy_payment(**changes):
    row = {
        "id": "9001",
        "module_id_": " 10002 ",
        "type": "PAYMENT",
        "enc_id_": "",
        "time": "2026-10-10 12:30:00",
        "time_due": "",
        "currency_name": "DKK",
        "currency_amount": "-1000",
        "is_matched": "NO",
        "txt": "Indbetaling",
    }
    return {**row, **changes}


def messy_match(**fields):
    row = {"invoice_id_": "", "creditnote_id_": "", "payment_id": "", "is_creditnote": "NO", "time": ""}
    return {**row, **fields}


def only(items):
    (item,) = items
    return item


@pytest.mark.parametrize(
    ("time_due", "due"),
    [
        ("0000-00-00", date(2026, 10, 1)),  # no due date: due when issued
        ("", date(2026, 10, 1)),
        (None, date(2026, 10, 1)),
        ("0000-00-00 00:00:00", date(2026, 10, 1)),
        ("2026-10-31", date(2026, 10, 31)),
        ("2026-10-31 00:00:00", date(2026, 10, 31)),
    ],
)
def test_messy_invoice_every_field(time_due, due):
    row = messy_invoice(time_due=time_due)
    matches = [
        messy_match(invoice_id_="1001", amount="250.50", payment_id="77", time="2026-10-15"),
        messy_match(invoice_id_=1001, amount=100),  # a payment match without a payment id
        messy_match(invoice_id_="", creditnote_id_="", amount="999.00"),  # matched to no invoice
    ]
    item = only(open_items(invoices=[row], creditnotes=[], payments=[], matches=matches))
    assert item == OpenItem(
        kind="INVOICE",
        debtor="10001",
        number=1001,
        source_id=2001,
        issue_date=date(2026, 10, 1),
        due_date=due,
        currency="EUR",
        initial=D("1250.50"),
        remaining=D("900.00"),
        vat=D("250.10"),
        order_number="",
        text="Rådgivning oktober",
        payment_date=None,
        row=row,
    )
    assert item.row is row and item.unique_key == "INVOICE-1001"


@pytest.mark.parametrize(
    ("order_id_", "expected"), [(0, ""), ("0", ""), ("", ""), (None, ""), (4711, "4711"), (" PO-9 ", "PO-9")]
)
def test_order_numbers_as_the_api_writes_them(order_id_, expected):
    item = only(
        open_items(invoices=[messy_invoice(order_id_=order_id_)], creditnotes=[], payments=[], matches=[])
    )
    assert item.order_number == expected


@pytest.mark.parametrize(
    ("vat_amount", "vat"),
    [("", None), (None, None), ("0.00", D("0.00")), ("-0.00", D("0.00")), (250, D("250"))],
)
def test_an_invoice_without_vat_or_with_zero_vat(vat_amount, vat):
    item = only(
        open_items(invoices=[messy_invoice(vat_amount=vat_amount)], creditnotes=[], payments=[], matches=[])
    )
    assert item.vat == vat and str(item.vat) == str(vat)  # "-0.00" from the API is written as 0.00
    assert item.remaining == D("1250.50") and item.initial == D("1250.50")


def test_a_credit_note_with_vat_carries_it_negative():
    item = only(
        open_items(invoices=[], creditnotes=[messy_note(vat_amount="60.00")], payments=[], matches=[])
    )
    assert (item.initial, item.remaining, item.vat) == (D("-300"), D("-300"), D("-60.00"))


def test_messy_credit_note_every_field():
    row = messy_note()
    matches = [
        messy_match(invoice_id_=1001, creditnote_id_="501", is_creditnote="YES", amount="100.00"),
        messy_match(invoice_id_="", creditnote_id_=501, is_creditnote="YES", amount="50"),
        messy_match(creditnote_id_="", is_creditnote="YES", amount="7.00"),  # to no credit note
    ]
    item = only(open_items(invoices=[], creditnotes=[row], payments=[], matches=matches))
    assert item == OpenItem(
        kind="CREDITNOTE",
        debtor="10001",
        number=501,
        source_id=3001,
        issue_date=date(2026, 10, 5),
        due_date=date(2026, 10, 5),  # a credit note is due when issued, whatever its time_due says
        currency="DKK",
        initial=D("-300"),
        remaining=D("-150.00"),
        vat=D("0"),
        order_number="",  # credit notes carry no order number
        text="",
        payment_date=None,
        row=row,
    )
    assert str(item.vat) == "0"  # not "-0": a zero stays unsigned when the sign is applied
    assert item.unique_key == "CREDITNOTE-501"


def test_messy_payment_every_field():
    row = messy_payment()
    matches = [
        messy_match(invoice_id_="1001", payment_id="9001", amount="200.00"),
        messy_match(invoice_id_=1002, payment_id=9001, amount=300),
        messy_match(invoice_id_="1003", payment_id="", amount="55.00"),  # to no payment
    ]
    item = only(open_items(invoices=[], creditnotes=[], payments=[row], matches=matches))
    assert item == OpenItem(
        kind="PAYMENT",
        debtor="10002",
        number=0,  # no voucher number
        source_id=9001,
        issue_date=date(2026, 10, 10),
        due_date=date(2026, 10, 10),
        currency="DKK",
        initial=D("-1000"),
        remaining=D("-500.00"),
        vat=None,
        order_number="",
        text="Indbetaling",
        payment_date=None,
        row=row,
    )
    assert item.unique_key == "PAYMENT-9001"


def test_which_postings_are_open_payments():
    payments = [
        messy_payment(id="1", type="LEDGER"),  # not a payment: skipped, the next ones still read
        messy_payment(id="2", is_matched="YES"),
        messy_payment(id="3", currency_amount=""),  # no amount: nothing open
        messy_payment(id="4", type="payment", enc_id_="77"),
        {k: v for k, v in messy_payment(id="5", enc_id_=78).items() if k != "type"},  # no type: a payment
        messy_payment(id="6", currency_amount="250.00", txt=""),  # the sign as booked does not matter
    ]
    items = list(open_items(invoices=[], creditnotes=[], payments=payments, matches=[]))
    assert [(i.source_id, i.number, i.initial, i.remaining, i.text) for i in items] == [
        (4, 77, D("-1000"), D("-1000"), "Indbetaling"),
        (5, 78, D("-1000"), D("-1000"), "Indbetaling"),
        (6, 0, D("-250.00"), D("-250.00"), ""),
    ]


def test_a_document_without_a_number_takes_no_match():
    rows = [messy_invoice(invoice_id_="", id=1), messy_invoice(invoice_id_=0, id=2)]
    matches = [messy_match(invoice_id_="", amount="1000.00"), messy_match(invoice_id_=0, amount="1.00")]
    items = list(open_items(invoices=rows, creditnotes=[], payments=[], matches=matches))
    assert [(i.number, i.source_id, i.remaining) for i in items] == [
        (0, 1, D("1250.50")),
        (0, 2, D("1250.50")),
    ]


def test_match_sums_count_numbered_documents_only():
    sums = MatchSums.of(
        [
            messy_match(invoice_id_="1001", payment_id="77", amount="10.00"),
            messy_match(invoice_id_=1001, payment_id=77, amount=5),
            messy_match(invoice_id_="1001", creditnote_id_="501", is_creditnote="YES", amount="1.50"),
            messy_match(invoice_id_="", creditnote_id_=501, is_creditnote=True, amount="2.50"),
            messy_match(invoice_id_="", creditnote_id_="", is_creditnote="YES", amount="100"),
            messy_match(invoice_id_="", payment_id="", amount=""),
        ]
    )
    assert sums == MatchSums(
        invoice={1001: D("16.50")}, creditnote={501: D("4.00")}, payment={77: D("15.00")}
    )


@pytest.mark.parametrize(
    ("make", "kind", "what", "number"),
    [
        (lambda t: messy_invoice(time=t), "invoices", "invoice", "1001"),
        (lambda t: messy_note(time=t), "creditnotes", "credit note", "501"),
        (lambda t: messy_payment(time=t), "payments", "payment posting", "9001"),
    ],
)
@pytest.mark.parametrize("time", ["0000-00-00", "", None])
def test_a_booked_document_without_a_date_is_an_error(make, kind, what, number, time):
    extracts = {"invoices": [], "creditnotes": [], "payments": [], "matches": [], kind: [make(time)]}
    with pytest.raises(ValueError) as info:
        list(open_items(**extracts))
    assert str(info.value) == f"booked {what} {number} has no date"


def test_booked_and_matched_flags_as_written():
    rows = [
        messy_invoice(id=1, is_booked="NO"),
        messy_invoice(id=2, is_booked=""),
        messy_invoice(id=3, is_matched="YES"),
        messy_invoice(id=4, is_matched="yes"),
        messy_invoice(id=5, is_booked=True, is_matched=False),
        messy_invoice(id=6, is_booked=" YES ", is_matched="NO"),
    ]
    items = list(open_items(invoices=rows, creditnotes=[], payments=[], matches=[]))
    assert [i.source_id for i in items] == [5, 6]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("12.50"), D("12.50")),
        ("12.50", D("12.50")),
        (" -3.10 ", D("-3.10")),
        (1250, D("1250")),
        (0.1, D("0.1")),  # a float keeps its printed digits
        ("", D("0.00")),
        (None, D("0.00")),
    ],
)
def test_money(value, expected):
    result = money(value)
    assert result == expected and str(result) == str(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-01", date(2026, 10, 1)),
        ("2026-10-01 12:30:00", date(2026, 10, 1)),
        (" 2026-10-01 ", date(2026, 10, 1)),
        (date(2026, 10, 1), date(2026, 10, 1)),
        (datetime(2026, 10, 1, 12, 30), date(2026, 10, 1)),
        ("0000-00-00", None),
        ("0000-00-00 00:00:00", None),
        ("", None),
        (None, None),
    ],
)
def test_to_date(value, expected):
    result = to_date(value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"), [(0, ""), ("0", ""), ("", ""), (None, ""), (" 17 ", "17"), (18, "18")]
)
def test_order_text(value, expected):
    assert order_text(value) == expected


def test_payment_date_ignores_matches_without_a_date():
    matches = [messy_match(time="2026-10-02"), messy_match(time="0000-00-00"), messy_match(time="2026-09-30")]
    assert payment_date([*matches, messy_match(time="")]) == date(2026, 10, 2)
    assert payment_date([messy_match(time="0000-00-00"), messy_match(time="")]) is None


def test_check_balances_in_debtor_number_order_with_missing_sides_as_zero():
    sums = {"10": D("5.00"), "9": D("1.00"), "B2": D("3.00"), "A1": D("2.00"), "09": D("4.00")}
    balances = {"9": D("0.00"), "10": D("5.00"), "100": D("7.00")}
    assert check_balances(sums, balances) == [
        Mismatch("09", D("0.00"), D("4.00")),
        Mismatch("9", D("0.00"), D("1.00")),
        Mismatch("100", D("7.00"), D("0.00")),
        Mismatch("A1", D("0.00"), D("2.00")),  # debtor codes that are not numbers come last, by name
        Mismatch("B2", D("0.00"), D("3.00")),
    ]
