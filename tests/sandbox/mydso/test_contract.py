"""The import contract (spec §1, §2, §5), run in-process and over a loopback socket with raw httpx2."""

from __future__ import annotations

import base64
from pathlib import Path

from mydso_sandbox_helpers import (
    ACME,
    CLIENTS,
    OTHER,
    TODAY,
    Wire,
    events,
    item,
    items_csv,
    items_state,
    rows,
)

from dsobridge.sandbox.mydso import MyDsoSandbox

SEED_ITEMS = (
    b'"item_type";"item_number";"client_code";"item_date_issue";"item_date_issue";'
    b'"item_amount_initial_inc_tax";"item_currency"\r\n'
    b'"FAC";"00000123";"C0001";"2025-03-13";"2025-03-20";"6 580,10";"USD"\r\n'
)


def ok(**counts: object) -> dict[str, object]:
    return {"success": True, "error_code": None, "rows": 0, "added": 0, "updated": 0, "unchanged": 0,
            "cleared": 0, "rejected": 0, "rejected_rows": [], **counts}  # fmt: skip


def subset(report: dict, expected: dict) -> dict:
    return {key: report.get(key) for key in expected}


# -- authentication ---------------------------------------------------------------------------------
def test_missing_wrong_or_unknown_credentials_are_access_denied(wire: Wire, sandbox: MyDsoSandbox) -> None:
    for auth in (None, ("acme", "wrong"), ("nobody", "acme-sandbox-pw"), ("other", ACME[1])):
        response = wire.response("POST", "/api/clients", content=CLIENTS, auth=auth)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Basic realm="My DSO Manager sandbox"'
        body = response.json()
        assert (body["success"], body["error_code"], body["file_type"]) == (False, "ACCESS_DENIED", "clients")
    garbage = wire.response("POST", "/api/clients", content=CLIENTS, headers={"Authorization": "Basic %%%"})
    assert garbage.status_code == 401
    no_colon = base64.b64encode(b"acme").decode()
    assert (
        wire.response("POST", "/api/clients", headers={"Authorization": f"Basic {no_colon}"}).status_code
        == 401
    )
    assert rows(sandbox, "SELECT count(*) FROM client") == [(0,)]
    assert rows(sandbox, "SELECT count(*) FROM import") == [(0,)]


def test_password_is_never_echoed(wire: Wire) -> None:
    response = wire.response("POST", "/api/items", content=b"x", auth=("acme", "a-secret-guess"))
    assert b"a-secret-guess" not in response.content
    assert "acme-sandbox-pw" not in repr(wire.client)


# -- file-level errors ------------------------------------------------------------------------------
def test_unknown_type(wire: Wire) -> None:
    status, body = wire.post("/api/invoices", CLIENTS)
    assert status == 404
    assert (body["error_code"], body["file_type"]) == ("UNKNOWN_TYPE", None)


def test_bad_options(wire: Wire) -> None:
    cases = [
        ({"clear_items_not_modified": "maybe"}, "BAD_OPTION"),
        ({"replace_users_association": "2"}, "BAD_OPTION"),
        ({"encoding": "klingon-8"}, "BAD_ENCODING"),
        ({"encoding": "hex"}, "BAD_ENCODING"),  # a codec, but not a text encoding
        ({"clear_items_not_modifed": "true"}, "BAD_OPTION"),  # a typo must not silently mean DELTA
    ]
    for params, code in cases:
        status, body = wire.post("/api/items", items_csv(item("1")), params)
        assert (status, body["success"], body["error_code"]) == (400, False, code), params


def test_csv_empty(wire: Wire, sandbox: MyDsoSandbox) -> None:
    for body_bytes in (b"", b"\r\n\r\n", ITEM_HEADER_ONLY, b"\xef\xbb\xbf"):
        status, body = wire.post("/api/items", body_bytes)
        assert (status, body["error_code"]) == (400, "CSV_EMPTY"), body_bytes
    assert rows(sandbox, "SELECT count(*) FROM import") == [(0,)]


