"""Files no one here wrote: the seed's own examples, Excel saves, TOTVS Protheus and Oracle EBS exports.

Every test POSTs raw bytes with httpx2 and HTTP Basic auth, in-process and over a loopback socket (the
``wire`` fixture), and checks the spec §5 response and what the ledger then holds.
"""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from mydso_sandbox_helpers import ACME, OTHER, Wire, rows

from dsobridge.sandbox.mydso import MyDsoSandbox

FOREIGN = Path(__file__).parent / "fixtures" / "foreign"
SPEC_FIELDS = (
    "success", "error_code", "message", "file_type", "mode", "rows", "added", "updated", "unchanged",
    "cleared", "rejected", "rejected_rows",
)  # fmt: skip


def fixture(name: str) -> bytes:
    return (FOREIGN / name).read_bytes()


def spec_view(body: dict[str, Any]) -> dict[str, Any]:
    """The §5 fields without the free-text message (asserted separately where it matters)."""
    assert set(SPEC_FIELDS) <= set(body), sorted(set(SPEC_FIELDS) - set(body))
    return {name: body[name] for name in SPEC_FIELDS if name != "message"}


def ok(kind: str, mode: str | None, n: int, **counts: Any) -> dict[str, Any]:
    expected: dict[str, Any] = {
        "success": True, "error_code": None, "file_type": kind, "mode": mode, "rows": n,
        "added": 0, "updated": 0, "unchanged": 0, "cleared": 0, "rejected": 0, "rejected_rows": [],
    }  # fmt: skip
    expected.update(counts)
    return expected


def failed(code: str, kind: str | None, mode: str | None = None) -> dict[str, Any]:
    return {
        "success": False, "error_code": code, "file_type": kind, "mode": mode, "rows": 0, "added": 0,
        "updated": 0, "unchanged": 0, "cleared": 0, "rejected": 0, "rejected_rows": [],
    }  # fmt: skip


def items(sb: MyDsoSandbox, account: str = "acme") -> dict[str, tuple[Any, ...]]:
    """item_key -> (type, issue, due, currency, initial, remaining, payment_date, cleared_by)."""
    return {
        r[0]: r[1:]
        for r in rows(
            sb,
            "SELECT item_key, item_type, issue_date, due_date, currency, amount_initial, amount_remaining, "
            "payment_date, cleared_by FROM item WHERE account = ? ORDER BY item_key",
            account,
        )
    }


def snapshot(sb: MyDsoSandbox) -> list[list[tuple[Any, ...]]]:
    tables = ("client", "item", "item_event", "contact", "user", "user_client")
    return [rows(sb, f"SELECT * FROM {table} ORDER BY 1, 2, 3") for table in tables]  # noqa: S608


