"""``DynaccountClient``: one pooled keep-alive httpx2 connection, signed requests, rows as plain dicts.

Connections (docs/connections.md): the real server closes a connection idle for 5 s and after its 100th
response (``Keep-Alive: timeout=5, max=100``). The pool drops a connection idle for ``IDLE_EXPIRY`` (4 s,
below the server's 5 s, so a request is never written onto a connection the server is closing at that
instant), checks an idle connection for a server-side close before reusing it (httpcore2's pool does), and
honours ``Connection: close``. Reads are retried on any transport failure; a write is re-sent only when it
provably never left (``TransportError.unsent``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx2

from dsobridge.dynaccount import wire
from dsobridge.dynaccount.errors import BadResponse, DynaccountError, TransportError, ValidationError
from dsobridge.dynaccount.redact import install_url_log_filter, redact_path, redact_secrets
from dsobridge.dynaccount.retry import UNKNOWN_OUTCOME, RetryPolicy, call_with_retry
from dsobridge.dynaccount.signing import (
    HASH_FIELD,
    HASH_HEADER,
    compute_hash,
    multipart_hash,
    sign_v5_body,
    url_without_scheme,
)
from dsobridge.retrylog import transport_cause
from dsobridge.secret import Secret

logger = logging.getLogger("dsobridge.dynaccount")

FORM = "application/x-www-form-urlencoded"
IDLE_EXPIRY = 4.0  # seconds: below the server's Keep-Alive timeout=5
FileSpec = str | Path | tuple[str, bytes]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A signed request ready to send: everything is final, nothing is re-encoded after hashing.

    Its repr shows only the method and the redacted path (the URL holds the API key).
    """

    method: str
    url: str = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    content: bytes = field(repr=False)
    log_path: str  # redacted