ITEM_HEADER_ONLY = items_csv()


def test_seed_items_example_is_bad_syntax_naming_the_duplicated_column(wire: Wire) -> None:
    status, body = wire.post(
        "/api/items", SEED_ITEMS, {"encoding": "UTF-8", "clear_items_not_modified": "true"}
    )
    assert status == 400
    assert body == {
        "success": False, "error_code": "CSV_BAD_SYNTAX",
        "message": "header: duplicate column 'item_date_issue' (column 5)",
        "file_type": "items", "mode": "STOCK", "rows": 0, "added": 0, "updated": 0, "unchanged": 0,
        "cleared": 0, "rejected": 0, "rejected_rows": [], "column": "item_date_issue",
    }  # fmt: skip


def test_missing_required_header_and_broken_quoting_are_bad_syntax(wire: Wire) -> None:
    status, body = wire.post("/api/clients", b'"client_code";"client_id"\r\n"C1";"x"\r\n')
    assert (status, body["error_code"], body["column"]) == (400, "CSV_BAD_SYNTAX", "client_business_name")
    status, body = wire.post("/api/clients", b'client_code;client_business_name;\r\nC1;"unterminated\r\n')
    assert (status, body["error_code"]) == (400, "CSV_BAD_SYNTAX")
    status, body = wire.post("/api/clients", b"client_code;;client_business_name\r\nC1;;x\r\n")
    assert (status, body["error_code"], body["message"]) == (
        400,
        "CSV_BAD_SYNTAX",
        "header: column 2 has no name",
    )


