"""Every client method against the in-process fake: exact wire bytes, signatures, decoded values."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from decimal import Decimal

import pytest
from dynaccount_testkit import API_KEY, API_SECRET, FakeDynaccount, Reply, ok

from dsobridge.dynaccount import BadResponse, DynaccountClient, ValidationError
from dsobridge.dynaccount.signing import compute_hash

P5 = f"/v5/1234/{API_KEY}"
P7 = f"/v7/1234/{API_KEY}"


def test_seed_request_get_vatcode_v5(fake: FakeDynaccount, make_client) -> None:
    fake.reply(ok([{"id": 8806, "name": "EI25", "percent": 25}]))
    rows = make_client().get("vatcode")
    seen = fake.seen[0]
    assert (seen.method, seen.path, seen.query) == ("POST", f"{P5}/get/vatcode/json/", "")
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen.headers["content-length"] == "51"
    expected = compute_hash(f"api.dynaccount.com{P5}/get/vatcode/json/", "", API_SECRET)
    assert seen.body == f"__api_hash={expected}".encode()
    assert "gzip" in seen.headers["accept-encoding"]
    assert rows == [{"id": 8806, "name": "EI25", "percent": 25}]
    assert isinstance(rows[0]["percent"], int)


def test_get_query_matches_spec_vector_v5(fake: FakeDynaccount, make_client) -> None:
    make_client().get("debtor_invoice", where={"module_id_": 1001})
    seen = fake.seen[0]
    assert seen.query == "module_id_=1001"
    assert seen.body == b"__api_hash=ada131f8950f30a1915530fd9e924e67fbc95597"


def test_get_query_matches_spec_vector_v7(fake: FakeDynaccount, make_client) -> None:
    make_client("v7").get("vatcode", select=["id", "name"], limit="0,10")
    seen = fake.seen[0]
    assert (seen.method, seen.path, seen.query, seen.body) == (
        "GET",
        f"{P7}/get/vatcode/",
        "select=id,name&limit=0%2C10",
        b"",
    )
    assert seen.headers["x-hash"] == "830d5264cb9c8300fdfe30bb0206c1a9df1fc627"
    assert "content-length" not in seen.headers


def test_get_full_query_order_encoding_and_id(fake: FakeDynaccount, make_client) -> None:
    client = make_client()
    client.get(
        "debtor",
        55,
        select="name",
        where={"is_blocked": False, "city": "Århus C", "credit_max": Decimal("1E+3")},
        order=["name", "time desc"],
        limit=(2000, 1000),
    )
    seen = fake.seen[0]
    assert seen.path == f"{P5}/get/debtor/json/55/"
    assert seen.query == (
        "select=name&is_blocked=NO&city=%C3%85rhus+C&credit_max=1000&order=name,time+desc&limit=2000%2C1000"
    )
    assert seen.hash_ok


def test_decimal_money_and_ints(fake: FakeDynaccount, make_client) -> None:
    fake.reply(
        Reply(200, b'{"result":[{"id":7,"total_amount":1250.50,"vat_amount":250.10,"n":3}],"metadata":{}}')
    )
    row = make_client().get("debtor_invoice", 7)[0]
    assert row == {"id": 7, "total_amount": Decimal("1250.50"), "vat_amount": Decimal("250.10"), "n": 3}
    assert type(row["total_amount"]) is Decimal and str(row["total_amount"]) == "1250.50"
    assert type(row["id"]) is int


def test_gzip_response_is_decoded(fake: FakeDynaccount, make_client) -> None:
    payload = b'{"result":[{"id":1,"amount":0.10}]}'
    fake.reply(
        Reply(200, gzip.compress(payload), {"content-encoding": "gzip", "content-type": "application/json"})
    )
    assert make_client().get("debtor") == [{"id": 1, "amount": Decimal("0.10")}]


def test_put_create_and_update(fake: FakeDynaccount, make_client) -> None:
    fake.reply(ok([{"id": 55, "name": "Test ApS"}]), ok([{"id": 55, "name": "Test ApS"}]))
    client = make_client()
    assert client.put("debtor", 0, {"name": "Test ApS", "email": "a@b.dk"}) == {"id": 55, "name": "Test ApS"}
    client.put("debtor", 55, {"name": "Test ApS", "email": "a@b.dk"})
    create, update = fake.seen
    assert create.path == f"{P5}/put/debtor/json/"
    assert update.path == f"{P5}/put/debtor/json/55/"
    assert update.body == b"name=Test+ApS&email=a%40b.dk&__api_hash=6ede017d8ddbafa817e31186740388d252b7f706"


def test_put_value_conversions(fake: FakeDynaccount, make_client) -> None:
    fake.reply(ok([{"id": 1}]))
    fields = {
        "is_monitored": True,
        "credit_max": Decimal("1500.50"),
        "time": dt.date(2024, 3, 9),
        "note": None,
    }
    make_client().put("debtor", 0, fields)
    assert fake.seen[0].signed == b"is_monitored=YES&credit_max=1500.50&time=03-09-2024&note="


def test_put_refuses_float_and_bad_names(make_client) -> None:
    client = make_client()
    with pytest.raises(TypeError, match="Decimal"):
        client.put("debtor", 0, {"credit_max": 1.5})
    with pytest.raises(ValueError, match="table"):
        client.put("debtor/../x", 0, {})
    with pytest.raises(ValueError, match="row id"):
        client.get("debtor", "1/2")  # type: ignore[arg-type]


def test_put_without_row_is_bad_response(fake: FakeDynaccount, make_client) -> None:
    fake.reply(ok([]))
    with pytest.raises(BadResponse):
        make_client().put("debtor", 0, {"name": "x"})


def test_insert_bulk_transposes_columns(fake: FakeDynaccount, make_client) -> None:
    fake.reply(ok([{"id": 1}, {"id": 2}]))
    rows = [
        {"account_id_": 1110, "name": "Konto A"},
        {"account_id_": 1111, "name": "Konto B", "type": "BALANCE"},
    ]
    assert make_client().insert_bulk("account", rows) == [{"id": 1}, {"id": 2}]
    seen = fake.seen[0]
    assert seen.path == f"{P5}/insert_bulk/account/json/"
    assert seen.signed == (
        b"account_id_[0]=1110&account_id_[1]=1111&name[0]=Konto+A&name[1]=Konto+B&type[1]=BALANCE"
    )
    assert make_client().insert_bulk("account", []) == []
    assert len(fake.seen) == 1


def test_delete_v5_and_v7(fake: FakeDynaccount, make_client) -> None:
    fake.reply(ok([{"id": 180664}]), ok([{"id": 180664}]))
    assert make_client().delete("account", 180664) == [{"id": 180664}]
    assert make_client("v7").delete("account", 180664) == [{"id": 180664}]
    v5, v7 = fake.seen
    assert (v5.method, v5.path) == ("POST", f"{P5}/delete/account/json/180664/")
    assert (v7.method, v7.path, v7.body) == ("POST", f"{P7}/delete/account/180664/", b"")
    assert v7.hash_ok and v5.hash_ok
    with pytest.raises(ValueError):
        make_client().delete("account", 0)


def test_action(fake: FakeDynaccount, make_client) -> None:
    fake.reply(ok([{"sent": "YES"}]))
    params = {
        "invoice_id": 177,
        "is_attached": False,
        "email": "alias@domain.com",
        "msg": "Fremsendelse af faktura",
    }
    assert make_client().action("send_debtor_invoice", params) == [{"sent": "YES"}]
    seen = fake.seen[0]
    assert seen.path == f"{P5}/action/send_debtor_invoice/json/"
    assert seen.signed == (
        b"invoice_id=177&is_attached=NO&email=alias%40domain.com&msg=Fremsendelse+af+faktura"
    )


def test_v7_put_uses_x_hash_header(fake: FakeDynaccount, make_client) -> None:
    fake.reply(ok([{"id": 55}]))
    make_client("v7").put("debtor", 55, {"name": "Test ApS"})
    seen = fake.seen[0]
    assert (seen.method, seen.path, seen.body) == ("POST", f"{P7}/put/debtor/55/", b"name=Test+ApS")
    assert seen.headers["x-hash"] == compute_hash(
        f"api.dynaccount.com{P7}/put/debtor/55/", "name=Test+ApS", API_SECRET
    )
    assert b"__api_hash" not in seen.body


@pytest.mark.parametrize("version", ["v5", "v7"])
def test_upload_voucher_multipart(fake: FakeDynaccount, make_client, version: str, tmp_path) -> None:
    pdf = tmp_path / "faktura.pdf"
    pdf.write_bytes(b"%PDF-1.4 fake")
    fake.reply(ok([{"id": 9}]))
    result = make_client(version).upload_voucher(
        "test bilag", [pdf, ("kvittering.jpg", b"\xff\xd8jpeg")], "Jens"
    )
    assert result == [{"id": 9}]
    seen = fake.seen[0]
    suffix = "/json/" if version == "v5" else "/"
    path = f"/{version}/1234/{API_KEY}/action/upload_voucher{suffix}"
    assert seen.path == path
    boundary = seen.headers["content-type"].split("boundary=")[1]
    parts = seen.body.split(f"--{boundary}".encode())
    assert parts[-1] == b"--\r\n"
    values = [p.split(b"\r\n\r\n", 1)[1][:-2] for p in parts[1:-1]]
    names = [p.split(b'name="', 1)[1].split(b'"', 1)[0] for p in parts[1:-1]]
    file_names = [b"files[]", b"files[]"]
    expected_names = [b"label", b"from_name", *file_names] + ([b"__api_hash"] if version == "v5" else [])
    assert names == expected_names
    assert values[:2] == [b"test bilag", b"Jens"]
    assert gzip.decompress(values[2]) == b"%PDF-1.4 fake"
    assert gzip.decompress(values[3]) == b"\xff\xd8jpeg"
    # deterministic: no timestamp in the gzip header (bytes 4-7), so the same file always hashes the same
    assert values[2] == gzip.compress(b"%PDF-1.4 fake", compresslevel=6, mtime=0)
    assert values[3][4:8] == b"\0\0\0\0"
    assert b'filename="kvittering.jpg"' in parts[4]
    digest = hashlib.sha1(f"api.dynaccount.com{path}".encode() + b"".join(values[:4]) + API_SECRET.encode())
    received = values[4].decode() if version == "v5" else seen.headers["x-hash"]
    assert received == digest.hexdigest()


def test_document_returns_pdf_bytes(fake: FakeDynaccount, make_client) -> None:
    fake.reply(Reply(200, b"%PDF-1.7\n...", {"content-type": "application/pdf"}))
    assert make_client().document("invoice", 1033) == b"%PDF-1.7\n..."
    assert fake.seen[0].path == f"{P5}/document/invoice/1033/json/"
    with pytest.raises(ValueError):
        make_client().document("receipt", 1)


def test_document_json_without_error_is_bad_response(fake: FakeDynaccount, make_client) -> None:
    fake.reply(ok([]))
    with pytest.raises(BadResponse, match="PDF"):
        make_client().document("invoice", 1)


def test_report_v5_and_v7(fake: FakeDynaccount, make_client) -> None:
    pdf = Reply(200, b"%PDF-1.7 r", {"content-type": "application/pdf"})
    fake.reply(pdf, pdf)
    params = {"time_from": dt.date(2016, 1, 1), "draft_entries": "WITH", "account_from": ""}
    assert make_client().report("ledger_cards", "da", params) == b"%PDF-1.7 r"
    assert make_client("v7").report("ledger_cards", "en") == b"%PDF-1.7 r"
    v5, v7 = fake.seen
    assert (v5.path, v5.query, v5.signed) == (
        f"{P5}/report/ledger_cards/json/",
        "lang=da",
        b"time_from=01-01-2016&draft_entries=WITH&account_from=",
    )
    assert (v7.method, v7.path, v7.query) == ("POST", f"{P7}/report/ledger_cards/pdf/", "lang=en")
    assert v5.hash_ok and v7.hash_ok


def test_iter_rows_pages_until_short_page(fake: FakeDynaccount, make_client) -> None:
    table = [{"id": i, "amount": Decimal(i) / 4} for i in range(1, 8)]

    def handler(seen):
        limit = dict(p.split("=") for p in seen.query.split("&"))["limit"]
        offset, count = (int(x) for x in limit.replace("%2C", ",").split(","))
        return ok(table[offset : offset + count])

    fake.handler = handler
    client = make_client()
    stream = client.iter_rows("debtor_invoice", where={"is_booked": True}, page_size=3)
    assert next(stream) == {"id": 1, "amount": Decimal("0.25")}
    assert len(fake.seen) == 1  # streaming: one page fetched so far
    assert [r["id"] for r in stream] == [2, 3, 4, 5, 6, 7]
    assert [s.query for s in fake.seen] == [
        "is_booked=YES&order=id&limit=0%2C3",
        "is_booked=YES&order=id&limit=3%2C3",
        "is_booked=YES&order=id&limit=6%2C3",
    ]
    assert client.requests_sent == 3


def test_iter_rows_exact_multiple_needs_one_empty_page(fake: FakeDynaccount, make_client) -> None:
    fake.reply(ok([{"id": 1}, {"id": 2}]), ok([]))
    assert [r["id"] for r in make_client().iter_rows("debtor", page_size=2, order="name")] == [1, 2]
    assert [s.query for s in fake.seen] == ["order=name&limit=0%2C2", "order=name&limit=2%2C2"]


def test_iter_rows_refuses_oversized_page(fake: FakeDynaccount, make_client) -> None:
    fake.handler = lambda seen: ok([{"id": 1}, {"id": 2}, {"id": 3}])
    with pytest.raises(BadResponse, match="3 rows for a page of 2"):
        list(make_client(retry=None).iter_rows("debtor", page_size=2))


def test_base_url_with_port_and_prefix_is_hashed_as_addressed(fake: FakeDynaccount, make_client) -> None:
    client = make_client(base_url="http://127.0.0.1:8081/dyn/")
    client.get("vatcode")
    seen = fake.seen[0]
    assert seen.headers["host"] == "127.0.0.1:8081"
    assert seen.path == f"/dyn{P5}/get/vatcode/json/"
    assert seen.hash_ok


def test_validation_of_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="version"):
        DynaccountClient(1, API_KEY, API_SECRET, version="v4")
    with pytest.raises(ValueError, match="numeric"):
        DynaccountClient("abc", API_KEY, API_SECRET)
    with pytest.raises(ValueError):
        DynaccountClient(1, "", API_SECRET)
    with pytest.raises(ValueError, match="api_key") as info:
        DynaccountClient(1, "abc/def", API_SECRET)
    assert "abc/def" not in str(info.value)


def test_limit_and_reserved_where(make_client) -> None:
    client = make_client()
    with pytest.raises(ValueError, match="limit"):
        client.get("debtor", limit="a,b")
    with pytest.raises(ValueError, match="reserved"):
        client.get("debtor", where={"order": "x"})


def test_oversized_body_is_refused_locally(fake: FakeDynaccount, make_client) -> None:
    with pytest.raises(ValidationError) as info:
        make_client().put("debtor", 0, {"note": "x" * (20 * 1024 * 1024)})
    assert info.value.errors == {"request": "Request body too large (limit 20 MiB)"}
    assert fake.seen == []


def test_v7_layout_of_every_other_method(fake: FakeDynaccount, make_client) -> None:
    fake.reply(
        ok([{"id": 55}]),
        ok([{"id": 1}, {"id": 2}]),
        ok([{"module_id_": 10051}]),
        Reply(200, b"%PDF-1.7 d", {"content-type": "application/pdf"}),
    )
    client = make_client("v7")
    assert client.get("debtor", 55, select="id") == [{"id": 55}]
    assert client.insert_bulk("unit", [{"name": "pakke"}, {"name": "palle"}]) == [{"id": 1}, {"id": 2}]
    assert client.action("get_next_module_id_") == [{"module_id_": 10051}]
    assert client.document("invoice", 1033) == b"%PDF-1.7 d"
    got = [(s.method, s.path, s.query, s.body) for s in fake.seen]
    assert got == [
        ("GET", f"{P7}/get/debtor/55/", "select=id", b""),
        ("POST", f"{P7}/insert_bulk/unit/", "", b"name[0]=pakke&name[1]=palle"),
        ("POST", f"{P7}/action/get_next_module_id_/", "", b""),
        ("POST", f"{P7}/document/invoice/1033/", "", b""),
    ]
    assert all(s.hash_ok and "x-hash" in s.headers for s in fake.seen)
    assert all(b"__api_hash" not in s.body for s in fake.seen)


def test_document_number_zero_is_refused_before_sending(fake: FakeDynaccount, make_client) -> None:
    with pytest.raises(ValueError, match="document number"):
        make_client().document("invoice", 0)
    assert fake.seen == []


@pytest.mark.parametrize(
    "base_url",
    ["not a url", "ftp://api.dynaccount.com", "https://", "http://h/?x=1", "", "https://u:s3cret@h/"],
)
def test_base_url_must_be_http_or_https(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url must be an http:// or https:// URL") as info:
        DynaccountClient(1234, API_KEY, API_SECRET, base_url=base_url)
    assert "s3cret" not in str(info.value)
