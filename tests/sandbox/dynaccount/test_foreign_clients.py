"""Conformance: the sandbox as clients no one here wrote drive it (PHP library v5/v7, Ruby gem, curl).

Requests are built and signed by ``foreign_clients`` (written from the spec text, independent of
``dsobridge.dynaccount``), sent with raw httpx2 in-process and over a loopback socket.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import socket
from collections.abc import Iterator
from decimal import Decimal

import httpx2
import pytest
from foreign_clients import FORM, Foreign, php_bulk_form, php_form, sha1_hash, voucher_multipart

from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox

TODAY = dt.date(2026, 11, 20)

SEED_VATCODES = {  # the seed's response, minus ids and account numbers (those are the company's own)
    "EI25": ("EU køb", "EU salg", "NET", 25, 100, "EU køb"),
    "EU25": ("EU salg", "EU køb", "NET", 25, 100, "EU salg"),
    "I25": ("Købsmoms", "", "GROSS", 25, 100, "Indgående moms (Købsmoms)"),
    "REP": ("Købsmoms", "", "GROSS", 25, 25, "Repræsentation"),
    "U25": ("Salgsmoms", "", "GROSS", 25, 100, "Udgående moms (Salgsmoms)"),
}
SEED_KEYS = {
    "id",
    "account_id_",
    "account_name",
    "accountoff_id_",
    "accountoff_name",
    "name",
    "type",
    "percent",
    "deduction_percent",
    "txt",
}
# the seed's put example, as the PHP library sends it (utf8_encode('dkk') stays lower-case)
SEED_ACCOUNT = {
    "account_id_": 1110,
    "name": "Kontonavn",
    "type": "BALANCE",
    "is_monitored": "NO",
    "vatcode_name": "",
    "sum_account_id_": "",
    "ref_currency_name": "dkk",
    "is_dimension": "NO",
}


@pytest.fixture
def sb() -> Iterator[DynaccountSandbox]:
    sandbox = DynaccountSandbox(today=TODAY)
    sandbox.seed(debtors=6, invoices=40, seed=7)
    yield sandbox
    sandbox.close()


def _json(response: httpx2.Response) -> dict:
    assert response.headers["content-type"] == "application/json"
    return json.loads(response.content, parse_float=Decimal)


def _ok(response: httpx2.Response) -> list[dict]:
    assert response.status_code == 200, response.text[:300]
    return _json(response)["result"]


# -- the seed's exact request ------------------------------------------------------------------------------
def _check_seed_answer(payload: dict) -> None:
    rows = {row["name"]: row for row in payload["result"]}
    assert set(SEED_VATCODES) <= set(rows)
    for name, (account, accountoff, kind, percent, deduction, txt) in SEED_VATCODES.items():
        row = rows[name]
        assert set(row) == SEED_KEYS
        assert (row["accountoff_id_"] == "") == (accountoff == "")  # the seed: "" when there is none
        got = (row["account_name"], row["accountoff_name"], row["type"], row["percent"])
        assert got == (account, accountoff, kind, percent)
        assert (row["deduction_percent"], row["txt"]) == (deduction, txt)
    meta = payload["metadata"]
    assert set(meta) == {"page", "offset", "num", "order", "request_time"}
    n = len(payload["result"])
    assert (meta["page"], meta["offset"], meta["num"]) == (1, n, n)
    assert [row["name"] for row in payload["result"]] == sorted(rows)  # the seed: rows by name …
    assert meta["order"] == "name" and isinstance(meta["request_time"], Decimal)  # … and "order": "name"


def test_seed_request_byte_for_byte_over_a_socket(sb: DynaccountSandbox) -> None:
    c = sb.credentials
    path = f"/v5/{c.api_id}/{c.api_key}/get/vatcode/json/"
    with LoopbackServer(sb.app) as server:
        host = server.url.removeprefix("http://")
        body = f"__api_hash={sha1_hash(host + path, b'', c.api_secret)}".encode()
        assert len(body) == 51
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: 51\r\nAccept-encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", int(host.rsplit(":", 1)[1])), timeout=10) as sock:
            for _ in range(2):  # twice on one keep-alive connection, as the seed recommends
                sock.sendall(head.encode() + body)
                raw = b""
                while b"\r\n\r\n" not in raw:
                    raw += sock.recv(65536)
                header, _, rest = raw.partition(b"\r\n\r\n")
                lines = header.decode().split("\r\n")
                assert lines[0] == "HTTP/1.1 200 OK"
                fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                assert fields["content-type"] == "application/json"
                while len(rest) < int(fields["content-length"]):
                    rest += sock.recv(65536)
                _check_seed_answer(json.loads(rest, parse_float=Decimal))
        assert server.connections == 1


def test_seed_request_in_process(foreign: Foreign) -> None:
    response = foreign.v5("get", "vatcode")
    assert response.request.headers["content-length"] == "51"
    assert response.status_code == 200
    _check_seed_answer(_json(response))


# -- query encodings real clients use -----------------------------------------------------------------------
BY_NAME = ["EI25", "EU25", "I25", "REP", "U0", "U25"]  # no order asked: by name, as the seed
DESC = BY_NAME[::-1]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("select=id,name", BY_NAME),  # PHP: commas raw between urlencoded
        ("select=id%2Cname", BY_NAME),
        ("select=id%2cname", BY_NAME),  # lower-case hex
        ("order=name+DESC&select=name", DESC),  # PHP urlencode('name DESC')
        ("order=name%20DESC&select=name", DESC),  # curl --data-urlencode
        ("order=name+desc&select=name", DESC),  # Ruby gem
        ("order=type,name+DESC&select=name", ["U25", "U0", "REP", "I25", "EU25", "EI25"]),
        ("select=name&limit=0,2", ["EI25", "EU25"]),  # curl, comma raw
        ("select=name&limit=0%2C2", ["EI25", "EU25"]),  # PHP urlencode('0,2')
        ("select=name&limit=2%2c2", ["I25", "REP"]),
        ("name=U25", ["U25"]),  # where-filter as a plain pair (http_build_query)
        ("name=U25&select=name,txt", ["U25"]),
        ("type=NET&order=name", ["EI25", "EU25"]),
        ("account_id_=7100&order=name+DESC", ["REP", "I25"]),  # Ruby find_by: raw k=v
        ("%6Eame=%55%32%35", ["U25"]),  # escapes anywhere, upper-case hex
        ("%6eame=%55%32%35", ["U25"]),  # lower-case hex
    ],
)
def test_query_encodings_authenticate_and_parse(foreign: Foreign, query: str, names: list[str]) -> None:
    for response in (
        foreign.v5("get", "vatcode", query=query),
        foreign.v7("GET", "get", "vatcode", query=query),
    ):
        assert [row["name"] for row in _ok(response)] == names


def test_tilde_raw_or_escaped_is_the_same_value(foreign: Foreign) -> None:
    row = _ok(foreign.v5("put", "unit", body="name=stk%7E1"))[0]
    assert row["name"] == "stk~1"
    for query in ("name=stk~1", "name=stk%7E1", "name=stk%7e1"):
        assert [r["id"] for r in _ok(foreign.v5("get", "unit", query=query))] == [row["id"]]


def test_limit_metadata_and_order_echo(foreign: Foreign) -> None:
    payload = _json(foreign.v7("GET", "get", "vatcode", query="select=name&order=name+DESC&limit=2%2C2"))
    assert [r["name"] for r in payload["result"]] == ["REP", "I25"]
    meta = payload["metadata"]
    assert (meta["page"], meta["offset"], meta["num"], meta["order"]) == (2, 4, 2, "name DESC")


@pytest.mark.parametrize(
    "query",
    ["limit=abc", "limit=0,10,5", "limit=-1", "limit=1_0", "limit=%D9%A3", "limit=0,100001", "limit=,"],
)
def test_bad_limit_strings_are_400(foreign: Foreign, query: str) -> None:
    response = foreign.v5("get", "vatcode", query=query)
    assert response.status_code == 400
    assert list(_json(response)["error"]) == ["request"]


# -- v7 layouts --------------------------------------------------------------------------------------------
def test_v7_get_put_delete_action_without_json_segment(foreign: Foreign) -> None:
    row = _ok(foreign.v7("GET", "get", "vatcode", "3"))
    assert [r["name"] for r in row] == ["I25"]
    created = _ok(foreign.v7("POST", "put", "unit", body=php_form({"name": "kasse"})))[0]
    renamed = _ok(foreign.v7("POST", "put", "unit", str(created["id"]), body="name=karton"))[0]
    assert (renamed["id"], renamed["name"]) == (created["id"], "karton")
    # the PHP library sends delete and parameterless actions as GET (no body → CURLOPT_POST false)
    assert _ok(foreign.v7("GET", "delete", "unit", str(created["id"]))) == [{"id": created["id"]}]
    assert foreign.v7("GET", "get", "unit", str(created["id"])).status_code == 404
    other = _ok(foreign.v7("POST", "put", "unit", body="name=pose"))[0]["id"]
    assert _ok(foreign.v7("POST", "delete", "unit", str(other))) == [{"id": other}]  # Ruby/curl: POST
    next_enc = _ok(foreign.v7("GET", "action", "get_next_enc_id_"))
    assert list(next_enc[0]) == ["enc_id_"] and next_enc[0]["enc_id_"] >= 1
    module = _ok(foreign.v7("POST", "action", "get_next_module_id_", body="type=debtor"))[0]["module_id_"]
    highest = _ok(
        foreign.v7("GET", "get", "debtor", query="select=module_id_&order=module_id_+DESC&limit=0,1")
    )
    assert module == highest[0]["module_id_"] + 1


# -- the seed's PHP put / insert_bulk / delete / action ------------------------------------------------------
def test_seed_account_put_is_accepted_like_the_real_service(foreign: Foreign) -> None:
    row = _ok(foreign.v5("put", "account", body=php_form(SEED_ACCOUNT)))[0]
    assert (row["account_id_"], row["name"], row["type"]) == (1110, "Kontonavn", "BALANCE")
    assert (row["vatcode_name"], row["sum_account_id_"], row["ref_currency_name"]) == ("", "", "DKK")
    again = _ok(foreign.v5("get", "account", row=str(row["id"])))
    assert again == [row]


@pytest.mark.parametrize("brackets", ["raw", "encoded"])
def test_seed_insert_bulk_then_delete(foreign: Foreign, brackets: str) -> None:
    rows = [dict(SEED_ACCOUNT), dict(SEED_ACCOUNT, account_id_=1111, name="Kontonavn 2")]
    body = php_bulk_form(rows, encode_brackets=brackets == "encoded")
    assert body.startswith("account_id_%5B0%5D=1110&" if brackets == "encoded" else "account_id_[0]=1110&")
    created = _ok(foreign.v5("insert_bulk", "account", body=body))
    assert [(r["account_id_"], r["name"], r["ref_currency_name"]) for r in created] == [
        (1110, "Kontonavn", "DKK"),
        (1111, "Kontonavn 2", "DKK"),
    ]
    assert _ok(foreign.v5("delete", "account", row=str(created[0]["id"]))) == [{"id": created[0]["id"]}]
    left = _ok(foreign.v5("get", "account", query="order=account_id_&account_id_=1111&select=account_id_"))
    assert left == [{"account_id_": 1111}]


def test_insert_bulk_errors_are_keyed_by_line(foreign: Foreign) -> None:
    body = php_bulk_form([dict(SEED_ACCOUNT), dict(SEED_ACCOUNT, ref_currency_name="xyz", account_id_=1112)])
    response = foreign.v5("insert_bulk", "account", body=body)
    assert response.status_code == 400
    assert _json(response) == {"error": {"1": {"ref_currency_name": "No currency with name 'xyz'"}}}
    assert _ok(foreign.v5("get", "account", query="account_id_=1110")) == []  # all or nothing


def test_seed_action_send_debtor_invoice(foreign: Foreign) -> None:
    query = "is_booked=YES&select=id,invoice_id_&limit=0,1"
    booked = _ok(foreign.v5("get", "debtor_invoice", query=query))[0]
    params = {"invoice_id": booked["id"], "is_attached": "NO", "email": "alias@domain.com"}  # the ROW id
    params["msg"] = "Fremsendelse af faktura"
    result = _ok(foreign.v5("action", "send_debtor_invoice", body=php_form(params)))
    assert len(result) == 1
    sent = foreign.http.get("/_sandbox/outbox").json()["outbox"][-1]
    assert (sent["invoice_id_"], sent["email"], sent["msg"]) == (
        booked["invoice_id_"],
        "alias@domain.com",
        "Fremsendelse af faktura",
    )


# -- documents and reports ---------------------------------------------------------------------------------
def test_documents_invoice_order_quote_are_pdf(foreign: Foreign) -> None:
    number = _ok(foreign.v5("get", "debtor_invoice", query="is_booked=YES&select=invoice_id_&limit=0,1"))[0]
    debtor = _ok(foreign.v5("get", "debtor", query="select=module_id_&limit=0,1"))[0]["module_id_"]
    order = _ok(foreign.v5("put", "debtor_order", body=f"module_id_={debtor}"))[0]["order_id_"]
    quote = _ok(foreign.v5("put", "debtor_quote", body=f"module_id_={debtor}"))[0]["quote_id_"]
    for kind, doc in (("invoice", number["invoice_id_"]), ("order", order), ("quote", quote)):
        for response in (
            foreign.v5("document", kind, number=str(doc)),  # [ours] /document/KIND/NUMBER/json/
            foreign.v5("document", kind, row=str(doc)),  # v5 PHP style: /document/KIND/json/NUMBER/
            foreign.v7("GET", "document", kind, str(doc)),
        ):
            assert response.status_code == 200, (kind, response.text[:200])
            assert response.headers["content-type"] == "application/pdf"
            assert response.content.startswith(b"%PDF")
    missing = foreign.v7("GET", "document", "invoice", "999999")
    assert (missing.status_code, list(_json(missing)["error"])) == (404, ["not_found"])


@pytest.mark.parametrize(
    "report",
    ["ledger_balance", "ledger_cards", "module_ledger_balance", "module_ledger_cards", "module_turnover"],
)
def test_reports_with_the_seed_params(foreign: Foreign, report: str) -> None:
    params = {
        "time_from": 1451602800,  # mktime(0,0,0,1,1,2016) in Copenhagen
        "time_to": 1483138800,
        "account_from": "",
        "account_to": "",
        "draft_entries": "WITH",
        "closing_balance": "ALL",
        "account_movements": "ALL",
        "dimension_name": "",
    }
    for response in (
        foreign.v5("report", report, query="lang=da", body=php_form(params)),
        foreign.v7("POST", "report", report, "pdf", query="lang=da", body=php_form(params)),
    ):
        assert response.status_code == 200, response.text[:200]
        assert response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")


# -- upload_voucher (spec §3: multipart, gzipped files, hash over the part values) ---------------------------
@pytest.mark.parametrize("version", ["v7", "v5"])
def test_upload_voucher_as_the_php_library_sends_it(foreign: Foreign, version: str) -> None:
    files = [("faktura.pdf", b"%PDF-1.4 faktura"), ("kvittering.jpg", b"\xff\xd8\xff kvittering")]
    mp = voucher_multipart("test bilag", "Jens Jensen", files, boundary="d41d8cd98f00b204e9800998ecf8427e")
    path = foreign.path(version, "action", "upload_voucher", "json" if version == "v5" else "")
    digest = sha1_hash(foreign.host + path, mp.hash_base, foreign.api_secret)
    response = foreign.send(
        "POST", path, body=mp.body, headers={"Content-Type": mp.content_type, "X-Hash": digest}
    )
    rows = _ok(response)
    assert [(r["label"], r["from_name"], r["file_name"], r["file_size"]) for r in rows] == [
        ("test bilag", "Jens Jensen", "faktura.pdf", 16),
        ("test bilag", "Jens Jensen", "kvittering.jpg", 14),
    ]
    # gzip.compress embeds the current second unless mtime is fixed: both sides must compress alike
    original = gzip.compress(files[0][1], 6, mtime=0)
    assert original in mp.body
    tampered = mp.body.replace(original, gzip.compress(b"%PDF-1.4 forged!", 6, mtime=0))
    bad = foreign.send(
        "POST", path, body=tampered, headers={"Content-Type": mp.content_type, "X-Hash": digest}
    )
    assert (bad.status_code, _json(bad)) == (401, {"error": {"hash": "Invalid hash"}})


# -- authentication failures: the 401 shapes of docs/dynaccount-wire.md --------------------------------------
HASH_401 = {"error": {"hash": "Invalid hash"}}
AUTH_401 = {"error": {"auth": "Unknown API_ID or API_KEY"}}


def test_host_header_with_and_without_port(foreign: Foreign) -> None:
    bare = foreign.host.split(":")[0]
    for host in (bare, f"{bare}:8443"):
        assert _ok(foreign.v5("get", "vatcode", query="name=U25", host=host))[0]["name"] == "U25"
    # signed for one Host, sent with another: the hash covers the Host as received
    path = foreign.path("v5", "get", "vatcode", "json")
    digest = sha1_hash(f"{bare}:8443{path}", b"", foreign.api_secret)
    response = foreign.send("POST", path, body=f"__api_hash={digest}".encode(), headers={"Host": bare})
    assert (response.status_code, _json(response)) == (401, HASH_401)


def test_wrong_secret_unknown_key_and_id(foreign: Foreign) -> None:
    wrong = foreign.v5("get", "vatcode", secret="0" * 40)
    assert (wrong.status_code, _json(wrong)) == (401, HASH_401)
    for api_id, api_key in ((foreign.api_id, "b" * 40), (foreign.api_id + 1, foreign.api_key)):
        other = Foreign(foreign.http, foreign.host, api_id, api_key, foreign.api_secret)
        response = other.v5("get", "vatcode")
        assert (response.status_code, _json(response)) == (401, AUTH_401)
        assert api_key not in response.text


def test_hash_not_last_missing_or_tampered(foreign: Foreign) -> None:
    path = foreign.path("v5", "put", "unit", "json")
    body = b"name=palle"
    digest = sha1_hash(foreign.host + path, body, foreign.api_secret)
    cases = [
        f"__api_hash={digest}&".encode() + body,  # hash first
        body,  # no hash at all
        b"name=pallX&__api_hash=" + digest.encode(),  # tampered value
        b"",
    ]
    for raw in cases:
        response = foreign.send("POST", path, body=raw, headers={"Content-Type": FORM})
        assert (response.status_code, _json(response)) == (401, HASH_401)
    assert _ok(foreign.v5("get", "unit", query="name=palle")) == []  # nothing was written
    upper = foreign.send("POST", path, body=body + b"&__api_hash=" + digest.upper().encode())
    assert _ok(upper)[0]["name"] == "palle"


# -- never a 500 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status", "key"),
    [
        (b"name=%ff%fe", 400, "request"),  # not UTF-8 once decoded
        (b"name=\xff\xfe", 400, "request"),  # raw bytes that are not UTF-8
        (b"name=%zz", 400, "request"),  # broken escape
        (b"name=%00", 400, "request"),
        (b"&&==&", 400, None),
        (b"module_id_=0", 200, None),  # a contact without a debtor was a 500 (NOT NULL module_id)
    ],
)
def test_garbage_bodies_are_4xx(foreign: Foreign, body: bytes, status: int, key: str | None) -> None:
    response = foreign.v5("put", "contact", body=body)
    assert response.status_code == status, response.text[:200]
    if key is not None:
        assert list(_json(response)["error"]) == [key]


@pytest.mark.parametrize(
    ("call", "status"),
    [
        (("get", "nosuch"), 404),
        (("put", "nosuch"), 404),
        (("action", "nosuch"), 404),
        (("report", "nosuch"), 404),
        (("action", "close_year"), 400),
    ],
)
def test_unknown_names(foreign: Foreign, call: tuple[str, str], status: int) -> None:
    response = foreign.v5(*call)
    assert response.status_code == status
    assert len(_json(response)["error"]) == 1


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("book_debtor_invoice", "id=99999999999999999999"),  # beyond SQLite's 64-bit integers: was a 500
        ("book_debtor_invoice", "id=%C2%B2"),  # '²'.isdigit() is True, int('²') fails: was a 500
        ("credit_debtor_invoice", "invoice_id=99999999999999999999"),
        ("send_debtor_invoice", "invoice_id=%C2%B2"),
        ("book_draft", "enc_id_=99999999999999999999"),
    ],
)
def test_bad_action_numbers_are_400(foreign: Foreign, action: str, body: str) -> None:
    response = foreign.v5("action", action, body=body)
    assert response.status_code == 400, response.text[:200]


def test_unicode_digits_in_path_and_report_params(foreign: Foreign) -> None:
    assert foreign.v7("GET", "get", "vatcode", "%C2%B2").status_code == 400
    assert foreign.v7("GET", "document", "invoice", "%C2%B2").status_code == 400
    report = foreign.v5("report", "ledger_cards", body="account_from=%C2%B2&account_to=%C2%B2")
    assert report.status_code == 200 and report.content.startswith(b"%PDF")


def test_huge_body_is_413(foreign: Foreign) -> None:
    path = foreign.path("v5", "put", "unit", "json")
    big = b"name=" + b"x" * (20 * 1024 * 1024 + 1)
    response = foreign.send("POST", path, body=big, headers={"Content-Type": FORM})
    assert response.status_code == 413
    assert _json(response) == {"error": {"request": "Request body too large (limit 20 MiB)"}}


def test_huge_chunked_body_without_length_is_413_over_a_socket(sb: DynaccountSandbox) -> None:
    c = sb.credentials

    def chunks() -> Iterator[bytes]:
        yield b"name="
        for _ in range(21):
            yield b"x" * (1024 * 1024)

    with LoopbackServer(sb.app) as server, httpx2.Client(base_url=server.url) as http:
        path = f"/v5/{c.api_id}/{c.api_key}/put/unit/json/"
        response = http.post(path, content=chunks(), headers={"Content-Type": FORM})
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert response.status_code == 413
        assert http.get("/_sandbox/credentials").status_code == 200  # the server is still up


# -- liberal where real clients are ----------------------------------------------------------------------
def test_v5_get_parameters_in_the_body(foreign: Foreign) -> None:
    rows = _ok(foreign.v5("get", "vatcode", body="select=name%2Ctype&name=REP"))
    assert rows == [{"name": "REP", "type": "GROSS"}]


def test_ruby_gem_raw_query_values(foreign: Foreign) -> None:
    debtor = _ok(foreign.v5("get", "debtor", query="select=module_id_,email&limit=0,1"))[0]
    assert "@" in debtor["email"]
    found = _ok(foreign.v5("get", "debtor", query=f"email={debtor['email']}&select=module_id_"))
    assert found == [{"module_id_": debtor["module_id_"]}]


def test_plus_is_a_space_in_where_values(foreign: Foreign) -> None:
    _ok(foreign.v5("put", "unit", body=php_form({"name": "halv palle"})))
    for query in ("name=halv+palle", "name=halv%20palle"):
        assert [r["name"] for r in _ok(foreign.v5("get", "unit", query=query))] == ["halv palle"]


def test_reference_names_in_any_case_are_stored_canonically(foreign: Foreign) -> None:
    fields = {"name": "Små Fisk ApS", "ref_country_name": "dk", "ref_currency_name": "eur"}
    fields.update(vatcode_name="u0", payment_name="netto 14 dage", module_group_name="udland")
    row = _ok(foreign.v5("put", "debtor", body=php_form(fields)))[0]
    got = [row[k] for k in ("ref_country_name", "ref_currency_name", "vatcode_name", "payment_name")]
    assert got == ["DK", "EUR", "U0", "Netto 14 dage"]
    assert row["module_group_name"] == "Udland"
    unknown = foreign.v5("put", "debtor", body="name=X&ref_currency_name=dkr")
    assert (unknown.status_code, _json(unknown)) == (
        400,
        {"error": {"ref_currency_name": "No currency with name 'dkr'"}},
    )


@pytest.mark.parametrize("where", ["header", "part"])
def test_upload_voucher_with_a_non_ascii_hash_is_401(foreign: Foreign, where: str) -> None:
    mp = voucher_multipart("bilag", "", [("a.pdf", b"%PDF-1.4")], boundary="x" * 32)
    path = foreign.path("v7", "action", "upload_voucher")
    headers: dict[str, str | bytes] = {"Content-Type": mp.content_type}
    body = mp.body
    if where == "header":
        headers["X-Hash"] = ("é" * 40).encode("latin-1")  # was a 500 (UnicodeEncodeError in the comparison)
    else:
        hash_part = b"--" + b"x" * 32 + b'\r\nContent-Disposition: form-data; name="__api_hash"\r\n\r\n'
        body = body.removesuffix(b"--" + b"x" * 32 + b"--") + hash_part + "æø".encode() + b"\r\n"
        body += b"--" + b"x" * 32 + b"--"
    response = foreign.send("POST", path, body=body, headers=headers)
    assert (response.status_code, _json(response)) == (401, HASH_401)


def test_upload_voucher_utf8_label_and_sender(foreign: Foreign) -> None:
    mp = voucher_multipart("Kvittering æøå", "Søren Ærø", [("bon.pdf", b"%PDF-1.4 bon")], boundary="y" * 32)
    path = foreign.path("v7", "action", "upload_voucher")
    digest = sha1_hash(foreign.host + path, mp.hash_base, foreign.api_secret)
    headers = {"Content-Type": mp.content_type, "X-Hash": digest}
    rows = _ok(foreign.send("POST", path, body=mp.body, headers=headers))
    assert [(r["label"], r["from_name"], r["file_name"]) for r in rows] == [
        ("Kvittering æøå", "Søren Ærø", "bon.pdf")
    ]
