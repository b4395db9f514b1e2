"""Property: for any sequence of STOCK/DELTA imports, the sandbox's items equal a simple reference model, and
the as-of open amount the ledger computes from the stored events agrees with the model on every import day."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mydso_sandbox_helpers import CLIENTS, item, items_csv

from dsobridge.receivables import Event, Item, open_amount
from dsobridge.sandbox.mydso import ImportOptions, MyDsoSandbox

START = date(2025, 6, 30)


@dataclass(frozen=True)
class Row:
    number: int
    amount: str
    remaining: str  # "" = same as amount
    paid_days_ago: int | None  # item_date_payment = import date - n
    bad: bool  # an unreadable amount: rejected, but still "present" for STOCK


rows_strategy = st.builds(
    Row,
    number=st.integers(1, 6),
    amount=st.sampled_from(["100.00", "250.50", "-40.00", "1 234,56"]),
    remaining=st.sampled_from(["", "0.00", "10.00", "99.99"]),
    paid_days_ago=st.one_of(st.none(), st.integers(0, 20)),
    bad=st.sampled_from([False, False, False, True]),
)
step_strategy = st.tuples(st.booleans(), st.lists(rows_strategy, max_size=8), st.integers(0, 3))


def canonical(text: str) -> str:
    return {"1 234,56": "1234.56"}.get(text, text)


def apply_model(state: dict[int, tuple[str, str | None]], stock: bool, rows: list[Row], today: date) -> None:
    present: set[int] = set()
    for row in rows:
        if row.number in present:
            continue  # a duplicate key: the first row decides
        present.add(row.number)
        if row.bad:
            continue
        if row.paid_days_ago is not None:
            state[row.number] = ("0.00", (today - timedelta(days=row.paid_days_ago)).isoformat())
        else:
            state[row.number] = (canonical(row.remaining or row.amount), None)
    if stock:
        for number, (_, payment) in list(state.items()):
            if payment is None and number not in present:
                state[number] = ("0.00", today.isoformat())


def csv_for(rows: list[Row], today: date) -> bytes:
    return items_csv(
        *(
            item(
                str(row.number),
                "x" if row.bad else row.amount,
                remaining=row.remaining,
                issue="2025-01-15",
                payment=""
                if row.paid_days_ago is None
                else (today - timedelta(days=row.paid_days_ago)).isoformat(),
            )
            for row in rows
        )
    )


def ledger_items(sb: MyDsoSandbox) -> list[Item]:
    conn = sb.store.connect()
    try:
        found = []
        for key, number, issue, due, initial, payment in conn.execute(
            "SELECT item_key, item_number, issue_date, due_date, amount_initial, payment_date FROM item"
        ):
            events = tuple(
                Event(date.fromisoformat(d), Decimal(a), date.fromisoformat(p) if p else None, kind)
                for d, a, p, kind in conn.execute(
                    "SELECT effective_date, amount_remaining, payment_date, kind FROM item_event "
                    "WHERE item_key = ? ORDER BY id",
                    (key,),
                )
            )
            found.append(
                Item(key=key, client_code="C0001", item_type="FAC", issue_date=date.fromisoformat(issue),
                     due_date=date.fromisoformat(due), currency="DKK", amount_initial=Decimal(initial),
                     item_number=number, payment_date=date.fromisoformat(payment) if payment else None,
                     events=events)
            )  # fmt: skip
        return found
    finally:
        conn.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step_strategy, min_size=1, max_size=6))
def test_any_sequence_of_imports_matches_the_reference_model(steps) -> None:
    sb = MyDsoSandbox(accounts={"acme": "pw"}, today=START)
    try:
        sb.import_file("acme", "clients", io.BytesIO(CLIENTS))
        model: dict[int, tuple[str, str | None]] = {}
        for stock, rows, advance in steps:
            sb.advance(advance)
            report = sb.import_file(
                "acme", "items", io.BytesIO(csv_for(rows, sb.today)), ImportOptions(stock=stock)
            )
            if not rows:
                assert report["error_code"] == "CSV_EMPTY"
                continue
            assert report["success"], report
            apply_model(model, stock, rows, sb.today)
            conn = sb.store.connect()
            stored = {
                int(number): (remaining, payment)
                for number, remaining, payment in conn.execute(
                    "SELECT item_number, amount_remaining, payment_date FROM item"
                )
            }
            conn.close()
            assert stored == model
            assert (
                report["rows"]
                == report["added"] + report["updated"] + report["unchanged"] + report["rejected"]
            )
            for ledger_item in ledger_items(sb):
                expected = model[int(ledger_item.item_number)]
                wanted = Decimal("0") if expected[1] is not None else Decimal(expected[0])
                assert open_amount(ledger_item, sb.today) == wanted, (ledger_item, expected)
    finally:
        sb.close()
