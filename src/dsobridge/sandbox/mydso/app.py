"""HTTP wire of the import interface: ``/api/{type}``, ``/apiPutFiles/…`` and the operator routes
``/_sandbox/…``.

Bodies are streamed into a spooled temporary file (in memory up to 1 MiB, then on disk) and counted against
the size cap; the import itself runs in a worker thread so the event loop keeps serving other requests.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import importlib
import json
import logging
import tempfile
from collections.abc import AsyncGenerator
from datetime import date, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from dsobridge.sandbox.mydso.importer import failure_report
from dsobridge.sandbox.mydso.options import KINDS, ImportOptions, options_from_query
from dsobridge.sandbox.mydso.reader import ImportFailed
from dsobridge.sandbox.mydso.values import EARLIEST_DATE, LATEST_AS_OF, as_of_in_range

if TYPE_CHECKING:
    from dsobridge.sandbox.mydso.sandbox import MyDsoSandbox

__all__ = ["build_app", "status_for"]

_log = logging.getLogger("dsobridge.sandbox.mydso.app")
SPOOL_IN_MEMORY = 1 << 20
_STATUS = {"ACCESS_DENIED": 401, "UNKNOWN_TYPE": 404, "TOO_LARGE": 413, "UNKNOWN_JOB": 404}


def status_for(report: dict[str, Any]) -> int:
    """200 on success; 401/404/413 as the spec says; 400 for every other file-level error."""
    if report.get("success"):
        return 200
    return _STATUS.get(str(report.get("error_code")), 400)


def _json(report: dict[str, Any], status: int | None = None) -> JSONResponse:
    response = JSONResponse(report, status_code=status if status is not None else status_for(report))
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="My DSO Manager sandbox"'
    return response


def _login(request: Request, sandbox: MyDsoSandbox) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    login, sep, password = decoded.partition(":")
    if not sep or not sandbox.store.verify(login, password):
        return None
    return login


def _denied(kind: str | None = None) -> JSONResponse:
    error = ImportFailed("ACCESS_DENIED", "wrong or missing login and password", status=401)
    return _json(failure_report(kind or "", None, error))


async def _spool(request: Request, cap: int) -> IO[bytes]:
    """The whole body, or ``INCOMPLETE_UPLOAD`` when the client goes away before its end (nothing of it is
    imported: the server never guesses that a body cut short was complete)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise ImportFailed("TOO_LARGE", f"the body exceeds {cap} bytes", status=413)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - the caller closes it
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > cap:
                raise ImportFailed("TOO_LARGE", f"the body exceeds {cap} bytes", status=413)
            spool.write(chunk)
    except ClientDisconnect:
        spool.close()
        raise ImportFailed(
            "INCOMPLETE_UPLOAD", f"the client disconnected after {total:,} bytes of the body; not imported"
        ) from None
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return await _unwrap_multipart(request, spool)  # type: ignore[arg-type]
    return spool  # type: ignore[return-value]


async def _unwrap_multipart(request: Request, spool: IO[bytes]) -> IO[bytes]:
    """``curl -F file=@items.csv`` and HTML forms send the file as a multipart part: the one file part is
    the body (other, non-file fields are ignored). No file part, or more than one, is ``CSV_BAD_SYNTAX``."""

    async def chunks() -> AsyncGenerator[bytes, None]:
        while chunk := spool.read(SPOOL_IN_MEMORY):
            yield chunk

    try:
        form = await MultiPartParser(request.headers, chunks(), max_files=2, max_fields=100).parse()
    except MultiPartException as exc:
        raise ImportFailed("CSV_BAD_SYNTAX", f"multipart body: {exc.message}") from None
    finally:
        spool.close()
    files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
    if len(files) != 1:
        await form.close()
        raise ImportFailed("CSV_BAD_SYNTAX", f"multipart body: {len(files)} file parts, expected exactly one")
    files[0].file.seek(0)
    return files[0].file


def _prepare(request: Request, kind: str) -> ImportOptions:
    if kind not in KINDS:
        raise ImportFailed("UNKNOWN_TYPE", f"unknown file type {kind!r}: use one of {', '.join(KINDS)}")
    options = options_from_query(request.query_params)
    if "encoding" not in request.query_params:
        # no encoding option: a valid charset in Content-Type is honoured (an invalid one is ignored)
        charset = _charset(request.headers.get("content-type", ""))
        if charset is not None:
            options = dataclasses.replace(options, encoding=charset)
    return options


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"'):
            try:
                return options_from_query({"encoding": value.strip().strip('"')}).encoding
            except ImportFailed:
                return None
    return None


