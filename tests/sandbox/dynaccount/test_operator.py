"""Operator endpoints under /_sandbox/ (no auth), in-process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import httpx2
import pytest
from sandbox_dynaccount_kit import SANDBOX_HOST, TODAY

from dsobridge.sandbox import InProcessTransport
from dsobridge.sandbox.dynaccount import DynaccountSandbox


@pytest.fixture
def op(sb: DynaccountSandbox) -> Iterator[httpx2.Client]:
    transport = InProcessTransport(sb.app)
    with httpx2.Client(base_url=f"http://{SANDBOX_HOST}", transport=transport) as client:
        yield client
    transport.close()


def _count(sb: DynaccountSandbox, table: str) -> int:
    with sb.store.lock:
        return sb.store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608


def test_reset_and_seed(op: httpx2.Client, sb: DynaccountSandbox) -> None:
    assert op.post("/_sandbox/reset").json() == {"ok": True}
    assert (_count(sb, "debtor"), _count(sb, "debtor_invoice"), _count(sb, "currency")) == (0, 0, 6)
    answer = op.post("/_sandbox/seed", json={"debtors": 12, "invoices": 90, "seed": 5}).json()
    assert (answer["counts"]["debtor"], answer["counts"]["debtor_invoice"]) == (12, 90)
    assert _count(sb, "debtor") == 12
    bad = op.post("/_sandbox/seed", json={"debtors": "many"})
    assert (bad.status_code, bad.json()) == (
        400,
        {"error": {"request": "'debtors' must be an integer between 0 and 1000000"}},
    )
    assert op.post("/_sandbox/seed", content=b"{not json").status_code == 400
    opened = op.post("/_sandbox/seed", json={"debtors": 5, "invoices": 100, "open_share": 1}).json()
    assert opened["counts"]["debtor_invoice"] == 100 and sb.open_item_count() >= 100
    assert op.post("/_sandbox/seed", json={"open_share": 2}).status_code == 400


def test_clock_moves_due(op: httpx2.Client, sb: DynaccountSandbox) -> None:
    assert op.get("/_sandbox/clock").json() == {"today": "2026-11-20"}
    with sb.store.lock:
        before = sb.store.conn.execute("SELECT sum(due) FROM debtor").fetchone()[0]
    assert op.post("/_sandbox/clock", json={"today": "2027-06-30"}).json() == {"today": "2027-06-30"}
    assert sb.today == dt.date(2027, 6, 30)
    with sb.store.lock:
        after, _balance = sb.store.conn.execute("SELECT sum(due), sum(balance) FROM debtor").fetchone()
        open_total = sb.store.conn.execute(
            "SELECT sum(_remaining) FROM debtor_invoice WHERE is_booked='YES'"
        ).fetchone()[0]
    assert after > before and after == open_total  # everything is overdue by then
    assert op.post("/_sandbox/clock", json={"today": "30-06-2027"}).status_code == 400


def test_advance(op: httpx2.Client, sb: DynaccountSandbox) -> None:
    invoices = _count(sb, "debtor_invoice")
    answer = op.post("/_sandbox/advance", json={"days": 10, "seed": 3}).json()
    assert answer["today"] == (TODAY + dt.timedelta(days=10)).isoformat()
    assert _count(sb, "debtor_invoice") == invoices + answer["counts"]["invoices"]
    assert answer["counts"]["creditnotes"] >= 1
    assert op.get("/_sandbox/check").json() == {"mismatches": []}


def test_payment_shortcut(op: httpx2.Client, sb: DynaccountSandbox) -> None:
    with sb.store.lock:
        number, module_no, remaining = sb.store.conn.execute(
            "SELECT invoice_id_, module_id_, _remaining FROM "
            "debtor_invoice WHERE is_booked='YES' AND is_matched='NO' "
            "AND _remaining > 1000 ORDER BY id LIMIT 1"
        ).fetchone()
    answer = op.post(
        "/_sandbox/payments",
        json={"module_id_": module_no, "amount": "10.00", "time": "2026-11-19", "invoice_id_": number},
    )
    row = answer.json()["result"][0]
    assert (row["type"], row["time"], row["is_matched"]) == ("PAYMENT", "2026-11-19", "YES")
    with sb.store.lock:
        left = sb.store.conn.execute(
            "SELECT _remaining FROM debtor_invoice WHERE invoice_id_=?", (number,)
        ).fetchone()[0]
    assert left == remaining - 1000
    bad = op.post("/_sandbox/payments", json={"module_id_": 1, "amount": "10.00"})
    assert (bad.status_code, bad.json()) == (400, {"error": {"module_id_": "No debtor with module_id_ 1"}})
    assert Decimal(str(row["currency_amount"])) < 0


def test_outbox_lists_sent_invoices(op: httpx2.Client, sb: DynaccountSandbox) -> None:
    with sb.store.tx() as c:
        row_id, number = c.execute(
            "SELECT id, invoice_id_ FROM debtor_invoice WHERE is_booked='YES' LIMIT 1"
        ).fetchone()
        sb.actions.run(c, "send_debtor_invoice", {"invoice_id": str(row_id), "email": "x@y.dk"}, sb.today)
    entries = op.get("/_sandbox/outbox").json()["outbox"]
    assert [(e["invoice_id_"], e["email"]) for e in entries] == [(number, "x@y.dk")]
    pdf = op.get(f"/_sandbox/outbox/{entries[0]['id']}.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert op.get("/_sandbox/outbox/999.pdf").status_code == 404
