"""The Dynaccount wire format, without I/O: paths, query strings, bodies, and decoding of answers.

Spec ``dynaccount-api.md`` §2/§4/§5 and ``docs/dynaccount-wire.md``. Pure functions, so the benchmark can
time the client's own cost (sign + encode + decode) apart from the network.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from dsobridge.dynaccount.errors import (
    AuthError,
    BadResponse,
    DynaccountError,
    NotFound,
    RateLimited,
    ServerError,
    ValidationError,
)
from dsobridge.dynaccount.signing import php_urlencode

VERSIONS = ("v5", "v6", "v7")
MAX_BODY = 20 * 1024 * 1024  # the PHP library refuses bodies over 20 MiB; so does the sandbox (413)
DOCUMENT_KINDS = ("invoice", "order", "quote")

_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_NUMBER = re.compile(r"^[A-Za-z0-9_-]+$")

Value = str | int | Decimal | bool | dt.date | None


# --------------------------------------------------------------------------------------------- encoding


def check_name(kind: str, name: str) -> str:
    """Table, action, report and field names go into paths and queries raw: allow identifiers only."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"invalid {kind} name {name!r}: letters, digits and '_' only")
    return name


def check_number(number: int | str) -> str:
    """A document number path segment: letters, digits, ``-`` and ``_`` only."""
    text = str(number)
    if not _NUMBER.match(text) or text == "0":  # a 0 segment is dropped from the path (no number)
        raise ValueError(f"invalid document number {number!r}")
    return text


def wire_value(value: Any) -> str:
    """The text of one value: ``YES``/``NO``, ``Decimal`` in plain notation, ``date`` as ``m-d-Y``.

    Floats are refused (money is ``Decimal`` end to end); a ``datetime`` becomes a Unix timestamp.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return str(int(value.timestamp()))
    if isinstance(value, dt.date):
        return value.strftime("%m-%d-%Y")
    if isinstance(value, float):
        raise TypeError("float values are refused: pass money as decimal.Decimal (or a string)")
    raise TypeError(f"cannot send a value of type {type(value).__name__} to Dynaccount")


def encode_pairs(pairs: Iterable[tuple[str, Any]]) -> str:
    """``k=v&…`` with values PHP-urlencoded; keys are sent as given (identifiers, or ``field[i]``)."""
    return "&".join(f"{key}={php_urlencode(wire_value(value))}" for key, value in pairs)


def encode_fields(fields: Mapping[str, Any]) -> str:
    """A put/action/report body: the fields in the mapping's order."""
    return encode_pairs((php_urlencode(check_name("field", k)), v) for k, v in fields.items())


def encode_bulk(rows: Sequence[Mapping[str, Any]]) -> str:
    """insert_bulk: rows transposed column-wise, ``field[i]=value`` (columns in order of first appearance)."""
    columns: dict[str, list[tuple[int, Any]]] = {}
    for index, row in enumerate(rows):
        if not row:
            raise ValueError(f"insert_bulk row {index} has no fields")
        for key, value in row.items():
            columns.setdefault(check_name("field", key), []).append((index, value))
    return encode_pairs(
        (f"{key}[{index}]", value) for key, cells in columns.items() for index, value in cells
    )


def _join_order(order: str | Sequence[str]) -> str:
    items = [order] if isinstance(order, str) else list(order)
    return ",".join(php_urlencode(item) for item in items)


def _limit_text(limit: str | tuple[int, int] | Sequence[int]) -> str:
    if isinstance(limit, str):
        text = limit.replace(" ", "")
    else:
        offset, count = limit
        text = f"{int(offset)},{int(count)}"
    if not re.fullmatch(r"\d+(,\d+)?", text):
        raise ValueError(f"invalid limit {limit!r}: expected 'offset,count' or (offset, count)")
    return text


