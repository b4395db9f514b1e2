"""The ledger JSON endpoints of ``MyDsoSandbox`` over a store filled row by row.

Rows are written straight into the store (the contract of the schema) so that every shape of history can be
set up exactly: the worked example of receivables.md, history items, payments on account, several currencies
and accounts. ``test_ledger_import.py`` feeds the same kind of ledger through the import endpoint instead.
The same checks run in-process and over a loopback socket.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import httpx2
import pytest

from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.mydso import MyDsoSandbox, Store

AUTH = ("acme", "s3cret-pass")


def add_item(conn, account, key, client, kind, issue, due, amount, events, *, currency="DKK", number=None):
    """One item row plus its events; the row's current state is taken from the last event."""
    last = events[-1]
    conn.execute(
        "INSERT INTO item VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (account, key, client, kind, number or key, issue, due, currency, amount, last[1], last[2],
         "STOCK" if last[2] else None, "{}", issue, last[0]),
    )  # fmt: skip
    for n, (eff, remaining, paid) in enumerate(events):
        kind_ = "created" if n == 0 else ("cleared" if paid else "updated")
        conn.execute(
            "INSERT INTO item_event (account, item_key, effective_date, kind, amount_remaining, "
            "payment_date) VALUES (?,?,?,?,?,?)",
            (account, key, eff, kind_, remaining, paid),
        )


