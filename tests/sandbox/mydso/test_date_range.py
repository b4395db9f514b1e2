"""Dates the sandbox refuses with a clear code instead of failing in its month arithmetic (year 1) or spending
minutes walking back from a date centuries ahead: item dates from 1900, "as of" dates and the clock from 1900
to 2100."""

from __future__ import annotations

from mydso_sandbox_helpers import CLIENTS, TODAY, Wire, item, items_csv

from dsobridge.sandbox.mydso import MyDsoSandbox


def test_item_dates_before_1900_are_bad_dates(wire: Wire) -> None:
    wire.post("/api/clients", CLIENTS)
    status, body = wire.post(
        "/api/items",
        items_csv(
            item("1", issue="0001-01-01"),
            item("2", due="1899-12-31"),
            item("3", payment="31/12/1899"),
            item("4", issue="1900-01-01", due="9999-12-31"),  # an ERP's "no due date" is fine
        ),
    )
    assert (status, body["added"]) == (200, 1)
    assert body["rejected_rows"] == [
        {"line": 2, "column": "item_date_issue", "reason": "BAD_DATE"},
        {"line": 3, "column": "item_date_due", "reason": "BAD_DATE"},
        {"line": 4, "column": "item_date_payment", "reason": "BAD_DATE"},
    ]
    assert wire.get("/ledger/dso?months=120")[0] == 200


def test_as_of_dates_from_1900_to_2100(wire: Wire) -> None:
    wire.post("/api/clients", CLIENTS)
    wire.post("/api/items", items_csv(item("1", issue="1900-01-01")))
    for as_of in ("0001-01-01", "1899-12-31", "2101-01-01", "9999-12-31"):
        for path in (
            "/ledger/dso",
            "/ledger/aging",
            "/ledger/clients",
            "/ledger/items",
            "/ledger/clients/C0001/statement",
        ):
            status, body = wire.get(f"{path}?as_of={as_of}")
            assert (status, body["error_code"]) == (400, "BAD_PARAMETER"), (path, as_of)
            assert body["message"] == "as_of must be a date YYYY-MM-DD from 1900-01-01 to 2100-12-31."
    for as_of in ("1900-01-01", "2100-12-31"):
        assert wire.get(f"/ledger/dso?as_of={as_of}&months=120")[0] == 200
    page = wire.response("GET", "/ui/acme", params={"as_of": "0001-01-01"})
    assert page.status_code == 200 and f"receivables as of {TODAY.isoformat()}" in page.text


def test_the_clock_stays_within_the_range(wire: Wire, sandbox: MyDsoSandbox) -> None:
    for payload in (
        b'{"today": "0001-01-01"}',
        b'{"today": "2101-01-01"}',
        b'{"advance_days": 100000000000000000000}',
        b'{"advance_days": 1.5}',
        b'{"advance_days": true}',
        b'{"advance_days": 40000}',
        b"[]",
        b'"2025-01-01"',
        b"\xff",
    ):
        status, body = wire.post("/_sandbox/clock", payload)
        assert (status, body["error_code"]) == (400, "BAD_OPTION"), payload
    assert sandbox.today == TODAY
    assert wire.post("/_sandbox/clock", b'{"advance_days": "3"}') == (200, {"today": "2025-07-03"})
    assert wire.post("/_sandbox/clock", b'{"today": "2100-12-31"}') == (200, {"today": "2100-12-31"})