def encode_get_query(
    *,
    select: Sequence[str] | str | None = None,
    where: Mapping[str, Any] | None = None,
    order: str | Sequence[str] | None = None,
    limit: str | tuple[int, int] | Sequence[int] | None = None,
) -> str:
    """The get query in the PHP library's order: ``select``, where pairs, ``order``, ``limit=0%2C10``."""
    parts: list[str] = []
    if select:
        names = [select] if isinstance(select, str) else list(select)
        parts.append("select=" + ",".join(php_urlencode(check_name("field", n)) for n in names))
    if where:
        for key, value in where.items():
            if key in ("select", "order", "limit"):
                raise ValueError(f"{key!r} is a reserved word and cannot be a where-filter")
            parts.append(f"{php_urlencode(check_name('field', key))}={php_urlencode(wire_value(value))}")
    if order:
        parts.append("order=" + _join_order(order))
    if limit is not None and limit != "":
        parts.append("limit=" + php_urlencode(_limit_text(limit)))
    return "&".join(parts)


def build_path(prefix: str, version: str, api_id: str, api_key: str, method: str, *segments: object) -> str:
    """``{prefix}/{version}/{id}/{key}/{method}/{segments…}/``; v5 adds ``json/`` after the table/name
    (after the number for document), per spec §2.

    Empty and zero segments are dropped, as the PHP library does (so a row id of 0 means "no id").
    """
    parts = [version, api_id, api_key, method]
    rest = [str(s) for s in segments if s not in (None, "", 0, "0")]
    if version != "v5":
        parts.extend(rest)
    elif method == "document":  # [ours] /v5/ID/KEY/document/DOC/NUMBER/json/
        parts.extend([*rest, "json"])
    elif rest:
        parts.extend([rest[0], "json", *rest[1:]])
    return f"{prefix}/{'/'.join(parts)}/"


def multipart_body(
    fields: Sequence[tuple[str, str]],
    files: Sequence[tuple[str, bytes]],
    *,
    boundary: str | None = None,
) -> tuple[bytes, str, list[bytes]]:
    """upload_voucher's multipart body: text parts then ``files[]`` parts gzipped (level 6).

    Returns (body without the closing boundary, boundary, the part values in order for the hash).
    """
    boundary = boundary or secrets.token_hex(16)
    out = bytearray()
    values: list[bytes] = []
    for name, text in fields:
        data = text.encode("utf-8")
        values.append(data)
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode()
        out += data + b"\r\n"
    for filename, content in files:
        data = gzip.compress(content, compresslevel=6, mtime=0)
        values.append(data)
        safe_name = filename.replace('"', "").replace("\r", "").replace("\n", "")
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files[]"; filename="{safe_name}"\r\n'
            f"Content-Type: application/gzip\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        out += data + b"\r\n"
    return bytes(out), boundary, values


def multipart_part(boundary: str, name: str, value: str) -> bytes:
    """One more text part (v5 puts ``__api_hash`` as the last part)."""
    data = value.encode()
    return (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )


# --------------------------------------------------------------------------------------------- decoding


def loads(content: bytes) -> Any:
    """JSON with money as ``Decimal`` (ints stay ints)."""
    return json.loads(content, parse_float=Decimal)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (seconds from now); ``None`` if unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _flatten(error: Any, limit: int = 5) -> str:
    """A short human text for an error payload: ``field: message; …``."""
    if isinstance(error, Mapping):
        items = []
        for key, value in list(error.items())[:limit]:
            if isinstance(value, Mapping):
                inner = ", ".join(f"{k}: {v}" for k, v in list(value.items())[:limit])
                items.append(f"line {key}: {inner}")
            else:
                items.append(f"{key}: {value}")
        more = len(error) - limit
        return "; ".join(items) + (f"; … and {more} more" if more > 0 else "")
    if isinstance(error, list | tuple):
        return "; ".join(str(e) for e in error[:limit])
    return str(error)


def _line_keyed(error: Mapping[str, Any]) -> dict[Any, Any]:
    """insert_bulk errors: digit keys become ints, everything else is kept as is."""
    return {int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in error.items()}