def seed(store: Store) -> None:
    conn = store.writer
    for account, code, name, group in [
        ("acme", "C1", "Nordisk Stål A/S", "NORTH"),
        ("acme", "C2", "Syd Handel ApS", "SOUTH"),
        ("acme", "C3", "Euro GmbH", None),
        ("other", "C1", "Not acme's", None),
    ]:
        conn.execute(
            "INSERT INTO client VALUES (?,?,?,?,?,?,?)",
            (account, code, name, group, "{}", "2025-01-01", "2025-01-01"),
        )
    a = "acme"
    # The worked example: AR 31/3 600,000; sales Apr 400,000, May 350,000, Jun 500,000; AR 30/6 700,000.
    add_item(
        conn, a, "A1", "C1", "FAC", "2025-01-29", "2025-02-28", "30000.00", [("2025-01-29", "30000.00", None)]
    )
    add_item(conn, a, "A2", "C1", "FAC", "2025-03-16", "2025-04-15", "570000.00",
             [("2025-03-16", "570000.00", None), ("2025-04-20", "40000.00", None)])  # fmt: skip
    add_item(conn, a, "B", "C1", "FAC", "2025-04-10", "2025-05-10", "400000.00",
             [("2025-04-10", "400000.00", None), ("2025-05-25", "50000.00", None)])  # fmt: skip
    add_item(conn, a, "C1X", "C2", "FAC", "2025-05-21", "2025-06-20", "330000.00",
             [("2025-05-21", "330000.00", None), ("2025-06-25", "60000.00", None)])  # fmt: skip
    add_item(
        conn,
        a,
        "C2X",
        "C2",
        "FAC",
        "2025-05-15",
        "2025-07-15",
        "20000.00",
        [("2025-05-15", "20000.00", None)],
    )
    add_item(
        conn,
        a,
        "D1",
        "C2",
        "FAC",
        "2025-06-10",
        "2025-07-10",
        "480000.00",
        [("2025-06-10", "480000.00", None)],
    )
    add_item(
        conn, a, "D2", "C1", "FAC", "2025-06-01", "2025-06-30", "20000.00", [("2025-06-01", "20000.00", None)]
    )
    # Cleared history and a settled credit note: not open on 30 June.
    add_item(conn, a, "H1", "C1", "FAC", "2024-12-01", "2024-12-31", "1000.00",
             [("2025-07-01", "0.00", "2025-01-10")])  # fmt: skip
    # A payment on account received 2 July, allocated (cleared) on 5 July.
    add_item(conn, a, "P1", "C2", "RGL", "2025-07-02", "2025-07-02", "-500.00",
             [("2025-07-02", "-500.00", None), ("2025-07-05", "0.00", "2025-07-05")])  # fmt: skip
    add_item(conn, a, "E1", "C3", "FAC", "2025-06-15", "2025-06-20", "1234.56",
             [("2025-06-15", "1234.56", None)], currency="EUR")  # fmt: skip
    add_item(
        conn, "other", "O1", "C1", "FAC", "2025-06-01", "2025-06-10", "99.00", [("2025-06-01", "99.00", None)]
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[MyDsoSandbox]:
    with MyDsoSandbox(accounts=dict([AUTH]), today=date(2025, 7, 10)) as sb:
        sb.add_account("other", "other-pass", base_currency="EUR")
        seed(sb.store)
        yield sb


@pytest.fixture(scope="module", params=["inprocess", "loopback"])
def client(request, sandbox) -> Iterator[httpx2.Client]:
    app = sandbox.app
    if request.param == "inprocess":
        transport = InProcessTransport(app)
        with httpx2.Client(transport=transport, base_url="http://mydso.test", auth=AUTH) as c:
            yield c
        transport.close()
    else:
        with LoopbackServer(app) as server, httpx2.Client(base_url=server.url, auth=AUTH) as c:
            yield c


def get(client: httpx2.Client, path: str, **params) -> dict:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return json.loads(response.content)  # floats would fail the string comparisons below


def test_dso_worked_example(client):
    body = get(client, "/ledger/dso", as_of="2025-06-30", months=3)
    assert (
        body["currency"] == "DKK" and body["currencies"] == ["DKK", "EUR"] and body["base_currency"] == "DKK"
    )
    assert body["receivables"] == "700000.00"
    assert body["current_receivables"] == "520000.00"
    assert body["countback_dso"] == "47.71" and body["lower_bound"] is False
    assert body["standard_dso"] == "50.96" and body["standard_days"] == 91
    assert body["standard_sales"] == "1250000.00"
    assert body["best_possible_dso"] == {"countback": "31.77", "standard": "37.86"}
    assert body["add"] == {"countback": "15.94", "standard": "13.10"}
    assert body["overdue_pct"] == "25.7"
    assert [(p["month"], p["sales"], p["receivables"]) for p in body["history"]] == [
        ("2025-04", "400000.00", "470000.00"),
        ("2025-05", "350000.00", "470000.00"),
        ("2025-06", "500000.00", "700000.00"),
    ]
    april = body["history"][0]
    # 31/3 AR 600,000; April sales 400,000; 30/4 AR: A1 30,000 + A2 40,000 + B 400,000 (not due):
    # CEI = (600,000 + 400,000 − 470,000) / (600,000 + 400,000 − 400,000) × 100 = 88.33.
    assert april["current_receivables"] == "400000.00"
    assert april["cei"] == "88.3"
    assert body["history"][-1]["countback_dso"] == "47.71"


def test_dso_per_client_group_and_currency(client):
    c2 = get(client, "/ledger/dso", as_of="2025-06-30", months=1, client_code="C2")
    assert c2["receivables"] == "560000.00"  # 60,000 + 20,000 + 480,000
    assert c2["client_code"] == "C2" and len(c2["history"]) == 1
    north = get(client, "/ledger/dso", as_of="2025-06-30", months=1, group="NORTH")
    assert north["receivables"] == "140000.00"
    eur = get(client, "/ledger/dso", as_of="2025-06-30", months=1, currency="eur")
    assert eur["currency"] == "EUR" and eur["receivables"] == "1234.56"
    assert eur["countback_dso"] == "30.00" and eur["lower_bound"] is False


def test_aging_as_of_dates_and_filters(client):
    body = get(client, "/ledger/aging", as_of="2025-06-30")
    assert body["buckets"] == {
        "not_due": "520000.00",
        "1_30": "60000.00",
        "31_60": "50000.00",
        "61_90": "40000.00",
        "over_90": "30000.00",
    }
    assert body["unallocated_credits"] == "0.00"
    assert (body["total"], body["overdue"], body["overdue_pct"], body["items"]) == (
        "700000.00",
        "180000.00",
        "25.7",
        7,
    )
    july = get(client, "/ledger/aging", as_of="2025-07-03")  # D2 is 3 days late, P1 is on account
    assert july["buckets"]["1_30"] == "80000.00" and july["buckets"]["not_due"] == "500000.00"
    assert july["unallocated_credits"] == "-500.00" and july["total"] == "699500.00"
    assert [row["client_code"] for row in july["clients"]] == ["C1", "C2"]
    assert (
        july["clients"][1]["unallocated_credits"] == "-500.00" and july["clients"][1]["total"] == "559500.00"
    )
    by_date = get(client, "/ledger/aging", as_of="2025-07-03", credits="by_date")
    assert by_date["buckets"]["1_30"] == "79500.00" and by_date["unallocated_credits"] == "0.00"
    today = get(client, "/ledger/aging")  # sandbox clock: 2025-07-10, the payment on account is cleared
    assert today["as_of"] == "2025-07-10" and today["unallocated_credits"] == "0.00"
    assert get(client, "/ledger/aging", as_of="2025-06-30", group="SOUTH")["total"] == "560000.00"
    assert get(client, "/ledger/aging", as_of="2025-06-30", client_code="C1")["total"] == "140000.00"
    assert get(client, "/ledger/aging", as_of="2025-06-30", currency="EUR")["buckets"]["1_30"] == "1234.56"


def test_clients_with_balances(client):
    body = get(client, "/ledger/clients", as_of="2025-06-30")
    assert body["account"] == "acme" and body["currencies"] == ["DKK", "EUR"]
    assert [(c["client_code"], c["group"], c["balances"], c["open_items"]) for c in body["clients"]] == [
        ("C1", "NORTH", {"DKK": "140000.00"}, 4),
        ("C2", "SOUTH", {"DKK": "560000.00"}, 3),
        ("C3", None, {"EUR": "1234.56"}, 1),
    ]
    assert body["clients"][0]["business_name"] == "Nordisk Stål A/S"


def test_statement_open_and_cleared(client):
    body = get(client, "/ledger/clients/C2/statement", as_of="2025-07-10")
    assert body["balances"] == {"DKK": "560000.00"}
    rows = {r["item_key"]: r for r in body["items"]}
    assert rows["P1"] == {
        "item_key": "P1",
        "client_code": "C2",
        "item_type": "RGL",
        "item_number": "P1",
        "issue_date": "2025-07-02",
        "due_date": "2025-07-02",
        "currency": "DKK",
        "amount_initial": "-500.00",
        "amount_open": "0.00",
        "payment_date": "2025-07-05",
        "status": "cleared",
        "days_late": None,
    }
    assert (rows["C1X"]["amount_open"], rows["C1X"]["days_late"], rows["C1X"]["status"]) == (
        "60000.00",
        20,
        "open",
    )
    assert rows["D1"]["days_late"] == 0
    assert [r["status"] for r in body["items"]] == ["open", "open", "open", "cleared"]
    earlier = get(client, "/ledger/clients/C2/statement", as_of="2025-06-01")
    assert [(r["item_key"], r["amount_open"]) for r in earlier["items"]] == [
        ("C1X", "330000.00"),
        ("C2X", "20000.00"),
    ]


def test_items_current_and_as_of(client):
    current = get(client, "/ledger/items")
    assert current["as_of"] is None and current["count"] == 8
    assert [i["item_key"] for i in current["items"][:5]] == ["A1", "A2", "B", "D2", "C2X"]
    assert current["items"][1] == {
        "item_key": "A2",
        "client_code": "C1",
        "item_type": "FAC",
        "item_number": "A2",
        "issue_date": "2025-03-16",
        "due_date": "2025-04-15",
        "currency": "DKK",
        "amount_initial": "570000.00",
        "amount_open": "40000.00",
        "payment_date": None,
    }
    cleared = get(client, "/ledger/items", status="cleared")
    assert [(i["item_key"], i["payment_date"]) for i in cleared["items"]] == [
        ("H1", "2025-01-10"),
        ("P1", "2025-07-05"),
    ]
    assert get(client, "/ledger/items", status="all", client_code="C3")["count"] == 1
    as_of = get(client, "/ledger/items", as_of="2025-04-30", status="all")
    assert [(i["item_key"], i["amount_open"], i["payment_date"]) for i in as_of["items"]] == [
        ("H1", "0.00", "2025-01-10"),
        ("A1", "30000.00", None),
        ("A2", "40000.00", None),
        ("B", "400000.00", None),
    ]
    assert get(client, "/ledger/items", as_of="2024-12-15")["items"][0]["amount_open"] == "1000.00"


def test_errors(client):
    assert client.get("/ledger/aging", params={"as_of": "30/06/2025"}).json()["error_code"] == "BAD_PARAMETER"
    assert client.get("/ledger/items", params={"status": "paid"}).status_code == 400
    assert client.get("/ledger/dso", params={"months": "0"}).status_code == 400
    assert client.get("/ledger/aging", params={"credits": "x"}).status_code == 400
    missing = client.get("/ledger/clients/NOPE/statement")
    assert (missing.status_code, missing.json()["error_code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize("auth", [None, ("acme", "bad-guess"), ("nobody", "s3cret-pass")])
def test_access_denied(client, auth):
    response = client.get("/ledger/clients", auth=auth) if auth else client.get("/ledger/clients", auth=None)
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error_code": "ACCESS_DENIED",
        "message": "Unknown login or wrong password.",
    }
    assert response.headers["www-authenticate"].startswith('Basic realm="My DSO Manager sandbox"')
    assert "bad-guess" not in response.text and "s3cret" not in response.text


def test_accounts_are_isolated(client):
    other = client.get("/ledger/items", auth=("other", "other-pass")).json()
    assert [i["item_key"] for i in other["items"]] == ["O1"]
    assert client.get("/ledger/aging", auth=("other", "other-pass")).json()["currency"] == "EUR"
