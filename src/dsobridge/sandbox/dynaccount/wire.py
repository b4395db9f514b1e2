"""The wire format: URL layouts (spec §2), strict form decoding, the hash check, JSON answers.

Nothing here touches the store. The URL path holds the API key, so no message built here ever quotes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_to_bytes

from dsobridge.dynaccount import signing
from dsobridge.sandbox.dynaccount.errors import BadRequest, NotFound, Unauthorized

MAX_BODY = 20 * 1024 * 1024
METHODS = ("get", "put", "delete", "action", "insert_bulk", "document", "report")
_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_BULK_KEY = re.compile(r"^([a-z_][a-z0-9_]*)\[(\d{1,6})\]$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

AUTH_ERROR = {"auth": "Unknown API_ID or API_KEY"}
HASH_ERROR = {"hash": "Invalid hash"}


@dataclass
class Call:
    """One parsed API call. ``api_key`` is kept out of the repr (the path is a secret)."""

    version: str
    api_id: str
    api_key: str = field(repr=False)
    method: str
    name: str
    row_id: int = 0
    extra: str = ""  # document number, report output


def parse_path(path: str) -> Call:
    """Split ``/v5/ID/KEY/method/name/json/[id/]`` or ``/v7/ID/KEY/method/name/[id/]``."""
    parts = [p for p in path.split("/") if p != ""]
    if len(parts) < 5 or parts[0] not in ("v5", "v6", "v7"):
        raise NotFound("Unknown API path (expected /v5/API_ID/API_KEY/method/name/json/ or the v7 layout)")
    version, api_id, api_key, method, name, *rest = parts
    if method not in METHODS:
        raise NotFound(f"Unknown API method '{method}'")
    if not _NAME.match(name):
        raise NotFound(
            f"Unknown {('table' if method in ('get', 'put', 'delete', 'insert_bulk') else method)} '{name}'"
        )
    extra = ""
    if method == "document" and version == "v5" and rest[:1] == ["json"] and len(rest) >= 2:
        # the v5 client puts json/ right after the name (as for a get row id): accept NUMBER after it too
        rest = [rest[1], "json", *rest[2:]]
    if method == "document":
        if not rest:
            raise NotFound("Missing document number")
        extra, rest = rest[0], rest[1:]
    if version == "v5":
        if not rest or rest[0] != "json":
            raise NotFound("v5 paths end with /json/ (after the document number for document)")
        rest = rest[1:]
    elif method == "report" and rest:
        extra, rest = rest[0], rest[1:]
    row_id = 0
    if rest and method in ("get", "put", "delete"):
        if not (rest[0].isascii() and rest[0].isdigit()) or len(rest[0]) > 18:
            raise BadRequest("The row id must be a positive integer")
        row_id, rest = int(rest[0]), rest[1:]
    if rest:
        raise NotFound("Unknown API path (extra segments)")
    return Call(version, api_id, api_key, method, name, row_id, extra)


def parse_form(raw: bytes) -> list[tuple[str, str]]:
    """Decode an ``application/x-www-form-urlencoded`` string strictly (bad % escapes or UTF-8 → 400)."""
    if not raw:
        return []
    if _PERCENT.search(raw):
        raise BadRequest("Malformed percent-encoding")
    pairs = []
    for item in raw.split(b"&"):
        if not item:
            continue
        key, _, value = item.partition(b"=")
        try:
            k = unquote_to_bytes(key.replace(b"+", b" ")).decode("utf-8")
            v = unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("Parameters must be UTF-8, url-encoded") from None
        if "\x00" in k or "\x00" in v:
            raise BadRequest("Parameters must not contain NUL characters")
        pairs.append((k, v))
    return pairs


def bulk_rows(pairs: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """``field[i]=value`` pairs → rows (column-wise arrays transposed back)."""
    rows: dict[int, list[tuple[str, str]]] = {}
    for key, value in pairs:
        match = _BULK_KEY.match(key)
        if match is None:
            raise BadRequest(f"insert_bulk expects field[index]=value pairs, got '{key[:60]}'")
        rows.setdefault(int(match.group(2)), []).append((match.group(1), value))
    if not rows:
        raise BadRequest("insert_bulk needs at least one row")
    indexes = sorted(rows)
    if indexes != list(range(len(indexes))):
        raise BadRequest("insert_bulk row indexes must be 0..n-1")
    return [rows[i] for i in indexes]


def check_hash(
    call: Call, host: str, raw_path: str, query: str, body: bytes, header_hash: str | None, secret: str
) -> bytes:
    """Verify the request hash; return the signed body (v5: without the trailing ``__api_hash``)."""
    url = signing.url_without_scheme(host, raw_path, query)
    if call.version == "v5":
        signed, received = signing.split_v5_body(body)
        if received is None:
            received = header_hash
            signed = body
    else:
        signed, received = body, header_hash
    if not received:
        raise Unauthorized(HASH_ERROR)
    expected = signing.compute_hash(url, signed, secret)
    try:
        ok = signing.hashes_equal(expected, received)
    except (UnicodeEncodeError, ValueError):
        ok = False
    if not ok:
        raise Unauthorized(HASH_ERROR)
    return signed


def to_json(value: Any) -> str:
    """JSON text where ``Decimal`` is a number (two decimals kept as given) and raw JSON can be spliced."""
    if isinstance(value, RawJSON):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ",".join(f"{to_json(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__}")


@dataclass(frozen=True)
class RawJSON:
    text: str


def error_body(error: dict[str, Any]) -> bytes:
    return to_json({"error": error}).encode("utf-8")


def ok_body(rows_json: str, *, offset: int, count: int, num: int, order: str, elapsed: float) -> bytes:
    page = offset // count + 1 if count > 0 else 1
    meta = f'"metadata":{{"page":{page},"offset":{offset + num},"num":{num},"order":{to_json(order)},'
    return f'{{"result":{rows_json},{meta}"request_time":{elapsed:.6f}}}}}'.encode()