class DynaccountClient:
    """A client for the Dynaccount HTTP API (v5 as in the seed; v6/v7 with the ``X-Hash`` header).

    Holds ONE keep-alive connection; use it as a context manager or call :meth:`close`. Not thread-safe:
    one client per thread (Dynaccount wants serial requests anyway).
    """

    def __init__(
        self,
        api_id: int | str,
        api_key: str,
        api_secret: str,
        *,
        version: str = "v5",
        base_url: str = "https://api.dynaccount.com",
        timeout: float = 30.0,
        transport: httpx2.BaseTransport | None = None,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if version not in wire.VERSIONS:
            raise ValueError(
                f"unsupported Dynaccount API version {version!r} (known: {', '.join(wire.VERSIONS)})"
            )
        self.api_id = str(api_id).strip()
        if not self.api_id.isdigit():
            raise ValueError("api_id must be the accounting's numeric API_ID")
        if not api_key or not api_secret:
            raise ValueError("api_key and api_secret are required")
        if not api_key.isascii() or not api_key.isalnum():
            raise ValueError(
                "api_key must be the 40 hex characters shown in Dynaccount (it goes in the URL path)"
            )
        self.__key_holder = Secret(api_key)
        self.__secret_holder = Secret(api_secret)
        self.version = version
        self.retry = retry
        self._sleep = sleep
        self.requests_sent = 0
        try:
            base = httpx2.URL(base_url)
        except httpx2.InvalidURL:
            base = None
        if (
            base is None
            or base.scheme not in ("http", "https")
            or not base.host
            or base.query
            or base.userinfo
        ):
            raise ValueError(
                "base_url must be an http:// or https:// URL without user info or query, "
                "e.g. https://api.dynaccount.com"
            )
        self._origin = f"{base.scheme}://{base.netloc.decode('ascii')}"
        self._host = base.netloc.decode("ascii")  # as addressed: host[:port], default port omitted
        self._prefix = base.path.rstrip("/")
        self.base_url = f"{self._origin}{self._prefix}"
        install_url_log_filter()
        limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=IDLE_EXPIRY)
        self._http = httpx2.Client(
            transport=transport,
            verify=base.scheme == "https",  # plain http (a sandbox): no certificate store to load
            limits=limits,
            timeout=httpx2.Timeout(timeout),
            headers={"Accept-Encoding": "gzip", "Connection": "keep-alive"},
            follow_redirects=False,
        )

    # ----------------------------------------------------------------------------------------- lifecycle

    @property
    def __key(self) -> str:
        return self.__key_holder.reveal()

    @property
    def __secret(self) -> str:
        return self.__secret_holder.reveal()

    def __repr__(self) -> str:
        return f"DynaccountClient(api_id={self.api_id}, version={self.version!r}, base_url={self.base_url!r})"

    def __enter__(self) -> DynaccountClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (the client cannot be used afterwards)."""
        self._http.close()

    # ----------------------------------------------------------------------------------------- public API

    def get(
        self,
        table: str,
        id: int = 0,
        *,
        select: Sequence[str] | str | None = None,
        where: Mapping[str, Any] | None = None,
        order: str | Sequence[str] | None = None,
        limit: str | tuple[int, int] | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of ``table`` (one row when ``id`` is given). Retried on transient failures."""
        query = wire.encode_get_query(select=select, where=where, order=order, limit=limit)
        return self._get(table, _row_id(id), query, f"get {table}")

    def _get(self, table: str, row_id: str, query: str, operation: str) -> list[dict[str, Any]]:
        prepared = self._prepare("get", (wire.check_name("table", table), row_id), query=query)
        return self._json(prepared, operation, idempotent=True)

    def iter_rows(
        self,
        table: str,
        *,
        select: Sequence[str] | str | None = None,
        where: Mapping[str, Any] | None = None,
        order: str | Sequence[str] | None = None,
        page_size: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        """Every row of ``table``, fetched ``limit=offset,page_size`` page by page until a short page.

        Only one page is in memory at a time. Pages are ordered by ``id`` unless ``order`` is given, so
        paging is stable. A page that still fails after the retries raises: the iteration is then incomplete.
        """
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        offset = 0
        number = 1
        while True:
            query = wire.encode_get_query(
                select=select, where=where, order=order or "id", limit=(offset, page_size)
            )
            page = self._get(table, "", query, f"get {table} page {number}")
            if len(page) > page_size:
                raise BadResponse(
                    f"Dynaccount answered get {table} page {number} with {len(page)} rows for a page of "
                    f"{page_size}",
                    status=200,
                    operation=f"get {table} page {number}",
                )
            yield from page
            if len(page) < page_size:
                return
            offset += len(page)
            number += 1

    def put(self, table: str, id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Create (``id`` 0) or update a row; returns the row as Dynaccount stored it. Never replayed."""
        body = wire.encode_fields(fields)
        prepared = self._prepare("put", (wire.check_name("table", table), _row_id(id)), body=body)
        rows = self._json(prepared, f"put {table}", idempotent=False)
        if not rows:
            raise BadResponse(
                f"Dynaccount answered put {table} without a row", status=200, operation=f"put {table}"
            )
        return rows[0]

    def insert_bulk(self, table: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Create many rows in one call; on refusal ``ValidationError.errors`` is keyed by line index."""
        if not rows:
            return []
        body = wire.encode_bulk(rows)
        prepared = self._prepare("insert_bulk", (wire.check_name("table", table),), body=body)
        return self._json(prepared, f"insert_bulk {table}", idempotent=False, bulk=True)

    def delete(self, table: str, id: int) -> list[dict[str, Any]]:
        """Delete one row (``id`` must not be 0)."""
        row_id = _row_id(id)
        if not row_id:
            raise ValueError("delete needs a row id")
        prepared = self._prepare("delete", (wire.check_name("table", table), row_id))
        return self._json(prepared, f"delete {table}", idempotent=False)

    def action(self, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run an action (``send_debtor_invoice``, ``book_draft`` …) with its parameters. Never replayed."""
        body = wire.encode_fields(params or {})
        prepared = self._prepare("action", (wire.check_name("action", name),), body=body)
        return self._json(prepared, f"action {name}", idempotent=False)

    def upload_voucher(self, label: str, files: Sequence[FileSpec], from_name: str) -> list[dict[str, Any]]:
        """Upload voucher files (paths, or ``(filename, bytes)``), gzipped in a multipart body."""
        if not files:
            raise ValueError("upload_voucher needs at least one file")
        loaded = [_load_file(f) for f in files]
        prepared = self._prepare_multipart([("label", label), ("from_name", from_name)], loaded)
        return self._json(prepared, "action upload_voucher", idempotent=False)

    def document(self, kind: str, number: int | str) -> bytes:
        """The PDF of an invoice, order or quote by its number (``invoice_id_`` …)."""
        if kind not in wire.DOCUMENT_KINDS:
            raise ValueError(f"document kind must be one of {', '.join(wire.DOCUMENT_KINDS)}")
        number_text = wire.check_number(number)
        prepared = self._prepare("document", (kind, number_text))
        return self._binary(prepared, f"document {kind} {number_text}")

    def report(self, name: str, lang: str = "da", params: Mapping[str, Any] | None = None) -> bytes:
        """A PDF report (``ledger_cards`` …) in ``lang``; ``params`` travel in the body."""
        wire.check_name("report", name)
        wire.check_name("lang", lang)
        segments = (name,) if self.version == "v5" else (name, "pdf")
        body = wire.encode_fields(params or {})
        prepared = self._prepare("report", segments, query=f"lang={lang}", body=body)
        return self._binary(prepared, f"report {name}")

    # ----------------------------------------------------------------------------------------- internals

    def _path(self, method: str, segments: Sequence[object]) -> str:
        return wire.build_path(self._prefix, self.version, self.api_id, self.__key, method, *segments)

    def _prepare(
        self,
        method: str,
        segments: Sequence[object],
        *,
        query: str = "",
        body: str = "",
    ) -> PreparedRequest:
        """Sign per spec §3: v5 always POSTs with ``__api_hash`` last; v6/v7 send ``X-Hash`` (GET for get)."""
        path = self._path(method, segments)
        target = f"{path}?{query}" if query else path
        url_ns = url_without_scheme(self._host, path, query)
        if self.version == "v5":
            content = sign_v5_body(url_ns, body, self.__secret)
            headers = {"Content-Type": FORM}
            http_method = "POST"
        else:
            content = body
            headers = {HASH_HEADER: compute_hash(url_ns, body, self.__secret)}
            http_method = "GET" if method == "get" else "POST"
            if http_method == "POST":
                headers["Content-Type"] = FORM
        data = content.encode("utf-8")
        self._check_size(len(data), method)
        return PreparedRequest(http_method, self._origin + target, headers, data, redact_path(path))

    def _prepare_multipart(
        self, fields: Sequence[tuple[str, str]], files: Sequence[tuple[str, bytes]]
    ) -> PreparedRequest:
        """upload_voucher's signed multipart request (spec §3: the hash covers the part values in order)."""
        body, boundary, values = wire.multipart_body(fields, files)
        path = self._path("action", ("upload_voucher",))
        signature = multipart_hash(url_without_scheme(self._host, path), values, self.__secret)
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if self.version == "v5":
            body += wire.multipart_part(boundary, HASH_FIELD, signature)
        else:
            headers[HASH_HEADER] = signature
        body += f"--{boundary}--\r\n".encode()
        self._check_size(len(body), "action upload_voucher")
        return PreparedRequest("POST", self._origin + path, headers, body, redact_path(path))

    def _check_size(self, size: int, operation: str) -> None:
        if size > wire.MAX_BODY:
            raise ValidationError(
                f"{operation}: request body of {size} bytes is over Dynaccount's 20 MiB limit",
                errors={"request": "Request body too large (limit 20 MiB)"},
                operation=operation,
            )

    def _send(self, prepared: PreparedRequest, operation: str, *, idempotent: bool) -> httpx2.Response:
        """One HTTP exchange; httpx2 errors become ``TransportError`` without the URL."""
        content = None if prepared.method == "GET" else prepared.content
        progress = _WriteProgress()
        request = self._http.build_request(
            prepared.method,
            prepared.url,
            headers=prepared.headers,
            content=content,
            extensions={"trace": progress},
        )
        started = time.perf_counter()
        self.requests_sent += 1
        try:
            response = self._http.send(request)
        except httpx2.DecodingError:
            del request  # a traceback keeps this frame's locals, and the request's URL holds the key
            raise BadResponse(
                f"Dynaccount answered {operation} with a body that could not be decompressed",
                operation=operation,
            ) from None
        except httpx2.RequestError as exc:
            del request  # as above: error reporters that show frame locals must not see the URL
            unsent = progress.head_failed or isinstance(exc, _BEFORE_SENDING)
            cause = transport_cause(exc)
            detail = redact_secrets(str(exc) or type(exc).__name__, self.__key, self.__secret)
            outcome = "" if idempotent or unsent else f"; {UNKNOWN_OUTCOME}"
            raise TransportError(
                f"Could not complete {operation} with Dynaccount at {self._host}: {cause} "
                f"({type(exc).__name__}: {detail}){outcome}",
                operation=operation,
                unsent=unsent,
                cause=cause,
            ) from None
        logger.debug(
            "%s %s -> %d (%.1f ms)",
            prepared.method,
            prepared.log_path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    def _scrubbed(self, exc: DynaccountError) -> DynaccountError:
        """Redact the key/secret should the server ever echo them (in the text and the kept payload)."""
        exc.message = redact_secrets(exc.message, self.__key, self.__secret)
        exc.args = (exc.message,)
        exc.error = self._scrub_value(exc.error)
        if isinstance(exc, ValidationError):
            exc.errors = self._scrub_value(exc.errors)
        return exc

    def _scrub_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return redact_secrets(value, self.__key, self.__secret)
        if isinstance(value, dict):
            return {self._scrub_value(k): self._scrub_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub_value(v) for v in value]
        return value

    def _json(
        self, prepared: PreparedRequest, operation: str, *, idempotent: bool, bulk: bool = False
    ) -> list[dict[str, Any]]:
        return self._call(prepared, operation, partial(wire.decode_rows, bulk=bulk), idempotent=idempotent)

    def _binary(self, prepared: PreparedRequest, operation: str) -> bytes:
        return self._call(prepared, operation, wire.decode_binary, idempotent=True)

    def _call(
        self, prepared: PreparedRequest, operation: str, decode: Callable[..., T], *, idempotent: bool
    ) -> T:
        """Send, decode (errors scrubbed of secrets), and retry only what ``idempotent`` allows."""

        def once() -> T:
            response = self._send(prepared, operation, idempotent=idempotent)
            try:
                return decode(
                    response.status_code,
                    response.headers.get("content-type", ""),
                    response.content,
                    operation=operation,
                    api_id=self.api_id,
                    retry_after=wire.parse_retry_after(response.headers.get("retry-after")),
                )
            except DynaccountError as exc:
                raise self._scrubbed(exc) from None

        return call_with_retry(
            self.retry, once, idempotent=idempotent, operation=operation, sleep=self._sleep
        )


#: httpx2 errors raised before a request is handed to a connection: nothing of it was written.
_BEFORE_SENDING = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


class _WriteProgress:
    """httpcore2's ``trace`` events for one request: did writing its head fail?

    The head (request line and headers, a few hundred bytes) is the first write on a connection whose send
    buffer is empty (new, or idle between requests), so the kernel takes all of it or none: when that write
    fails, no byte of the request left this machine. The pool's idle check misses a connection the server
    resets in the instant before the write; this is how such a request is still known to be unsent.
    """

    __slots__ = ("head_failed",)

    def __init__(self) -> None:
        self.head_failed = False

    def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        if event == "http11.send_request_headers.failed":
            self.head_failed = True


def _row_id(id: int | str) -> str:
    """A row id path segment ('' for 0 / no id); digits only."""
    text = str(id).strip()
    if text in ("", "0"):
        return ""
    if not text.isdigit():
        raise ValueError(f"invalid row id {id!r}")
    return text


def _load_file(spec: FileSpec) -> tuple[str, bytes]:
    if isinstance(spec, tuple):
        name, content = spec
        return Path(name).name, bytes(content)
    path = Path(spec)
    return path.name, path.read_bytes()