# ------------------------------------------------------------------------------------------- the seed
def test_seed_items_example_has_a_duplicated_header(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", fixture("seed_clients.csv"))
    before = snapshot(sandbox)
    status, body = wire.post("/api/items", fixture("seed_items.csv"), params={"encoding": "UTF-8"})
    assert status == 400
    assert spec_view(body) == failed("CSV_BAD_SYNTAX", "items", "DELTA")
    assert "item_date_issue" in body["message"]
    assert body["column"] == "item_date_issue"
    assert snapshot(sandbox) == before


def test_seed_examples_fixed_import_in_order(wire: Wire, sandbox: MyDsoSandbox) -> None:
    status, body = wire.post("/api/clients", fixture("seed_clients.csv"))
    assert (status, spec_view(body)) == (200, ok("clients", None, 1, added=1))
    status, body = wire.post(
        "/api/items",
        fixture("seed_items_fixed.csv"),
        params={"encoding": "UTF-8", "clear_items_not_modified": "true"},
    )
    assert (status, spec_view(body)) == (200, ok("items", "STOCK", 1, added=1))
    assert items(sandbox) == {
        "C0001|FAC|00000123|2025": (
            "FAC",
            "2025-03-13",
            "2025-03-20",
            "USD",
            "6580.10",
            "6580.10",
            None,
            None,
        )
    }
    status, body = wire.post("/api/contacts", fixture("seed_contacts.csv"))
    assert (status, spec_view(body)) == (200, ok("contacts", None, 1, added=1))
    status, body = wire.post("/api/users", fixture("seed_users.csv"))
    assert (status, spec_view(body)) == (200, ok("users", None, 1, added=1))
    assert rows(sandbox, "SELECT contact_key FROM contact") == [("mike jackson",)]
    assert rows(sandbox, "SELECT user_key, client_code FROM user_client") == [("john roy", "C0001")]
    # the same four files again change nothing
    for kind, name in (("clients", "seed_clients.csv"), ("items", "seed_items_fixed.csv"),
                       ("contacts", "seed_contacts.csv"), ("users", "seed_users.csv")):  # fmt: skip
        status, body = wire.post(f"/api/{kind}", fixture(name))
        assert (status, body["unchanged"], body["added"], body["updated"]) == (200, 1, 0, 0)


# ---------------------------------------------------------------------------------------------- Excel
def test_excel_cp1252_needs_the_encoding_option(wire: Wire, sandbox: MyDsoSandbox) -> None:
    status, body = wire.post("/api/clients", fixture("excel_clients_cp1252.csv"))
    assert (status, spec_view(body)) == (400, failed("BAD_ENCODING", "clients"))
    assert rows(sandbox, "SELECT count(*) FROM client") == [(0,)]
    status, body = wire.post(
        "/api/clients", fixture("excel_clients_cp1252.csv"), params={"encoding": "ISO-8859-1"}
    )
    assert (status, spec_view(body)) == (200, ok("clients", None, 3, added=3))
    assert rows(sandbox, "SELECT client_code, business_name, json_extract(data, '$.client_address_city') "
                "FROM client ORDER BY 1") == [
        ("K100", "Ærø Øl og Vin ApS", "Ærøskøbing"),
        ("K101", "Blåbær Å/S", "Århus"),
        ("K102", "Søren Møller", "København Ø"),
    ]  # fmt: skip


def test_excel_items_nbsp_thousands_credit_notes_payments_blank_rows(
    wire: Wire, sandbox: MyDsoSandbox
) -> None:
    wire.post("/api/clients", fixture("excel_clients_cp1252.csv"), params={"encoding": "ISO-8859-1"})
    status, body = wire.post(
        "/api/items", fixture("excel_items_cp1252.csv"), params={"encoding": "ISO-8859-1"}
    )
    assert (status, spec_view(body)) == (200, ok("items", "DELTA", 4, added=4))
    assert items(sandbox) == {
        "K100|FAC|2025-0101|2025": (
            "FAC",
            "2025-05-02",
            "2025-06-01",
            "DKK",
            "1234.56",
            "1234.56",
            None,
            None,
        ),
        "K101|AVO|2025-0007|2025": (
            "AVO",
            "2025-05-12",
            "2025-05-12",
            "DKK",
            "-500.00",
            "-500.00",
            None,
            None,
        ),
        "K101|FAC|2025-0102|2025": (
            "FAC",
            "2025-05-10",
            "2025-06-09",
            "DKK",
            "12500.00",
            "12500.00",
            None,
            None,
        ),
        "K102|RGL|B-77|2025": ("RGL", "2025-05-20", "2025-05-20", "DKK", "-1000.00", "-1000.00", None, None),
    }


def test_utf8_bom_excel_file(wire: Wire, sandbox: MyDsoSandbox) -> None:
    status, body = wire.post("/api/clients", fixture("excel_utf8_bom_clients.csv"))
    assert (status, spec_view(body)) == (200, ok("clients", None, 1, added=1))
    # the BOM is not part of the first column's name, and wins over a wrong declaration
    status, body = wire.post(
        "/api/clients", fixture("excel_utf8_bom_clients.csv"), params={"encoding": "ISO-8859-1"}
    )
    assert (status, spec_view(body)) == (200, ok("clients", None, 1, unchanged=1))
    assert rows(sandbox, "SELECT client_code, business_name FROM client") == [("K200", "Ødegaard & Søn")]


# --------------------------------------------------------------------------------------- real exporters
def test_protheus_export(wire: Wire, sandbox: MyDsoSandbox) -> None:
    status, body = wire.post("/api/clients", fixture("protheus_clients.txt"))
    assert (status, spec_view(body)) == (200, ok("clients", None, 2, added=2))
    status, body = wire.post(
        "/api/items", fixture("protheus_items.txt"), params={"clear_items_not_modified": "true"}
    )
    assert (status, spec_view(body)) == (200, ok("items", "STOCK", 4, added=4))
    assert {key: value[:6] for key, value in items(sandbox).items()} == {
        "000123|FAC|000045123AAA|2025": ("FAC", "2025-05-02", "2025-06-01", "USD", "1200.00123",
                                         "1200.00123"),
        "000123|FAC|000045124A|2025": ("FAC", "2025-05-10", "2025-06-09", "USD", "3100.00", "1100.50"),
        "000124|AVO|000000881AAA|2025": ("AVO", "2025-05-20", "2025-05-20", "USD", "-300.50", "-300.50"),
        "000124|RGL|000000017AAA|2025": ("RGL", "2025-06-01", "2025-06-01", "USD", "-1000.00", "-1000.00"),
    }  # fmt: skip
    # the ERP's own type is kept as sent
    assert rows(sandbox, "SELECT json_extract(data, '$.item_type'), json_extract(data, '$.item_erp_type') "
                "FROM item WHERE item_number = '000000881AAA'") == [("NCC", "NCC")]  # fmt: skip


def test_oracle_export_comma_separated(wire: Wire, sandbox: MyDsoSandbox) -> None:
    status, body = wire.post("/api/clients", fixture("oracle_clients.txt"))
    assert (status, spec_view(body)) == (200, ok("clients", None, 2, added=2))
    status, body = wire.post("/api/items", fixture("oracle_items_comma.txt"))
    assert (status, spec_view(body)) == (200, ok("items", "DELTA", 4, added=4))
    assert items(sandbox) == {
        "300001": ("FAC", "2026-01-05", "2026-02-04", "EUR", "1250.00", "1250.00", None, None),
        "300002": ("FAC", "2026-01-05", "2026-01-05", "EUR", "0.50", "0.50", None, None),
        "300003": ("AVO", "2025-12-20", "2025-12-20", "EUR", "-250.00", "-250.00", None, None),
        "300004": ("RGL", "2025-12-31", "2025-12-31", "EUR", "-1000.00", "-999.50", None, None),
    }
    assert rows(
        sandbox, "SELECT json_extract(data, '$.item_sales_manager') FROM item WHERE item_key = '300001'"
    ) == [("Smith, John",)]


def test_tab_separated_lf_mixed_case_header_in_another_order(wire: Wire, sandbox: MyDsoSandbox) -> None:
    # header names are matched case-insensitively (Excel users retype headers; no exporter relies on case)
    wire.post("/api/clients", fixture("excel_clients_cp1252.csv"), params={"encoding": "ISO-8859-1"})
    status, body = wire.post("/api/items", fixture("tab_items.tsv"))
    assert (status, spec_view(body)) == (200, ok("items", "DELTA", 2, added=2))
    assert items(sandbox) == {
        "K100|FAC|T-1|2025": ("FAC", "2025-05-31", "2025-06-30", "DKK", "1000.00", "1000.00", None, None),
        "K100|FAC|T-2|2025": ("FAC", "2025-05-31", "2025-06-30", "DKK", "750.25", "750.25", None, None),
    }


@pytest.mark.parametrize(
    ("text", "stored"),
    [("1 234,56", "1234.56"), ("1\u00a0234,56", "1234.56"), ("1.234,56", "1234.56"),
     ("-1.234,56", "-1234.56"), ("1200.00123", "1200.00123"), ("6 580,10", "6580.10"),
     ("-100", "-100.00"), ("-.5", "-0.50"), (".5", "0.50")],
)  # fmt: skip
def test_amount_spellings(wire: Wire, sandbox: MyDsoSandbox, text: str, stored: str) -> None:
    wire.post("/api/clients", fixture("seed_clients.csv"))
    body_bytes = (
        "client_code;item_number;item_date_issue;item_date_due;item_amount_initial_inc_tax\n"
        f"C0001;A1;2025-06-01;2025-07-01;{text}\n\n\n"
    ).encode()
    status, body = wire.post("/api/items", body_bytes)
    assert (status, body["added"], body["rejected"]) == (200, 1, 0)
    ((kind, initial),) = rows(sandbox, "SELECT item_type, amount_initial FROM item")
    assert (kind, initial) == ("RGL" if stored.startswith("-") else "FAC", stored)


# ------------------------------------------------------------------------------------- file-level errors
def test_empty_and_header_only_are_csv_empty_and_clear_nothing(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", fixture("seed_clients.csv"))
    wire.post("/api/items", fixture("seed_items_fixed.csv"))
    before = snapshot(sandbox)
    stock = {"clear_items_not_modified": "true"}
    for body_bytes in (b"", b"\r\n\r\n", fixture("seed_items_fixed.csv").split(b"\n")[0] + b"\n"):
        status, body = wire.post("/api/items", body_bytes, params=stock)
        assert (status, spec_view(body)) == (400, failed("CSV_EMPTY", "items", "STOCK"))
    assert snapshot(sandbox) == before


def test_garbage_bytes_in_declared_utf8_change_nothing(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", fixture("seed_clients.csv"))
    wire.post("/api/items", fixture("seed_items_fixed.csv"))
    before = snapshot(sandbox)
    # a valid first row, then Latin-1 bytes: the STOCK import must not half-apply or clear C0001's item
    body_bytes = b"client_code;item_number;item_date_issue;item_date_due;item_amount_initial_inc_tax\r\n" \
        b"C0001;N1;2025-06-01;2025-07-01;10\r\nC0001;Caf\xe9\xff;2025-06-01;2025-07-01;10\r\n"  # fmt: skip
    status, body = wire.post(
        "/api/items", body_bytes, params={"encoding": "UTF-8", "clear_items_not_modified": "true"}
    )
    assert (status, spec_view(body)) == (400, failed("BAD_ENCODING", "items", "STOCK"))
    assert "line 3" in body["message"]
    assert snapshot(sandbox) == before


def test_unknown_path_and_bad_options(wire: Wire, sandbox: MyDsoSandbox) -> None:
    status, body = wire.post("/api/invoices", fixture("seed_clients.csv"))
    assert (status, spec_view(body)) == (404, failed("UNKNOWN_TYPE", None))
    for params, code in (({"clear_items_not_modified": "maybe"}, "BAD_OPTION"),
                         ({"encoding": "klingon-8"}, "BAD_ENCODING"),
                         ({"replace_users_association": "2"}, "BAD_OPTION")):  # fmt: skip
        status, body = wire.post("/api/items", fixture("seed_items_fixed.csv"), params=params)
        assert (status, body["success"], body["error_code"]) == (400, False, code)
    assert snapshot(sandbox) == [[], [], [], [], [], []]


def test_access_denied(wire: Wire, sandbox: MyDsoSandbox) -> None:
    seed = fixture("seed_clients.csv")
    for auth in (None, (ACME[0], "wrong"), ("nobody", ACME[1])):
        response = wire.client.post("/api/clients", content=seed, auth=auth)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic ")
        assert spec_view(response.json())["error_code"] == "ACCESS_DENIED"
    # a hand-written header works exactly like httpx2's auth
    token = base64.b64encode(f"{ACME[0]}:{ACME[1]}".encode()).decode()
    response = wire.client.post("/api/clients", content=seed, headers={"Authorization": f"Basic {token}"})
    assert (response.status_code, response.json()["added"]) == (200, 1)
    assert rows(sandbox, "SELECT account, client_code FROM client") == [("acme", "C0001")]
    status, body = wire.post("/api/clients", seed, auth=OTHER)  # accounts are separate
    assert (status, body["added"]) == (200, 1)


# ------------------------------------------------------------------------------ STOCK, DELTA, the key rule
ITEM_HEADER = "client_code;item_type;item_number;item_date_issue;item_date_due;item_amount_initial_inc_tax;" \
    "item_amount_remaining_inc_tax;item_date_payment;item_unique_key\r\n"  # fmt: skip


def item_file(*lines: str) -> bytes:
    return (ITEM_HEADER + "".join(line + "\r\n" for line in lines)).encode()


def test_stock_clears_absent_items_on_the_import_date(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", fixture("seed_clients.csv"))
    first = item_file("C0001;FAC;1;2025-05-01;2025-05-31;100;;;", "C0001;FAC;2;2025-05-02;2025-06-01;200;;;",
                      "C0001;AVO;3;2025-05-03;2025-05-03;-50;;;")  # fmt: skip
    status, body = wire.post("/api/items", first, params={"clear_items_not_modified": "true"})
    assert (status, spec_view(body)) == (200, ok("items", "STOCK", 3, added=3))
    sandbox.today = date(2025, 7, 2)
    second = item_file(
        "C0001;FAC;1;2025-05-01;2025-05-31;100;;;", "C0001;FAC;2;2025-05-02;2025-06-01;200;80;;"
    )
    status, body = wire.post("/api/items", second, params={"clear_items_not_modified": "true"})
    assert (status, spec_view(body)) == (200, ok("items", "STOCK", 2, updated=1, unchanged=1, cleared=1))
    state = items(sandbox)
    assert state["C0001|AVO|3|2025"][5:] == ("0.00", "2025-07-02", "STOCK")
    assert state["C0001|FAC|2|2025"][5:] == ("80.00", None, None)
    # DELTA never clears what is absent
    sandbox.today = date(2025, 7, 3)
    status, body = wire.post("/api/items", item_file("C0001;FAC;9;2025-06-01;2025-07-01;5;;;"))
    assert (status, spec_view(body)) == (200, ok("items", "DELTA", 1, added=1))
    assert [v[6] for v in items(sandbox).values()] == ["2025-07-02", None, None, None]


def test_delta_clears_with_item_date_payment(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", fixture("seed_clients.csv"))
    wire.post(
        "/api/items",
        item_file("C0001;FAC;1;2025-05-01;2025-05-31;100;;;", "C0001;FAC;2;2025-05-02;2025-06-01;200;;;"),
    )
    status, body = wire.post("/api/items", item_file("C0001;FAC;1;01/05/2025;31/05/2025;100;;20250615;"))
    assert (status, spec_view(body)) == (200, ok("items", "DELTA", 1, updated=1, cleared=1))
    assert items(sandbox) == {
        "C0001|FAC|1|2025": (
            "FAC",
            "2025-05-01",
            "2025-05-31",
            "DKK",
            "100.00",
            "0.00",
            "2025-06-15",
            "DELTA",
        ),
        "C0001|FAC|2|2025": ("FAC", "2025-05-02", "2025-06-01", "DKK", "200.00", "200.00", None, None),
    }


def test_key_rule_unique_key_or_client_type_number_year(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", fixture("seed_clients.csv"))
    status, body = wire.post("/api/items", item_file(
        "C0001;FAC;7;2024-12-30;2025-01-29;100;;;",   # same number, other year: another item
        "C0001;FAC;7;2025-01-02;2025-02-01;110;;;",
        "C0001;AVO;7;2025-01-03;2025-01-03;-10;;;",   # same number, other type: another item
        "C0001;FAC;7;2025-03-01;2025-03-31;999;;;",   # same key as line 3: rejected, the first row decides
        "C0001;FAC;8;2025-01-05;2025-02-04;50;;;U-1",
    ))  # fmt: skip
    assert (status, spec_view(body)) == (200, ok("items", "DELTA", 5, added=4, rejected=1, rejected_rows=[
        {"line": 5, "column": "item_number", "reason": "DUPLICATE_KEY"}]))  # fmt: skip
    assert sorted(items(sandbox)) == ["C0001|AVO|7|2025", "C0001|FAC|7|2024", "C0001|FAC|7|2025", "U-1"]
    # with item_unique_key the number may change: the same item is updated
    status, body = wire.post("/api/items", item_file("C0001;FAC;8-bis;2025-01-05;2025-02-04;50;;;U-1"))
    assert (status, body["added"], body["updated"]) == (200, 0, 1)
    assert rows(sandbox, "SELECT item_number FROM item WHERE item_key = 'U-1'") == [("8-bis",)]


# ------------------------------------------------------------------------------------- users, contacts
def test_users_replace_association_1_versus_0(wire: Wire, sandbox: MyDsoSandbox) -> None:
    clients = b"client_code;client_business_name\nC1;One\nC2;Two\nC3;Three\n"
    wire.post("/api/clients", clients)
    users = "user_email;user_firstname;user_lastname;client_code\n"
    wire.post(
        "/api/users", (users + "ann@x.dk;Ann;Berg;C1\nann@x.dk;Ann;Berg;C2\nbo@x.dk;Bo;Dam;C1\n").encode()
    )
    status, body = wire.post("/api/users", (users + "ANN@x.dk;Ann;Berg;C3\n").encode(),
                             params={"replace_users_association": "0"})  # fmt: skip
    assert (status, spec_view(body)) == (200, ok("users", None, 1, updated=1))
    links = "SELECT user_key, client_code FROM user_client ORDER BY 1, 2"
    assert rows(sandbox, links) == [
        ("ann@x.dk", "C1"),
        ("ann@x.dk", "C2"),
        ("ann@x.dk", "C3"),
        ("bo@x.dk", "C1"),
    ]
    status, body = wire.post("/api/users", (users + "ann@x.dk;Ann;Berg;C3\n").encode(),
                             params={"replace_users_association": "1"})  # fmt: skip
    assert (status, body["success"]) == (200, True)
    assert rows(sandbox, links) == [("ann@x.dk", "C3"), ("bo@x.dk", "C1")]


def test_contacts_keyed_by_client_and_email_else_name(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", b"client_code;client_business_name\nC1;One\nC2;Two\n")
    head = "client_code;contact_firstname;contact_lastname;contact_email;contact_phone\n"
    status, body = wire.post("/api/contacts", (head + "C1;Eva;Holm;Eva@X.dk;1\nC2;Eva;Holm;eva@x.dk;1\n"
                                               "C1;Jens;Lund;;2\n").encode())  # fmt: skip
    assert (status, spec_view(body)) == (200, ok("contacts", None, 3, added=3))
    status, body = wire.post(
        "/api/contacts", (head + "C1;Eva;Holm-Berg;EVA@x.dk;9\nC1;Jens;Lund;;2\n").encode()
    )
    assert (status, spec_view(body)) == (200, ok("contacts", None, 2, updated=1, unchanged=1))
    sql = (
        "SELECT client_code, contact_key, json_extract(data, '$.contact_lastname') FROM contact ORDER BY 1, 2"
    )
    assert rows(sandbox, sql) == [
        ("C1", "eva@x.dk", "Holm-Berg"), ("C1", "jens lund", "Lund"), ("C2", "eva@x.dk", "Holm"),
    ]  # fmt: skip


def test_multipart_upload_like_curl_dash_f(wire: Wire, sandbox: MyDsoSandbox) -> None:
    # curl -u acme:pw -F "file=@items_20250630.txt" .../api/items — the single file part is the body
    wire.post("/api/clients", fixture("protheus_clients.txt"))
    files = {"file": ("items_20250630.txt", fixture("protheus_items.txt"), "text/plain")}
    response = wire.client.post("/api/items", files=files, data={"note": "nightly"}, auth=ACME)
    assert (response.status_code, spec_view(response.json())) == (200, ok("items", "DELTA", 4, added=4))
    two = {"a": ("a.csv", b"x", "text/csv"), "b": ("b.csv", b"y", "text/csv")}
    response = wire.client.post("/api/items", files=two, auth=ACME)
    assert (response.status_code, response.json()["error_code"]) == (400, "CSV_BAD_SYNTAX")
    assert len(items(sandbox)) == 4


def test_trailing_slash_paths_import_too(wire: Wire, sandbox: MyDsoSandbox) -> None:
    status, body = wire.post("/api/clients/", fixture("seed_clients.csv"))
    assert (status, spec_view(body)) == (200, ok("clients", None, 1, added=1))
    status, body = wire.post("/apiPutFiles/contacts/", fixture("seed_contacts.csv"))
    assert (status, body["success"], body["status"]) == (202, True, "queued")
    status, body = wire.post("/api/invoices/", fixture("seed_clients.csv"))
    assert (status, body["error_code"]) == (404, "UNKNOWN_TYPE")


def test_declared_iso_8859_1_reads_windows_1252_punctuation(wire: Wire, sandbox: MyDsoSandbox) -> None:
    # Excel on Windows writes cp1252; the seed only offers ISO-8859-1, so that is what integrators declare
    body_bytes = "client_code;client_business_name;client_comments;;\r\nK9;Møller – Søn;Limit 5.000 €;;\r\n"
    status, body = wire.post("/api/clients", body_bytes.encode("cp1252"), params={"encoding": "ISO-8859-1"})
    assert (status, spec_view(body)) == (200, ok("clients", None, 1, added=1))
    sql = "SELECT business_name, json_extract(data, '$.client_comments') FROM client"
    assert rows(sandbox, sql) == [("Møller – Søn", "Limit 5.000 €")]