def test_bad_encoding_changes_nothing_even_after_valid_rows(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", CLIENTS)
    good = items_csv(*(item(str(n)) for n in range(1, 3001)))
    status, body = wire.post(
        "/api/items", good + b'"FAC";"x\xff";"C0001";"2025-05-01";"2025-05-31";"1";"";"";""\r\n'
    )
    assert (status, body["error_code"]) == (400, "BAD_ENCODING")
    assert body["message"].startswith("line 3002: ")
    assert rows(sandbox, "SELECT count(*) FROM item") == [(0,)]
    assert rows(sandbox, "SELECT count(*), sum(file_type = 'items') FROM import") == [(1, 0)]
    # the same bytes declared as ISO-8859-1 are fine
    status, body = wire.post("/api/items", good.replace(b'"1";', b'"1";'), {"encoding": "ISO-8859-1"})
    assert (status, body["added"]) == (200, 3000)


def test_charset_in_content_type_is_used_when_no_encoding_option(wire: Wire, sandbox: MyDsoSandbox) -> None:
    latin = "client_code;client_business_name\r\nC1;Grøn\r\n".encode("iso-8859-1")
    headers = {"Content-Type": "text/csv; charset=ISO-8859-1"}
    response = wire.response("POST", "/api/clients", content=latin, headers=headers, auth=ACME)
    assert (response.status_code, response.json()["added"]) == (200, 1)
    bogus = {"Content-Type": "text/csv; charset=nonsense"}
    response = wire.response("POST", "/api/clients", content=latin, headers=bogus, auth=ACME)
    assert response.json()["error_code"] == "BAD_ENCODING"  # falls back to UTF-8
    response = wire.response(
        "POST", "/api/clients", content=latin, headers=headers, params={"encoding": "UTF-8"}, auth=ACME
    )
    assert response.json()["error_code"] == "BAD_ENCODING"  # the option wins
    assert rows(sandbox, "SELECT business_name FROM client") == [("Grøn",)]


def test_body_over_the_cap_is_too_large(wire: Wire, sandbox: MyDsoSandbox) -> None:
    big = CLIENTS + b'"C9";"x";"";""\r\n' * 20_000  # > 256 KiB
    status, body = wire.post("/api/clients", big)
    assert (status, body["error_code"]) == (413, "TOO_LARGE")

    def chunks():  # no Content-Length: the cap is enforced while streaming
        yield CLIENTS
        for _ in range(100):
            yield b'"C9";"x";"";""\r\n' * 200

    status, body = wire.post("/api/clients", chunks())
    assert (status, body["error_code"]) == (413, "TOO_LARGE")
    status, body = wire.post("/apiPutFiles/clients", big)
    assert (status, body["error_code"]) == (413, "TOO_LARGE")
    assert rows(sandbox, "SELECT count(*) FROM client") == [(0,)]


# -- clients, contacts, users -----------------------------------------------------------------------
def test_clients_add_update_unchanged_and_group(wire: Wire, sandbox: MyDsoSandbox) -> None:
    status, body = wire.post("/api/clients", CLIENTS)
    assert status == 200
    assert subset(body, ok(rows=3, added=3)) == ok(rows=3, added=3)
    assert body["file_type"] == "clients" and body["mode"] is None
    assert body["message"] == "3 rows: 3 added, 0 updated, 0 unchanged, 0 rejected"
    second = (
        b'"client_code";"client_business_name";"client_email"\r\n'
        b'"C0001";"My company";"ap@my.example"\r\n"C0002";"Nordisk Handel ApS";""\r\n'
        b'"";"No code";""\r\n"C0004";"";""\r\n"C0002";"Twice";""\r\n'
    )
    status, body = wire.post("/api/clients", second)
    expected = ok(rows=5, added=0, updated=1, unchanged=0, rejected=3, rejected_rows=[
        {"line": 4, "column": "client_code", "reason": "MISSING_REQUIRED"},
        {"line": 5, "column": "client_business_name", "reason": "MISSING_REQUIRED"},
        {"line": 6, "column": "client_code", "reason": "DUPLICATE_KEY"},
    ])  # fmt: skip
    # C0002 gets a new column (client_email, empty) so its data changed too
    expected["updated"], expected["unchanged"] = 2, 0
    assert subset(body, expected) == expected
    assert body["unknown_columns"] == []
    status, body = wire.post("/api/clients", second)
    assert (body["updated"], body["unchanged"]) == (0, 2)
    stored = rows(
        sandbox, "SELECT client_code, business_name, group_name, data FROM client ORDER BY client_code"
    )
    assert stored[0][:3] == ("C0001", "My company", "Retail")
    assert stored[0][3] == (
        '{"client_code":"C0001","client_business_name":"My company","client_id":"FR12345678",'
        '"client_field_perso1":"Retail","client_email":"ap@my.example"}'
    )
    assert stored[1][:3] == ("C0002", "Nordisk Handel ApS", None)
    assert stored[2][:3] == ("C0003", "Café Ørsted", "Retail")


def test_unknown_columns_are_reported_not_fatal(wire: Wire) -> None:
    status, body = wire.post("/api/clients", b"client_code;client_business_name;colour\r\nC1;One;blue\r\n")
    assert (status, body["added"], body["unknown_columns"]) == (200, 1, ["colour"])
    assert (
        body["message"]
        == "1 rows: 1 added, 0 updated, 0 unchanged, 0 rejected; ignored unknown columns: colour"
    )


def test_contacts_upsert_by_email_or_name_and_one_collection_contact(
    wire: Wire, sandbox: MyDsoSandbox
) -> None:
    wire.post("/api/clients", CLIENTS)
    seed = (
        b'"contact_firstname";"contact_lastname";"contact_role";"client_code"\r\n'
        b'"Mike";"Jackson";"other";"C0001"\r\n'
    )
    status, body = wire.post("/api/contacts", seed)
    assert (status, body["added"]) == (200, 1)
    status, body = wire.post("/api/contacts", seed)
    assert (body["added"], body["unchanged"]) == (0, 1)
    more = (
        b"client_code;contact_lastname;contact_firstname;contact_email;contact_collection\r\n"
        b"C0001;Jensen;Anna;Anna@Example.DK;1\r\nC0001;Hansen;Bo;bo@example.dk;1\r\n"
        b"C0009;Nobody;No;;0\r\nC0001;;Lastless;;0\r\n"
    )
    status, body = wire.post("/api/contacts", more)
    assert subset(body, {"rows": 4, "added": 2, "rejected": 2}) == {"rows": 4, "added": 2, "rejected": 2}
    assert body["rejected_rows"] == [
        {"line": 4, "column": "client_code", "reason": "UNKNOWN_CLIENT"},
        {"line": 5, "column": "contact_lastname", "reason": "MISSING_REQUIRED"},
    ]
    keys = rows(
        sandbox,
        "SELECT contact_key, json_extract(data, '$.contact_collection') FROM contact ORDER BY contact_key",
    )
    assert keys == [("anna@example.dk", "0"), ("bo@example.dk", "1"), ("mike jackson", None)]


def test_users_links_add_and_replace(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", CLIENTS)
    status, body = wire.post(
        "/api/users", b'"user_firstname";"user_lastname";"client_code"\r\n"John";"Roy";"C0001"\r\n'
    )
    assert (status, body["added"]) == (200, 1)
    links = "user_email;user_firstname;client_code\r\nkim@x.dk;Kim;C0001\r\nkim@x.dk;Kim;C0002\r\n"
    status, body = wire.post("/api/users", links.encode())
    assert (body["added"], body["updated"]) == (1, 1)
    status, body = wire.post("/api/users", b"user_email;client_code\r\nKIM@x.dk;C0003\r\n")
    assert (body["added"], body["updated"]) == (0, 1)  # add only: a new link
    assert rows(sandbox, "SELECT client_code FROM user_client WHERE user_key = 'kim@x.dk' ORDER BY 1") == [
        ("C0001",), ("C0002",), ("C0003",)
    ]  # fmt: skip
    status, body = wire.post(
        "/api/users", b"user_email;client_code\r\nkim@x.dk;C0002\r\n", {"replace_users_association": "1"}
    )
    assert body["message"].endswith("; 2 client links removed (replace_users_association)")
    assert rows(sandbox, "SELECT user_key, client_code FROM user_client ORDER BY 1, 2") == [
        ("john roy", "C0001"), ("kim@x.dk", "C0002")
    ]  # fmt: skip
    status, body = wire.post("/api/users", b"user_role;client_code\r\nGuest;C0001\r\n")
    assert (status, body["error_code"], body["column"]) == (400, "CSV_BAD_SYNTAX", "user_email")


# -- items: STOCK and DELTA -------------------------------------------------------------------------
def test_items_stock_lifecycle_with_events(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", CLIENTS)
    stock = {"clear_items_not_modified": "true"}
    _, body = wire.post(
        "/api/items", items_csv(item("1"), item("2", "500"), item("3", "-200", kind="AVO")), stock
    )
    assert subset(body, ok(rows=3, added=3)) == ok(rows=3, added=3)
    assert (body["mode"], body["message"]) == (
        "STOCK",
        "3 rows: 3 added, 0 updated, 0 unchanged, 0 cleared, 0 rejected",
    )
    sandbox.advance(1)  # 2025-07-01
    _, body = wire.post(
        "/api/items", items_csv(item("1", remaining="400.00"), item("3", "-200", kind="AVO")), stock
    )
    assert subset(body, ok(rows=2, updated=1, unchanged=1, cleared=1)) == ok(
        rows=2, updated=1, unchanged=1, cleared=1
    )
    assert items_state(sandbox) == {
        "C0001|AVO|3|2025": ("-200.00", None, None),
        "C0001|FAC|1|2025": ("400.00", None, None),
        "C0001|FAC|2|2025": ("0.00", "2025-07-01", "STOCK"),
    }
    sandbox.advance(1)  # 2025-07-02: item 2 comes back (reopened), item 1 paid by a dated payment
    _status, body = wire.post(
        "/api/items",
        items_csv(item("1", payment="2025-06-28"), item("2", "500"), item("3", "-200", kind="AVO")),
        stock,
    )
    assert subset(body, ok(rows=3, updated=2, unchanged=1, cleared=1)) == ok(
        rows=3, updated=2, unchanged=1, cleared=1
    )
    assert events(sandbox) == [
        ("C0001|AVO|3|2025", "2025-06-30", "created", "-200.00", None),
        ("C0001|FAC|1|2025", "2025-06-30", "created", "1000.00", None),
        ("C0001|FAC|2|2025", "2025-06-30", "created", "500.00", None),
        ("C0001|FAC|1|2025", "2025-07-01", "updated", "400.00", None),
        ("C0001|FAC|2|2025", "2025-07-01", "cleared", "0.00", "2025-07-01"),
        ("C0001|FAC|1|2025", "2025-07-02", "cleared", "0.00", "2025-06-28"),
        ("C0001|FAC|2|2025", "2025-07-02", "reopened", "500.00", None),
    ]
    assert items_state(sandbox)["C0001|FAC|1|2025"] == ("0.00", "2025-06-28", "DELTA")
    imports = rows(sandbox, "SELECT file_type, mode, channel, import_date FROM import ORDER BY id")
    assert imports == [
        ("clients", None, "http", "2025-06-30"), ("items", "STOCK", "http", "2025-06-30"),
        ("items", "STOCK", "http", "2025-07-01"), ("items", "STOCK", "http", "2025-07-02"),
    ]  # fmt: skip


def test_items_delta_never_clears_absent_items(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", CLIENTS)
    wire.post("/api/items", items_csv(item("1"), item("2")))
    _, body = wire.post("/api/items", items_csv(item("3")), {"clear_items_not_modified": "false"})
    assert (body["mode"], body["added"], body["cleared"]) == ("DELTA", 1, 0)
    _status, body = wire.post("/api/items", items_csv(item("2", payment="2025-06-15")))
    assert (body["updated"], body["cleared"]) == (1, 1)
    assert items_state(sandbox) == {
        "C0001|FAC|1|2025": ("1000.00", None, None),
        "C0001|FAC|2|2025": ("0.00", "2025-06-15", "DELTA"),
        "C0001|FAC|3|2025": ("1000.00", None, None),
    }


def test_history_items_arrive_cleared_with_one_created_event(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", CLIENTS)
    _status, body = wire.post(
        "/api/items", items_csv(item("7", "300", issue="2025-01-10", payment="2025-02-01"))
    )
    assert (body["added"], body["cleared"]) == (1, 0)
    assert events(sandbox) == [("C0001|FAC|7|2025", "2025-06-30", "created", "0.00", "2025-02-01")]
    assert rows(sandbox, "SELECT amount_initial, amount_remaining, payment_date, cleared_by FROM item") == [
        ("300.00", "0.00", "2025-02-01", "DELTA")
    ]


def test_row_rejections_and_reason_codes(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", CLIENTS)
    body_bytes = items_csv(
        item("1"),
        item("2", client=""),
        item("", client="C0001"),
        item("4", issue="2025-02-30"),
        item("5", due=""),
        item("6", "12,34,5x"),
        item("7", remaining="lots"),
        item("8", payment="yesterday"),
        item("9", kind="XYZ"),
        item("10", currency="EURO"),
        item("11", client="C0404"),
        item("1", "999"),
        item("12", "-50", kind=""),
    )
    status, body = wire.post("/api/items", body_bytes)
    assert status == 200
    assert body["rejected_rows"] == [
        {"line": 3, "column": "client_code", "reason": "MISSING_REQUIRED"},
        {"line": 4, "column": "item_number", "reason": "MISSING_REQUIRED"},
        {"line": 5, "column": "item_date_issue", "reason": "BAD_DATE"},
        {"line": 6, "column": "item_date_due", "reason": "MISSING_REQUIRED"},
        {"line": 7, "column": "item_amount_initial_inc_tax", "reason": "BAD_AMOUNT"},
        {"line": 8, "column": "item_amount_remaining_inc_tax", "reason": "BAD_AMOUNT"},
        {"line": 9, "column": "item_date_payment", "reason": "BAD_DATE"},
        {"line": 10, "column": "item_type", "reason": "BAD_VALUE"},
        {"line": 11, "column": "item_currency", "reason": "BAD_VALUE"},
        {"line": 12, "column": "client_code", "reason": "UNKNOWN_CLIENT"},
        {"line": 13, "column": "item_number", "reason": "DUPLICATE_KEY"},
    ]
    assert subset(body, {"rows": 13, "added": 2, "rejected": 11}) == {"rows": 13, "added": 2, "rejected": 11}
    # without a type, a credit is an unallocated payment (spec §3)
    assert items_state(sandbox) == {"C0001|FAC|1|2025": ("1000.00", None, None),
                                    "C0001|RGL|12|2025": ("-50.00", None, None)}  # fmt: skip


def test_a_rejected_row_in_stock_never_clears_its_item(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", CLIENTS)
    wire.post("/api/items", items_csv(*(item(str(n)) for n in range(1, 7))))
    sandbox.advance(1)
    _status, body = wire.post(
        "/api/items",
        items_csv(
            item("1", "bad"), item("2", issue="13/13/2025"), item("3", due="soon"), item("4", kind="XYZ"),
            item("5", currency="€"),
        ),
        {"clear_items_not_modified": "true"},
    )  # fmt: skip
    assert (body["rejected"], body["cleared"]) == (5, 1)
    state = items_state(sandbox)
    assert [key for key, value in state.items() if value[1] is not None] == ["C0001|FAC|6|2025"]


def test_a_row_that_cannot_be_matched_blocks_stock_clearing(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", CLIENTS)
    wire.post("/api/items", items_csv(item("1"), item("2")))
    _status, body = wire.post(
        "/api/items", items_csv(item("1"), item("", client="")), {"clear_items_not_modified": "1"}
    )
    assert (body["rejected"], body["cleared"]) == (1, 0)
    assert "STOCK clearing skipped: line 3 cannot be matched to an item" in body["message"]
    assert all(payment is None for _, payment, _ in items_state(sandbox).values())


def test_item_unique_key_and_year_of_issue(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", CLIENTS)
    header = ITEM_HEADER_ONLY.decode().strip() + ';"item_unique_key"'
    data = items_csv(
        (*item("1", issue="2024-12-20"), ""), (*item("1", issue="2025-01-05"), ""),
        (*item("77"), "ERP-77"), (*item("78"), "ERP-77"), header=header,
    )  # fmt: skip
    _status, body = wire.post("/api/items", data)
    assert body["rejected_rows"] == [{"line": 5, "column": "item_unique_key", "reason": "DUPLICATE_KEY"}]
    assert sorted(items_state(sandbox)) == ["C0001|FAC|1|2024", "C0001|FAC|1|2025", "ERP-77"]


def test_other_accounts_are_isolated(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", CLIENTS)
    wire.post("/api/items", items_csv(item("1")))
    _status, body = wire.post("/api/items", items_csv(item("1")), auth=OTHER)
    assert body["rejected_rows"] == [{"line": 2, "column": "client_code", "reason": "UNKNOWN_CLIENT"}]
    wire.post("/api/clients", CLIENTS, auth=OTHER)
    wire.post("/api/items", items_csv(item("5")), {"clear_items_not_modified": "true"}, auth=OTHER)
    assert items_state(sandbox) == {"C0001|FAC|1|2025": ("1000.00", None, None)}
    assert items_state(sandbox, "other") == {"C0001|FAC|5|2025": ("1000.00", None, None)}


# -- asynchronous path ------------------------------------------------------------------------------
def test_async_submit_and_poll(wire: Wire, sandbox: MyDsoSandbox) -> None:
    status, body = wire.post("/apiPutFiles/clients", CLIENTS)
    assert status == 202
    assert set(body) == {"success", "job_id", "status"} and (body["success"], body["status"]) == (
        True,
        "queued",
    )
    job_id = body["job_id"]
    assert sandbox.jobs.join(10)
    status, polled = wire.get(f"/apiPutFiles/{job_id}")
    assert status == 200
    assert (polled["status"], polled["job_id"], polled["file_type"]) == ("done", job_id, "clients")
    assert subset(polled["report"], ok(rows=3, added=3)) == ok(rows=3, added=3)
    assert wire.get(f"/apiPutFiles/{job_id}", auth=OTHER) == (
        404, {"success": False, "error_code": "UNKNOWN_JOB", "message": "no such job"}
    )  # fmt: skip
    assert wire.get(f"/apiPutFiles/{job_id}", auth=("acme", "nope"))[0] == 401
    assert rows(sandbox, "SELECT channel FROM import") == [("async",)]


def test_async_failed_job_and_early_errors(wire: Wire, sandbox: MyDsoSandbox) -> None:
    status, body = wire.post("/apiPutFiles/items", SEED_ITEMS)
    assert status == 202
    sandbox.jobs.join(10)
    status, polled = wire.get(f"/apiPutFiles/{body['job_id']}")
    assert (polled["status"], polled["report"]["error_code"]) == ("failed", "CSV_BAD_SYNTAX")
    assert wire.post("/apiPutFiles/invoices", CLIENTS)[1]["error_code"] == "UNKNOWN_TYPE"
    assert wire.post("/apiPutFiles/items", CLIENTS, {"encoding": "nope"})[1]["error_code"] == "BAD_ENCODING"
    assert wire.post("/apiPutFiles/items", CLIENTS, auth=None)[0] == 401


def test_async_jobs_run_in_submission_order(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", CLIENTS)
    ids = [wire.post("/apiPutFiles/items", items_csv(item("1", f"{n}.00")))[1]["job_id"] for n in range(1, 6)]
    sandbox.jobs.join(10)
    reports = [wire.get(f"/apiPutFiles/{job_id}")[1]["report"] for job_id in ids]
    assert [(r["added"], r["updated"]) for r in reports] == [(1, 0), (0, 1), (0, 1), (0, 1), (0, 1)]
    assert items_state(sandbox) == {"C0001|FAC|1|2025": ("5.00", None, None)}


# -- operator routes --------------------------------------------------------------------------------
def test_clock(wire: Wire, sandbox: MyDsoSandbox) -> None:
    assert wire.get("/_sandbox/clock") == (200, {"today": TODAY.isoformat()})
    assert wire.post("/_sandbox/clock", b'{"advance_days": 3}') == (200, {"today": "2025-07-03"})
    assert wire.post("/_sandbox/clock", b'{"today": "2026-01-31"}') == (200, {"today": "2026-01-31"})
    assert sandbox.today.isoformat() == "2026-01-31"
    status, body = wire.post("/_sandbox/clock", b'{"today": "31/01/2026"}')
    assert (status, body["error_code"]) == (400, "BAD_OPTION")


def test_get_on_import_route_is_not_allowed(wire: Wire) -> None:
    assert wire.response("GET", "/api/items", auth=ACME).status_code == 405


def test_sandbox_repr_and_errors_hold_no_secret(tmp_path: Path) -> None:
    sb = MyDsoSandbox(tmp_path / "db.sqlite3", accounts={"acme": "pw-that-is-secret"})
    try:
        assert "pw-that-is-secret" not in repr(sb) + repr(sb.store)
        assert rows(sb, "SELECT count(*) FROM account WHERE password_hash LIKE '%secret%'") == [(0,)]
        assert b"pw-that-is-secret" not in (tmp_path / "db.sqlite3").read_bytes()
    finally:
        sb.close()