def build_app(sandbox: MyDsoSandbox) -> Starlette:
    async def receive(request: Request, kind: str) -> tuple[str, ImportOptions, IO[bytes]] | JSONResponse:
        """Authenticate, read the options and spool the body; on failure, the answer to send instead."""
        login = _login(request, sandbox)
        if login is None:
            return _denied(kind)
        options: ImportOptions | None = None
        try:
            options = _prepare(request, kind)
            body = await _spool(request, sandbox.max_body_bytes)
        except ImportFailed as exc:
            if exc.code == "INCOMPLETE_UPLOAD":  # no one will read the answer: the log says what happened
                _log.warning("HTTP upload of %s by %s ended before the end of the body: %s", kind, login, exc)
            return _json(failure_report(kind, options, exc))
        return login, options, body

    async def api_import(request: Request) -> JSONResponse:
        kind = request.path_params["kind"]
        received = await receive(request, kind)
        if isinstance(received, JSONResponse):
            return received
        login, options, body = received
        try:
            report = await anyio.to_thread.run_sync(
                lambda: sandbox.import_file(login, kind, body, options, channel="http")
            )
        finally:
            body.close()
        return _json(report)

    async def async_submit(request: Request) -> JSONResponse:
        kind = request.path_params["name"]
        received = await receive(request, kind)
        if isinstance(received, JSONResponse):
            return received
        login, options, body = received
        job = sandbox.jobs.submit(login, kind, options, lambda: body, channel="async")
        return JSONResponse({"success": True, "job_id": job.id, "status": "queued"}, status_code=202)

    async def async_status(request: Request) -> JSONResponse:
        login = _login(request, sandbox)
        if login is None:
            return _denied()
        job = sandbox.jobs.get(request.path_params["name"])
        if job is None or job.account != login:
            return _json({"success": False, "error_code": "UNKNOWN_JOB", "message": "no such job"})
        return JSONResponse({"success": True, **job.public()})

    async def clock(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                sandbox.today = _new_date(sandbox.today, json.loads(await request.body() or b"{}"))
            except (ValueError, TypeError, AttributeError, OverflowError) as exc:
                return JSONResponse(
                    {"success": False, "error_code": "BAD_OPTION", "message": f"clock: {exc}"},
                    status_code=400,
                )
        return JSONResponse({"today": sandbox.today.isoformat()})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "today": sandbox.today.isoformat(), "now": _now()})

    routes: list[BaseRoute] = [
        Route("/api/{kind}", api_import, methods=["POST"]),
        # with a trailing slash too (the seed writes the base URL as ".../api/"): a 307 redirect would
        # lose the body with curl --data-binary and is not followed by httpx
        Route("/api/{kind}/", api_import, methods=["POST"]),
        Route("/apiPutFiles/{name}", async_submit, methods=["POST"]),
        Route("/apiPutFiles/{name}/", async_submit, methods=["POST"]),
        Route("/apiPutFiles/{name}", async_status, methods=["GET"]),
        Route("/_sandbox/clock", clock, methods=["GET", "POST"]),
        Route("/_sandbox/health", health, methods=["GET"]),
    ]
    routes += _optional_routes(sandbox, "ledger_api", "ledger_routes")
    routes += _optional_routes(sandbox, "web", "web_routes")
    return Starlette(routes=routes)


def _new_date(today: date, payload: Any) -> date:
    """``{"today": "YYYY-MM-DD"}`` and/or ``{"advance_days": N}`` (whole days), within the sandbox's range."""
    if not isinstance(payload, dict):
        raise TypeError("the body must be a JSON object")
    if "today" in payload:
        today = date.fromisoformat(payload["today"])
    if "advance_days" in payload:
        days = payload["advance_days"]
        if isinstance(days, bool) or not isinstance(days, int | str):
            raise TypeError("advance_days must be a whole number of days")
        today += timedelta(days=int(days))
    if not as_of_in_range(today):
        raise ValueError(f"the date must lie from {EARLIEST_DATE} to {LATEST_AS_OF}")
    return today


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _optional_routes(sandbox: MyDsoSandbox, module: str, attribute: str) -> list[BaseRoute]:
    """Routes from the ledger side's modules, mounted when they exist (they are built separately)."""
    name = f"dsobridge.sandbox.mydso.{module}"
    try:
        loaded = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return []
        raise
    return list(getattr(loaded, attribute)(sandbox))
