"""The ledger fed the way a real user feeds it: CSV files through ``POST /api/...`` while the clock moves.

Month after month a STOCK items file holds every open item with its remaining amount; the ledger must answer
every as-of question from the events those imports left, reach the worked example of receivables.md exactly,
and agree with a reference model built from the same files. Runs in-process and over loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx2
import pytest

from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.mydso import MyDsoSandbox

AUTH = ("acme", "pw-ledger-1")
CLIENTS = (
    "client_code;client_business_name;client_field_perso1\r\n"
    "C1;Nordisk Stål A/S;NORTH\r\nC2;Syd Handel ApS;SOUTH\r\nC3;Euro GmbH;\r\n"
)
# key: (client, number, issue, due, initial, currency)
ITEMS = {
    "A1": ("C1", "1001", "2025-01-29", "2025-02-28", "30000.00", "DKK"),
    "A2": ("C1", "1002", "2025-03-16", "2025-04-15", "570000.00", "DKK"),
    "B": ("C1", "1003", "2025-04-10", "2025-05-10", "400000.00", "DKK"),
    "C2X": ("C2", "1004", "2025-05-15", "2025-07-15", "20000.00", "DKK"),
    "C1X": ("C2", "1005", "2025-05-21", "2025-06-20", "330000.00", "DKK"),
    "D2": ("C1", "1006", "2025-06-01", "2025-06-30", "20000.00", "DKK"),
    "D1": ("C2", "1007", "2025-06-10", "2025-07-10", "480000.00", "DKK"),
    "E1": ("C3", "9001", "2025-06-15", "2025-06-20", "1234.56", "EUR"),
}
# What changes on each import date (None = paid, absent from the next file). Each import is a STOCK file of
# every open item on that date, with its remaining amount.
CHANGES = [
    ("2025-01-29", {"A1": "30000.00"}),
    ("2025-03-16", {"A2": "570000.00"}),
    ("2025-04-10", {"B": "400000.00"}),
    ("2025-04-20", {"A2": "40000.00"}),
    ("2025-05-15", {"C2X": "20000.00"}),
    ("2025-05-21", {"C1X": "330000.00"}),
    ("2025-05-25", {"B": "50000.00"}),
    ("2025-06-01", {"D2": "20000.00"}),
    ("2025-06-10", {"D1": "480000.00"}),
    ("2025-06-15", {"E1": "1234.56"}),
    ("2025-06-25", {"C1X": "60000.00"}),
    # July: A1 and B are paid (absent from the file → cleared on the import date), D2 partly paid.
    ("2025-07-08", {"A1": None, "B": None, "D2": "5000.00"}),
]


def _snapshots() -> list[tuple[str, dict[str, str]]]:
    out, state = [], {}
    for today, changes in CHANGES:
        for key, remaining in changes.items():
            if remaining is None:
                state.pop(key)
            else:
                state[key] = remaining
        out.append((today, dict(state)))
    return out


SNAPSHOTS = _snapshots()
HEADER = (
    "item_type;item_number;client_code;item_date_issue;item_date_due;item_amount_initial_inc_tax;"
    "item_amount_remaining_inc_tax;item_currency\r\n"
)


def stock_file(open_items: dict[str, str]) -> bytes:
    lines = []
    for key, remaining in open_items.items():
        client, number, issue, due, initial, currency = ITEMS[key]
        lines.append(f"FAC;{number};{client};{issue};{due};{initial};{remaining};{currency}\r\n")
    return (HEADER + "".join(lines)).encode()


def post(client: httpx2.Client, path: str, body: bytes, **params: str) -> dict:
    response = client.post(path, content=body, params=params)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["success"] is True and report["rejected"] == 0, report
    return report


@pytest.fixture(scope="module", params=["inprocess", "loopback"])
def client(request) -> Iterator[httpx2.Client]:
    with MyDsoSandbox(accounts=dict([AUTH])) as sandbox:
        if request.param == "inprocess":
            transport = InProcessTransport(sandbox.app)
            with httpx2.Client(transport=transport, base_url="http://mydso.test", auth=AUTH) as c:
                yield from _fed(c)
            transport.close()
        else:
            with LoopbackServer(sandbox.app) as server, httpx2.Client(base_url=server.url, auth=AUTH) as c:
                yield from _fed(c)


def _fed(c: httpx2.Client) -> Iterator[httpx2.Client]:
    assert c.post("/_sandbox/clock", json={"today": "2025-01-02"}).json() == {"today": "2025-01-02"}
    post(c, "/api/clients", CLIENTS.encode())
    for today, open_items in SNAPSHOTS:
        c.post("/_sandbox/clock", json={"today": today})
        post(c, "/api/items", stock_file(open_items), clear_items_not_modified="true")
    # Paid history sent later by DELTA with its payment date (a six-month history upload).
    c.post("/_sandbox/clock", json={"today": "2025-07-10"})
    history = HEADER.replace("\r\n", ";item_date_payment\r\n") + (
        "FAC;0999;C1;2024-12-01;2024-12-31;1000.00;0.00;DKK;2025-01-10\r\n"
    )
    post(c, "/api/items", history.encode())
    yield c


def get(c: httpx2.Client, path: str, **params: str) -> dict:
    response = c.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_worked_example_through_imports(client):
    body = get(client, "/ledger/dso", as_of="2025-06-30", months="3")
    assert (body["receivables"], body["current_receivables"]) == ("700000.00", "520000.00")
    assert (body["standard_dso"], body["countback_dso"], body["lower_bound"]) == ("50.96", "47.71", False)
    assert body["best_possible_dso"] == {"countback": "31.77", "standard": "37.86"}
    assert body["add"]["countback"] == "15.94"
    assert body["currencies"] == ["DKK", "EUR"]
    aging = get(client, "/ledger/aging", as_of="2025-06-30")
    assert aging["buckets"] == {
        "not_due": "520000.00",
        "1_30": "60000.00",
        "31_60": "50000.00",
        "61_90": "40000.00",
        "over_90": "30000.00",
    }


# Reference model: for any date, the open items are those of the last STOCK file imported on or before it,
# at the remaining amount that file gave; the history item was open before its payment date.
def reference(as_of: str) -> dict[str, str]:
    model: dict[str, str] = {}
    for today, open_items in SNAPSHOTS:
        if today <= as_of:
            model = {key: remaining for key, remaining in open_items.items() if ITEMS[key][2] <= as_of}
    if "2024-12-01" <= as_of < "2025-01-10":
        model["H"] = "1000.00"
    return model


def _key(key: str) -> str:
    client, number, issue, *_ = ITEMS[key] if key != "H" else ("C1", "0999", "2024-12-01")
    return f"{client}|FAC|{number}|{issue[:4]}"


@pytest.mark.parametrize(
    "as_of",
    ["2024-12-15", "2025-01-10", "2025-03-31", "2025-04-19", "2025-04-20", "2025-06-30", "2025-07-08"],
)
def test_open_items_as_of_match_the_reference_model(client, as_of):
    body = get(client, "/ledger/items", as_of=as_of, status="open")
    got = {item["item_key"]: item["amount_open"] for item in body["items"]}
    assert got == {_key(k): v for k, v in reference(as_of).items()}


def test_current_items_and_clearing_dates(client):
    cleared = get(client, "/ledger/items", status="cleared")["items"]
    assert [(i["item_number"], i["payment_date"], i["amount_open"]) for i in cleared] == [
        ("0999", "2025-01-10", "0.00"),
        ("1001", "2025-07-08", "0.00"),
        ("1003", "2025-07-08", "0.00"),
    ]
    open_now = get(client, "/ledger/items")["items"]
    assert sum(Decimal(i["amount_open"]) for i in open_now if i["currency"] == "DKK") == Decimal("605000.00")
    d2 = next(i for i in open_now if i["item_number"] == "1006")
    assert (d2["amount_initial"], d2["amount_open"], d2["payment_date"]) == ("20000.00", "5000.00", None)


def test_statement_after_payments(client):
    body = get(client, "/ledger/clients/C1/statement", as_of="2025-07-10")
    assert body["group"] == "NORTH" and body["balances"] == {"DKK": "45000.00"}
    rows = [
        (r["item_number"], r["status"], r["amount_open"], r["days_late"], r["payment_date"])
        for r in body["items"]
    ]
    assert rows == [
        ("1002", "open", "40000.00", 86, None),
        ("1006", "open", "5000.00", 10, None),
        ("0999", "cleared", "0.00", 10, "2025-01-10"),
        ("1001", "cleared", "0.00", 130, "2025-07-08"),
        ("1003", "cleared", "0.00", 59, "2025-07-08"),
    ]


def test_clients_and_group_aging(client):
    clients = get(client, "/ledger/clients", as_of="2025-06-30")["clients"]
    assert [(c["client_code"], c["group"], c["balances"]) for c in clients] == [
        ("C1", "NORTH", {"DKK": "140000.00"}),
        ("C2", "SOUTH", {"DKK": "560000.00"}),
        ("C3", None, {"EUR": "1234.56"}),
    ]
    assert get(client, "/ledger/aging", as_of="2025-06-30", group="SOUTH")["total"] == "560000.00"
    eur = get(client, "/ledger/dso", as_of="2025-06-30", currency="EUR", months="1")
    assert (eur["receivables"], eur["countback_dso"]) == ("1234.56", "30.00")