def error_for(
    status: int,
    error: Any,
    *,
    operation: str,
    api_id: str,
    retry_after: float | None = None,
    bulk: bool = False,
) -> DynaccountError:
    """Map an error answer to the exception tree (``docs/dynaccount-wire.md``), keeping ``error`` verbatim."""
    keys = set(error) if isinstance(error, Mapping) else set()
    text = _flatten(error)
    common: dict[str, Any] = {"operation": operation, "error": error}
    if "hash" in keys:
        return AuthError(
            f"Dynaccount refused the request signature: check API_SECRET for accounting {api_id}",
            status=status,
            **common,
        )
    if status in (401, 403) or "auth" in keys:
        return AuthError(
            f"Dynaccount refused the credentials: check API_ID {api_id} and its API_KEY ({text})",
            status=status,
            **common,
        )
    if status == 429 or "rate_limit" in keys:
        wait = f", retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimited(
            f"Dynaccount is rate limiting {operation}{wait}", retry_after=retry_after, status=status, **common
        )
    if status == 404 or "not_found" in keys:
        detail = error["not_found"] if "not_found" in keys else text
        return NotFound(f"Dynaccount: {operation}: not found ({detail})", status=status, **common)
    if status >= 500 or "server" in keys:
        return ServerError(
            f"Dynaccount server error {status} on {operation}: {text}", status=status, **common
        )
    errors: dict[Any, Any] = {"error": error}
    if isinstance(error, Mapping):
        errors = _line_keyed(error) if bulk else dict(error)
    return ValidationError(f"Dynaccount rejected {operation}: {text}", errors=errors, status=status, **common)


def _snippet(content: bytes) -> str:
    return repr(content[:60].decode("utf-8", "replace"))


def decode_rows(
    status: int,
    content_type: str,
    content: bytes,
    *,
    operation: str,
    api_id: str,
    retry_after: float | None = None,
    bulk: bool = False,
) -> list[dict[str, Any]]:
    """A JSON answer → its ``result`` rows, or the matching exception raised."""
    try:
        data = loads(content)
    except (ValueError, UnicodeDecodeError):
        raise _non_json(status, content_type, content, operation, api_id, retry_after) from None
    if isinstance(data, Mapping) and data.get("error"):
        raise error_for(
            status, data["error"], operation=operation, api_id=api_id, retry_after=retry_after, bulk=bulk
        )
    if status != 200:
        raise error_for(
            status, {"status": status}, operation=operation, api_id=api_id, retry_after=retry_after
        )
    if not isinstance(data, Mapping) or "result" not in data:
        raise BadResponse(
            f"Dynaccount answered {operation} with JSON without 'result' ({_snippet(content)})",
            status=status,
            operation=operation,
            error=data.get("error") if isinstance(data, Mapping) else None,
        )
    result = data["result"]
    if isinstance(result, Mapping):
        return [dict(result)]
    if not isinstance(result, list) or not all(isinstance(row, Mapping) for row in result):
        raise BadResponse(
            f"Dynaccount answered {operation} with a 'result' that is not a list of rows",
            status=status,
            operation=operation,
        )
    return result


def decode_binary(
    status: int,
    content_type: str,
    content: bytes,
    *,
    operation: str,
    api_id: str,
    retry_after: float | None = None,
) -> bytes:
    """A document/report answer: the PDF bytes, or the JSON error raised."""
    if status == 200 and content_type.split(";")[0].strip().lower() == "application/pdf":
        return content
    try:
        data = loads(content)
    except (ValueError, UnicodeDecodeError):
        if status == 200 and content.startswith(b"%PDF"):
            return content
        raise _non_json(status, content_type, content, operation, api_id, retry_after) from None
    if isinstance(data, Mapping) and data.get("error"):
        raise error_for(status, data["error"], operation=operation, api_id=api_id, retry_after=retry_after)
    if status != 200:
        raise error_for(
            status, {"status": status}, operation=operation, api_id=api_id, retry_after=retry_after
        )
    raise BadResponse(
        f"Dynaccount answered {operation} with JSON where a PDF was due ({_snippet(content)})",
        status=status,
        operation=operation,
    )


def _non_json(
    status: int, content_type: str, content: bytes, operation: str, api_id: str, retry_after: float | None
) -> DynaccountError:
    if status != 200:
        return error_for(
            status, {"status": status}, operation=operation, api_id=api_id, retry_after=retry_after
        )
    return BadResponse(
        f"Dynaccount answered {operation} with {status} {content_type or 'no content type'} where JSON was "
        f"due (starts {_snippet(content)})",
        status=status,
        operation=operation,
    )
