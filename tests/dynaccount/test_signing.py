"""The hash rule of spec §3: the three published test vectors and the seed's own request."""

import pytest

from dsobridge.dynaccount.signing import (
    compute_hash,
    encode_form,
    php_urlencode,
    sign_v5_body,
    split_v5_body,
    url_without_scheme,
)

SECRET = "0123456789abcdef0123456789abcdef01234567"
KEY = "a" * 40
HOST = "api.dynaccount.com"


@pytest.mark.parametrize(
    ("path", "query", "body", "expected"),
    [
        (
            f"/v5/1234/{KEY}/get/debtor_invoice/json/",
            "module_id_=1001",
            "",
            "ada131f8950f30a1915530fd9e924e67fbc95597",
        ),
        (
            f"/v5/1234/{KEY}/put/debtor/json/55/",
            "",
            "name=Test+ApS&email=a%40b.dk",
            "6ede017d8ddbafa817e31186740388d252b7f706",
        ),
        (
            f"/v7/1234/{KEY}/get/vatcode/",
            "select=id,name&limit=0%2C10",
            "",
            "830d5264cb9c8300fdfe30bb0206c1a9df1fc627",
        ),
    ],
)
def test_spec_vectors(path: str, query: str, body: str, expected: str) -> None:
    assert compute_hash(url_without_scheme(HOST, path, query), body, SECRET) == expected


def test_put_vector_body_is_what_encode_form_produces() -> None:
    assert encode_form({"name": "Test ApS", "email": "a@b.dk"}) == "name=Test+ApS&email=a%40b.dk"


def test_seed_request_body_has_content_length_51() -> None:
    body = sign_v5_body(url_without_scheme(HOST, f"/v5/1234/{KEY}/get/vatcode/json/"), "", SECRET)
    assert body.startswith("__api_hash=")
    assert len(body.encode()) == 51


def test_hash_is_last_field_and_splits_back() -> None:
    signed = sign_v5_body("h/p/", "a=1&b=2", SECRET)
    part, received = split_v5_body(signed.encode())
    assert part == b"a=1&b=2"
    assert received == compute_hash("h/p/", "a=1&b=2", SECRET)
    assert split_v5_body(b"a=1") == (b"a=1", None)


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b", "a+b"),
        ("~", "%7E"),
        ("æøå", "%C3%A6%C3%B8%C3%A5"),
        ("-_.", "-_."),
        ("0,10", "0%2C10"),
        ("*", "%2A"),
    ],
)
def test_php_urlencode(raw: str, encoded: str) -> None:
    assert php_urlencode(raw) == encoded


def test_booleans_are_yes_no() -> None:
    assert encode_form([("is_monitored", False), ("x", True), ("y", None)]) == "is_monitored=NO&x=YES&y="
