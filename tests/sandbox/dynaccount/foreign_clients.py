"""A Dynaccount client written only from the spec text, to drive the sandbox the way foreign clients do.

Independent on purpose: nothing here imports ``dsobridge.dynaccount`` (the project's client and its signing
module), so a shared misreading of the spec cannot make both sides agree by construction. Requests are built
byte by byte (the hash covers the bytes as sent) and sent with raw httpx2.
"""

from __future__ import annotations

import gzip
import hashlib
import string
from dataclasses import dataclass

import httpx2

FORM = "application/x-www-form-urlencoded"
_PHP_SAFE = frozenset((string.ascii_letters + string.digits + "-_.").encode())


def sha1_hash(url_without_scheme: str | bytes, body: bytes, secret: str) -> str:
    """Spec §3: lowercase hex SHA-1 of URL-without-scheme + body + API_SECRET."""
    url = url_without_scheme if isinstance(url_without_scheme, bytes) else url_without_scheme.encode()
    return hashlib.sha1(url + body + secret.encode(), usedforsecurity=False).hexdigest()


def php_urlencode(text: str) -> str:
    """PHP ``urlencode`` of a UTF-8 string: space → ``+``, all but ``A-Za-z0-9-_.`` → ``%XX``."""
    out = []
    for byte in text.encode("utf-8"):
        if byte in _PHP_SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def php_form(fields: dict[str, str | int]) -> str:
    """The PHP library's body: ``key=urlencode(value)`` joined by ``&`` (keys are not encoded)."""
    return "&".join(f"{k}={php_urlencode(str(v))}" for k, v in fields.items())


def php_bulk_form(rows: list[dict[str, str | int]], *, encode_brackets: bool = False) -> str:
    """insert_bulk: the rows transposed column-wise, ``field[i]=value`` (brackets raw, or ``%5B%5D``)."""
    columns: dict[str, list[str]] = {}
    for row in rows:
        for key, value in row.items():
            columns.setdefault(key, []).append(php_urlencode(str(value)))
    open_, close = ("%5B", "%5D") if encode_brackets else ("[", "]")
    return "&".join(
        f"{key}{open_}{index}{close}={value}"
        for key, values in columns.items()
        for index, value in enumerate(values)
    )


@dataclass
class Multipart:
    """upload_voucher as the PHP library builds it: parts with their own Content-Length, files gzipped."""

    body: bytes
    content_type: str
    hash_base: bytes


def voucher_multipart(label: str, from_name: str, files: list[tuple[str, bytes]], boundary: str) -> Multipart:
    chunks: list[bytes] = []
    base: list[bytes] = []

    def part(name: str, value: bytes, filename: str = "", gz: bool = False) -> None:
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"'
        head = [f"--{boundary}", disposition]
        if gz:
            head.append("Content-Type: application/gzip")
        head.append(f"Content-Length: {len(value)}")
        chunks.append(("\r\n".join(head) + "\r\n\r\n").encode() + value + b"\r\n")
        base.append(value)

    part("label", label.encode())
    part("from_name", from_name.encode())
    for filename, content in files:
        part("files[]", gzip.compress(content, 6, mtime=0), filename, gz=True)
    body = b"".join(chunks) + f"--{boundary}--".encode()
    return Multipart(body, f"multipart/form-data; boundary={boundary}", b"".join(base))


@dataclass
class Foreign:
    """A raw client: base URL + the Host it addresses + credentials; builds and signs each call itself."""

    http: httpx2.Client
    host: str  # what goes in the Host header, and so in the hash
    api_id: int
    api_key: str
    api_secret: str

    def path(self, version: str, method: str, name: str, *tail: str) -> str:
        segments = [version, str(self.api_id), self.api_key, method, name, *tail]
        return "/" + "/".join(s for s in segments if s) + "/"

    def send(
        self,
        http_method: str,
        path: str,
        query: str = "",
        body: bytes = b"",
        headers: dict[str, str | bytes] | None = None,
    ) -> httpx2.Response:
        target = f"{path}?{query}" if query else path
        request = self.http.build_request(http_method, target, content=body or None, headers=headers or {})
        sent = request.url.raw_path.decode("ascii")
        assert sent == target, f"httpx2 re-encoded the target: {sent!r}"  # the hash is over what is sent
        return self.http.send(request)

    def v5(
        self,
        method: str,
        name: str,
        *,
        row: str = "",
        number: str = "",
        query: str = "",
        body: str | bytes = b"",
        host: str | None = None,
        secret: str | None = None,
    ) -> httpx2.Response:
        """v5: POST, form body, ``__api_hash`` as the last field (spec §3, the seed).

        ``row`` is a row id after ``json/`` (get/put/delete); ``number`` a document number before it.
        """
        path = self.path("v5", method, name, number, "json", row)
        raw = body.encode() if isinstance(body, str) else body
        host = host or self.host
        url = f"{host}{path}" + (f"?{query}" if query else "")
        digest = sha1_hash(url, raw, secret or self.api_secret)
        signed = (raw + b"&" if raw else b"") + b"__api_hash=" + digest.encode()
        headers = {"Content-Type": FORM, "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"}
        if host != self.host:
            headers["Host"] = host
        return self.send("POST", path, query, signed, headers)

    def v7(
        self, http_method: str, method: str, name: str, *tail: str, query: str = "", body: str = ""
    ) -> httpx2.Response:
        """v7: ``X-Hash`` header, no ``json/`` segment, GET when there is no body."""
        path = self.path("v7", method, name, *tail)
        url = f"{self.host}{path}" + (f"?{query}" if query else "")
        headers = {"X-Hash": sha1_hash(url, body.encode(), self.api_secret), "Accept-Encoding": "gzip"}
        if body:
            headers["Content-Type"] = FORM
        return self.send(http_method, path, query, body.encode(), headers)


def form_value(value: object) -> str:
    """A JSON value read from the API, as the PHP library would send it back (numbers as written)."""
    if value is None:
        return ""
    return str(value)


@dataclass
class Library:
    """The official PHP library's calls (``get``, ``put``, ``insert_bulk``, ``delete``, ``action``), over
    v5."""

    foreign: Foreign

    def _result(self, response: httpx2.Response) -> tuple[int, dict]:
        import json
        from decimal import Decimal

        return response.status_code, json.loads(response.content, parse_float=Decimal)

    def get(self, table: str, select: list[str] | None = None, where: dict[str, object] | None = None,
            limit: str = "") -> tuple[int, dict]:  # fmt: skip
        params = {**({"select": ",".join(select)} if select else {}), **(where or {})}
        if limit:
            params["limit"] = limit
        query = "&".join(f"{k}={php_urlencode(form_value(v))}" for k, v in params.items())
        return self._result(self.foreign.v5("get", table, query=query))

    def put(self, table: str, row_id: int, fields: dict[str, object]) -> tuple[int, dict]:
        body = "&".join(f"{k}={php_urlencode(form_value(v))}" for k, v in fields.items())
        return self._result(self.foreign.v5("put", table, row=str(row_id or ""), body=body))

    def insert_bulk(self, table: str, rows: list[dict[str, object]]) -> tuple[int, dict]:
        return self._result(self.foreign.v5("insert_bulk", table, body=php_bulk_form(rows)))

    def delete(self, table: str, row_id: int) -> tuple[int, dict]:
        return self._result(self.foreign.v5("delete", table, row=str(row_id)))

    def action(self, name: str, params: dict[str, object]) -> tuple[int, dict]:
        body = "&".join(f"{k}={php_urlencode(form_value(v))}" for k, v in params.items())
        return self._result(self.foreign.v5("action", name, body=body))
