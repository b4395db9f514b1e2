"""Dynaccount request signing and webhook hashes (spec ``dynaccount-api.md`` §3 and §7).

Every rule that is [inferred] or [ours] in the spec about the wire encoding lives here, so the client and
the sandbox agree by construction and the rule can change in one place.

    hash = lowercase hex SHA-1( URL_WITHOUT_SCHEME + BODY + API_SECRET )

URL_WITHOUT_SCHEME is host (as addressed) + path + ("?" + query, exactly as sent, when there is one);
BODY is the url-encoded body exactly as sent, without the ``__api_hash`` field.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from decimal import Decimal
from urllib.parse import quote_plus

HASH_FIELD = "__api_hash"
HASH_HEADER = "X-Hash"

FormValue = str | int | Decimal | bool | None
FormPairs = Iterable[tuple[str, FormValue]]


def php_urlencode(value: str) -> str:
    """Encode like PHP ``urlencode``: space → ``+``, all but ``A-Za-z0-9-_.`` as upper-case ``%XX``.

    Python's ``quote_plus`` keeps ``~`` literal where PHP encodes it, hence the special case.
    """
    return quote_plus(value, safe="").replace("~", "%7E")


def form_value(value: FormValue) -> str:
    """The text form of one parameter value: booleans as ``YES``/``NO``, ``None`` as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    return str(value)


def encode_form(pairs: FormPairs | Mapping[str, FormValue]) -> str:
    """``a=1&b=x+y`` from pairs (order kept) or a mapping, PHP-``urlencode`` compatible."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return "&".join(f"{php_urlencode(k)}={php_urlencode(form_value(v))}" for k, v in items)


def url_without_scheme(host: str, path: str, query: str = "") -> str:
    """``host/path?query`` — host as addressed (with ``:port`` when not the default)."""
    return f"{host}{path}?{query}" if query else f"{host}{path}"


def compute_hash(url_no_scheme: str, body: str | bytes, api_secret: str) -> str:
    """The request hash of spec §3 (also the webhook hash of §7, with the JSON body)."""
    digest = hashlib.sha1()
    digest.update(url_no_scheme.encode("utf-8"))
    digest.update(body if isinstance(body, bytes) else body.encode("utf-8"))
    digest.update(api_secret.encode("utf-8"))
    return digest.hexdigest()


def sign_v5_body(url_no_scheme: str, body: str, api_secret: str) -> str:
    """The v5 body: the fields followed by ``__api_hash`` as the LAST field."""
    signature = compute_hash(url_no_scheme, body, api_secret)
    return f"{body}&{HASH_FIELD}={signature}" if body else f"{HASH_FIELD}={signature}"


def split_v5_body(body: bytes) -> tuple[bytes, str | None]:
    """Split a received v5 body into (the signed part, the hash) — the hash must be the last field."""
    marker = f"{HASH_FIELD}=".encode()
    if body.startswith(marker):
        return b"", body[len(marker) :].decode("ascii", "replace")
    index = body.rfind(b"&" + marker)
    if index < 0:
        return body, None
    return body[:index], body[index + len(marker) + 1 :].decode("ascii", "replace")


def multipart_hash(url_no_scheme: str, part_values: Iterable[bytes | str], api_secret: str) -> str:
    """upload_voucher: the hash covers the URL + the part values in order (files as their gzipped bytes)."""
    digest = hashlib.sha1()
    digest.update(url_no_scheme.encode("utf-8"))
    for value in part_values:
        digest.update(value if isinstance(value, bytes) else value.encode("utf-8"))
    digest.update(api_secret.encode("utf-8"))
    return digest.hexdigest()


def hashes_equal(expected: str, received: str) -> bool:
    """Constant-time comparison of two hex digests (case-insensitive)."""
    return hmac.compare_digest(expected.lower().encode("ascii"), received.strip().lower().encode("ascii"))
