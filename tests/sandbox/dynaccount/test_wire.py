"""Wire details below the client: the hash inputs, both layouts, bad input never a 500, no secret echoed."""

from __future__ import annotations

import json

import httpx2
import pytest
from sandbox_dynaccount_kit import SANDBOX_HOST, Reach, signed_v5, v7_hash

from dsobridge.dynaccount.signing import sign_v5_body, url_without_scheme
from dsobridge.sandbox import InProcessTransport
from dsobridge.sandbox.dynaccount import DynaccountSandbox

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def http(sb: DynaccountSandbox):
    transport = InProcessTransport(sb.app)
    with httpx2.Client(base_url=f"http://{SANDBOX_HOST}", transport=transport) as client:
        yield client
    transport.close()


def _post(http: httpx2.Client, target: str, body: bytes, **headers: str) -> httpx2.Response:
    return http.post(target, content=body, headers={**FORM, **headers})


def test_hash_covers_the_host_as_addressed(http: httpx2.Client, sb: DynaccountSandbox) -> None:
    target, body = signed_v5(sb, SANDBOX_HOST, "get", "currency")
    assert _post(http, target, body).status_code == 200
    target, body = signed_v5(sb, "api.dynaccount.com", "get", "currency")
    response = _post(http, target, body)
    assert (response.status_code, response.json()) == (401, {"error": {"hash": "Invalid hash"}})


@pytest.mark.parametrize("mode", ["inprocess", "loopback"])
def test_hash_covers_the_raw_query_exactly_as_sent(sb: DynaccountSandbox, mode: str) -> None:
    reach = Reach(sb, mode)
    http = reach.http()
    host = http.base_url.netloc.decode()
    try:
        target, body = signed_v5(sb, host, "get", "currency", query="select=name,rate&limit=0%2C2")
        response = _post(http, target, body)
        assert response.status_code == 200
        assert [r["name"] for r in response.json()["result"]] == ["DKK", "EUR"]
        # signed with %2C but sent with a literal comma: the sandbox must not re-encode to make it match
        _, body = signed_v5(sb, host, "get", "currency", query="select=name%2Crate")
        response = _post(http, target.split("?")[0] + "?select=name,rate", body)
        assert response.status_code == 401
    finally:
        http.close()
        reach.close()


def test_v5_hash_must_be_the_last_field(http: httpx2.Client, sb: DynaccountSandbox) -> None:
    c = sb.credentials
    path = f"/v5/{c.api_id}/{c.api_key}/put/unit/json/"
    signed = sign_v5_body(url_without_scheme(SANDBOX_HOST, path), "name=boks", c.api_secret)
    assert _post(http, path, signed.encode()).json()["result"][0]["name"] == "boks"
    field, hash_part = signed.split("&")
    response = _post(http, path, f"{hash_part}&{field}".encode())
    assert response.status_code == 401
    response = _post(http, path, b"name=boks")
    assert (response.status_code, response.json()) == (401, {"error": {"hash": "Invalid hash"}})


def test_v7_get_with_x_hash_header(http: httpx2.Client, sb: DynaccountSandbox) -> None:
    c = sb.credentials
    path = f"/v7/{c.api_id}/{c.api_key}/get/currency/3/"
    response = http.get(
        path + "?select=name", headers={"X-Hash": v7_hash(sb, SANDBOX_HOST, path, "select=name", "")}
    )
    assert response.json()["result"] == [{"name": "USD"}]
    response = http.get(path + "?select=name", headers={"X-Hash": "0" * 40})
    assert response.status_code == 401


def test_unknown_api_id_or_key(http: httpx2.Client, sb: DynaccountSandbox) -> None:
    c = sb.credentials
    for path in (f"/v5/1/{c.api_key}/get/currency/json/", f"/v5/{c.api_id}/{'d' * 40}/get/currency/json/"):
        response = _post(
            http, path, sign_v5_body(url_without_scheme(SANDBOX_HOST, path), "", c.api_secret).encode()
        )
        assert (response.status_code, response.json()) == (
            401,
            {"error": {"auth": "Unknown API_ID or API_KEY"}},
        )


