"""The hash rule of spec §3: the three published test vectors and the seed's own request."""

import pytest

from dsobridge.dynaccount.signing import (
    compute_hash,
    encode_form,
    hashes_equal,
    multipart_hash,
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
        ("a/b", "a%2Fb"),  # PHP encodes "/" too
    ],
)
def test_php_urlencode(raw: str, encoded: str) -> None:
    assert php_urlencode(raw) == encoded


def test_booleans_are_yes_no() -> None:
    assert encode_form([("is_monitored", False), ("x", True), ("y", None)]) == "is_monitored=NO&x=YES&y="


def test_url_without_scheme_adds_the_query_only_when_there_is_one() -> None:
    assert (
        url_without_scheme("127.0.0.1:8081", "/v5/1/k/get/unit/json/")
        == "127.0.0.1:8081/v5/1/k/get/unit/json/"
    )
    assert url_without_scheme("h", "/p/", "a=1") == "h/p/?a=1"


# upload_voucher (spec §3): SHA-1 over the URL without scheme, then the part values in order — text parts as
# their UTF-8 bytes, file parts as their gzipped bytes — then the secret. Computed once with hashlib directly:
# sha1(b"api.dynaccount.com/v7/1234/aaaa…a/action/upload_voucher/" + "Bilag 17 æøå".encode() + b"Jens Jensen"
#      + GZ_PDF + GZ_JPEG + SECRET.encode())
UPLOAD_URL = f"{HOST}/v7/1234/{KEY}/action/upload_voucher/"
GZ_PDF = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff%PDF"
GZ_JPEG = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xff\xd8"


def test_multipart_hash_vector_with_text_and_file_parts() -> None:
    values = ["Bilag 17 æøå", "Jens Jensen", GZ_PDF, GZ_JPEG]
    assert multipart_hash(UPLOAD_URL, values, SECRET) == "f5afe6b1733ceb335876aa2616a29b5a09284f2a"
    as_bytes = [v.encode() if isinstance(v, str) else v for v in values]  # text is hashed as its UTF-8
    assert multipart_hash(UPLOAD_URL, as_bytes, SECRET) == "f5afe6b1733ceb335876aa2616a29b5a09284f2a"
    assert multipart_hash(UPLOAD_URL, [], SECRET) == "b7ca5b2785008db1c6efad08b77036ad726c3a16"
    assert multipart_hash(UPLOAD_URL, [], SECRET) == compute_hash(UPLOAD_URL, "", SECRET)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"__api_hash=abc", (b"", "abc")),  # a call without parameters: the hash is the whole body
        (b"&__api_hash=abc", (b"", "abc")),
        (b"a=1&__api_hash=x&__api_hash=y", (b"a=1&__api_hash=x", "y")),  # the LAST field is the hash
        (b"a=1&__api_hash=\xffab", (b"a=1", "\ufffdab")),  # not ASCII: kept, marked, compared later
        (b"__api_hash=\xff", (b"", "\ufffd")),
        (b"a=1&b=2", (b"a=1&b=2", None)),
        (b"", (b"", None)),
    ],
)
def test_split_v5_body(body: bytes, expected: tuple[bytes, str | None]) -> None:
    assert split_v5_body(body) == expected


def test_hashes_equal_ignores_case_and_surrounding_space() -> None:
    digest = compute_hash("h/p/", "", SECRET)
    assert hashes_equal(digest, f" {digest.upper()}\n")
    assert not hashes_equal(digest, digest[:-1] + ("0" if digest[-1] != "0" else "1"))
