"""The ASGI app: fault injection in front, the operator endpoints under ``/_sandbox/``, the API behind.

The API is a plain ASGI callable (no framework per request: it is the hot path of page reads). Handlers run
synchronously on the loop under the store's lock; webhooks fire only after the transaction committed.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx2
from starlette.datastructures import UploadFile
from starlette.requests import Request

from dsobridge.dynaccount import signing
from dsobridge.sandbox.dynaccount import crud, faults, pdf, vouchers, wire
from dsobridge.sandbox.dynaccount.errors import ApiError, BadRequest, NotFound, TooLarge, Unauthorized
from dsobridge.sandbox.dynaccount.schema import TABLES
from dsobridge.sandbox.dynaccount.store import QueryError, parse_limit, parse_order
from dsobridge.sandbox.dynaccount.values import parse_value

if TYPE_CHECKING:
    from dsobridge.sandbox.dynaccount.sandbox import DynaccountSandbox

log = logging.getLogger("dsobridge.sandbox.dynaccount")
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
_RESERVED = ("select", "order", "limit")


class _Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, content_type: bytes = b"application/json", extra=()) -> None:
        self.status = status
        self.body = body
        self.headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]


def _error(exc: ApiError) -> _Response:
    return _Response(exc.status, wire.error_body(exc.error))


class SandboxApp:
    """``sb.app``: route ``/_sandbox/…`` to the operator app, everything else to the API."""

    def __init__(self, sandbox: DynaccountSandbox) -> None:
        from dsobridge.sandbox.dynaccount.operator import operator_app

        self.sb = sandbox
        self.operator = operator_app(sandbox)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["path"].startswith("/_sandbox/") or scope["path"] == "/_sandbox":
            await self.operator(scope, receive, send)
            return
        response = await self._api(scope, receive, send)
        if response is not None:
            await send(
                {"type": "http.response.start", "status": response.status, "headers": response.headers}
            )
            await send({"type": "http.response.body", "body": response.body})

    async def _api(self, scope: dict[str, Any], receive: Receive, send: Send) -> _Response | None:
        started = time.perf_counter()
        try:
            call = wire.parse_path(scope["path"])
        except ApiError as exc:
            return _error(exc)
        target = "document" if call.method == "document" else call.name
        fault, latency = self.sb.faults.decide(target)
        if latency:
            await asyncio.sleep(latency)
        if fault == faults.DROP:
            await _drop(send)
            return None
        if fault == faults.ERROR:
            body = wire.error_body({"server": "Injected server fault (sandbox)"})
            return _Response(self.sb.faults.error_status, body)
        if fault == faults.RATE_LIMIT:
            extra = [(b"retry-after", f"{self.sb.faults.retry_after:g}".encode())]
            return _Response(429, wire.error_body({"rate_limit": "Too many requests"}), extra=extra)
        try:
            body = await _read_body(scope, receive)
            response = await self._dispatch(scope, call, body, started)
        except ApiError as exc:
            response = _error(exc)
        except QueryError as exc:
            response = _error(BadRequest(str(exc)))
        except Exception:  # a bug, never bad input: answer 500 without echoing anything secret
            log.exception("sandbox API handler failed (%s %s)", call.method, call.name)
            response = _Response(500, wire.error_body({"server": "Internal sandbox error"}))
        if fault == faults.BROKEN_JSON:
            response.body = response.body[: max(1, len(response.body) // 2)]
            response.headers[1] = (b"content-length", str(len(response.body)).encode())
        return response

    def _authenticate(self, call: wire.Call) -> None:
        creds = self.sb.credentials
        if call.api_id != str(creds.api_id) or not signing.hashes_equal(creds.api_key, call.api_key[:64]):
            raise Unauthorized(wire.AUTH_ERROR)

    async def _dispatch(
        self, scope: dict[str, Any], call: wire.Call, body: bytes, started: float
    ) -> _Response:
        try:
            call.api_key.encode("ascii")
        except UnicodeEncodeError:
            raise Unauthorized(wire.AUTH_ERROR) from None
        self._authenticate(call)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        raw_path = (scope.get("raw_path") or scope["path"].encode("utf-8")).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        content_type = headers.get("content-type", "")
        if (
            call.method == "action"
            and call.name == "upload_voucher"
            and content_type.startswith("multipart/")
        ):
            return await self._upload_voucher(scope, call, body, host, raw_path, query, headers)
        signed = wire.check_hash(
            call, host, raw_path, query, body, headers.get("x-hash"), self.sb.credentials.api_secret
        )
        query_pairs = wire.parse_form(scope.get("query_string", b""))
        body_pairs = wire.parse_form(signed)
        handler = getattr(self, f"_{call.method}")
        return handler(call, query_pairs, body_pairs, started)

    # -- methods ------------------------------------------------------------------------------------------
    def _get(self, call: wire.Call, query: list, body: list, started: float) -> _Response:
        table = TABLES.get(call.name)
        if table is None:
            raise NotFound(f"Unknown table '{call.name}'")
        params = dict(body)
        params.update(query)
        select = tuple(s.strip() for s in params.get("select", "").split(",") if s.strip())
        order_text = params.get("order", "")
        if not order_text.strip() and table.key == "name":
            order_text = "name"  # the seed's vatcode answer: no order asked, rows by name, "order":"name"
        order = parse_order(order_text)
        offset, count = parse_limit(params.get("limit", ""))
        where: dict[str, Any] = {}
        for name, text in params.items():
            if name in _RESERVED or name == "lang":
                continue
            field = table.fields.get(name)
            if field is None:
                raise BadRequest(f"Unknown field '{name}' in table '{table.name}'")
            try:
                where[name] = parse_value(field, text)
            except ValueError as exc:
                raise BadRequest(f"Bad value for '{name}': {exc}") from None
        if call.row_id:
            where["id"] = call.row_id
        rows, num = self.sb.store.page(
            table, select=select, where=where, order=order, offset=offset, count=count
        )
        if call.row_id and num == 0:
            raise NotFound(f"No {table.name} with id {call.row_id}")
        body_bytes = wire.ok_body(
            rows,
            offset=offset,
            count=count,
            num=num,
            order=order_text or "id",
            elapsed=time.perf_counter() - started,
        )
        return _Response(200, body_bytes)

    def _ok(self, rows_json: str, num: int, started: float) -> _Response:
        return _Response(
            200,
            wire.ok_body(
                rows_json, offset=0, count=-1, num=num, order="id", elapsed=time.perf_counter() - started
            ),
        )

    def _put(self, call: wire.Call, query: list, body: list, started: float) -> _Response:
        store = self.sb.store
        with store.tx() as c:
            row_id, method = crud.put(c, call.name, call.row_id, body, self.sb.today)
            row = store.row_json(c, call.name, row_id) or "null"
        self.sb.webhooks.emit(method, call.name, row)
        return self._ok(f"[{row}]", 1, started)

    def _delete(self, call: wire.Call, query: list, body: list, started: float) -> _Response:
        if not call.row_id:
            raise BadRequest("delete needs a row id in the path")
        with self.sb.store.tx() as c:
            crud.delete(c, call.name, call.row_id, self.sb.today)
        result = f'{{"id":{call.row_id}}}'
        self.sb.webhooks.emit("delete", call.name, result)
        return self._ok(f"[{result}]", 1, started)

    def _insert_bulk(self, call: wire.Call, query: list, body: list, started: float) -> _Response:
        rows = wire.bulk_rows(body)
        store = self.sb.store
        with store.tx() as c:
            ids = crud.insert_bulk(c, call.name, rows, self.sb.today)
            texts = [store.row_json(c, call.name, i) or "null" for i in ids]
        for text in texts:
            self.sb.webhooks.emit("insert", call.name, text)
        return self._ok("[" + ",".join(texts) + "]", len(texts), started)

    def _action(self, call: wire.Call, query: list, body: list, started: float) -> _Response:
        if call.name == "upload_voucher":
            raise BadRequest("upload_voucher expects a multipart/form-data body")
        params = dict(query)
        params.update(body)
        with self.sb.store.tx() as c:
            result = self.sb.actions.run(c, call.name, params, self.sb.today)
        text = wire.to_json(result)
        self.sb.webhooks.emit("action", call.name, text)
        return self._ok(text, len(result), started)

    def _document(self, call: wire.Call, query: list, body: list, started: float) -> _Response:
        if not (call.extra.isascii() and call.extra.isdigit()) or len(call.extra) > 18:
            raise BadRequest("The document number must be a positive integer")
        with self.sb.store.lock:
            data = pdf.document_pdf(self.sb.store.conn, call.name, int(call.extra))
        return _Response(200, data, b"application/pdf")

    def _report(self, call: wire.Call, query: list, body: list, started: float) -> _Response:
        if call.extra and call.extra != "pdf":
            raise BadRequest("Only the pdf output is supported")
        params = dict(query)
        params.update(body)
        with self.sb.store.lock:
            data = pdf.report_pdf(
                self.sb.store.conn, call.name, params.get("lang", "da"), params, self.sb.today
            )
        return _Response(200, data, b"application/pdf")

    async def _upload_voucher(
        self, scope: dict, call: wire.Call, body: bytes, host: str, raw_path: str, query: str, headers: dict
    ) -> _Response:
        started = time.perf_counter()
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            form = await Request(scope, receive).form(max_files=100, max_fields=100)
        except Exception:
            raise BadRequest("Malformed multipart body") from None
        parts: list[bytes | str] = []
        received = headers.get("x-hash")
        label = from_name = ""
        files: list[tuple[str, bytes]] = []
        for key, value in form.multi_items():
            if key == signing.HASH_FIELD and isinstance(value, str):
                received = value
                continue
            if isinstance(value, UploadFile):
                data = await value.read()
                parts.append(data)
                files.append((value.filename or "voucher", data))
            else:
                parts.append(value)
                if key == "label":
                    label = value
                elif key in ("from_name", "from"):
                    from_name = value
        url = signing.url_without_scheme(host, raw_path, query)
        expected = signing.multipart_hash(url, parts, self.sb.credentials.api_secret)
        try:
            ok = bool(received) and signing.hashes_equal(expected, received or "")
        except (UnicodeEncodeError, ValueError):  # a non-ASCII hash (header or part): just a wrong hash
            ok = False
        if not ok:
            raise Unauthorized(wire.HASH_ERROR)
        if not files:
            raise ApiError({"files": "At least one file is required"})
        stored = []
        for name, data in files:
            try:
                content = gzip.decompress(data)
            except (OSError, EOFError, zlib.error):
                raise ApiError({"files": f"File '{name[:100]}' is not gzip-compressed"}) from None
            stored.append(vouchers.describe(name, data, content, label, from_name, self.sb.today))
        store = self.sb.store
        with store.tx() as c:
            ids = vouchers.store(c, stored)
            texts = [store.row_json(c, "data_voucher", i) or "null" for i in ids]
        text = "[" + ",".join(texts) + "]"
        self.sb.webhooks.emit("action", "upload_voucher", text)
        return self._ok(text, len(texts), started)


async def _read_body(scope: dict[str, Any], receive: Receive) -> bytes:
    for key, value in scope["headers"]:
        if key == b"content-length":
            if not value.isdigit():
                raise BadRequest("Malformed Content-Length")
            if int(value) > wire.MAX_BODY:
                raise TooLarge()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > wire.MAX_BODY:
            raise TooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _drop(send: Send) -> None:
    """Close the connection without answering (uvicorn), or fail the in-process call the same way."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise httpx2.RemoteProtocolError("Server disconnected without sending a response.")
    transport.close()
    for _ in range(3):
        await asyncio.sleep(0)