def test_body_over_20_mib_is_413(http: httpx2.Client, sb: DynaccountSandbox) -> None:
    target, _ = signed_v5(sb, SANDBOX_HOST, "put", "unit")
    response = _post(http, target, b"name=" + b"a" * (20 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json() == {"error": {"request": "Request body too large (limit 20 MiB)"}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("name=%ZZ", "Malformed percent-encoding"),
        ("name=%FF%FE", "Parameters must be UTF-8, url-encoded"),
        ("name=a%00b", "Parameters must not contain NUL characters"),
    ],
)
def test_malformed_encoding_is_400(
    http: httpx2.Client, sb: DynaccountSandbox, body: str, message: str
) -> None:
    target, signed = signed_v5(sb, SANDBOX_HOST, "put", "unit", body=body)
    response = _post(http, target, signed)
    assert (response.status_code, response.json()) == (400, {"error": {"request": message}})


@pytest.mark.parametrize(
    ("method", "name", "query", "status", "error"),
    [
        ("get", "debtor", "colour=red", 400, {"request": "Unknown field 'colour' in table 'debtor'"}),
        ("get", "debtor", "limit=a%2Cb", 400, {"request": "Malformed limit 'a,b' (expected offset,count)"}),
        ("get", "debtor", "order=name+sideways", 400, {"request": "Malformed order 'name sideways'"}),
        ("get", "debtor", "select=name,pin", 400, {"request": "Unknown field 'pin' in table 'debtor'"}),
        (
            "get",
            "debtor",
            "balance=abc",
            400,
            {"request": "Bad value for 'balance': Must be an amount with at most two decimals, like 1250.50"},
        ),
        (
            "get",
            "debtor_invoice",
            "is_booked=maybe",
            400,
            {"request": "Bad value for 'is_booked': Must be YES or NO"},
        ),
        ("get", "nope", "", 404, {"not_found": "Unknown table 'nope'"}),
        ("insert_bulk", "unit", "", 400, {"request": "insert_bulk needs at least one row"}),
        ("delete", "unit", "", 400, {"request": "delete needs a row id in the path"}),
    ],
)
def test_bad_parameters_answer_4xx(http, sb, method, name, query, status, error) -> None:
    target, body = signed_v5(sb, SANDBOX_HOST, method, name, query=query)
    response = _post(http, target, body)
    assert (response.status_code, response.json()) == (status, {"error": error})


def test_bad_paths_are_404_and_never_echo_the_key(http: httpx2.Client, sb: DynaccountSandbox) -> None:
    c = sb.credentials
    for path in (
        f"/v5/{c.api_id}/{c.api_key}/get/debtor/",  # v5 without json/
        f"/v5/{c.api_id}/{c.api_key}/fetch/debtor/json/",
        f"/v9/{c.api_id}/{c.api_key}/get/debtor/json/",
        "/",
    ):
        response = http.post(path, content=b"")
        assert response.status_code == 404
        assert c.api_key not in response.text
        assert "not_found" in response.json()["error"]


def test_insert_bulk_malformed_keys(http: httpx2.Client, sb: DynaccountSandbox) -> None:
    target, body = signed_v5(sb, SANDBOX_HOST, "insert_bulk", "unit", body="name[0]=a&name[2]=b")
    response = _post(http, target, body)
    assert response.json() == {"error": {"request": "insert_bulk row indexes must be 0..n-1"}}
    target, body = signed_v5(sb, SANDBOX_HOST, "insert_bulk", "unit", body="name=a")
    assert _post(http, target, body).status_code == 400


def test_money_is_a_json_number_with_two_decimals(http: httpx2.Client, sb: DynaccountSandbox) -> None:
    target, body = signed_v5(sb, SANDBOX_HOST, "get", "currency", query="select=rate&limit=1%2C1")
    raw = _post(http, target, body).text
    assert raw.startswith('{"result":[{"rate":746.00}]')
    payload = json.loads(raw)
    assert payload["metadata"]["page"] == 2 and payload["metadata"]["offset"] == 2
