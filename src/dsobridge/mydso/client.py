"""HTTP delivery: the synchronous ``/api/{kind}`` import and the asynchronous ``/apiPutFiles/`` path."""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import httpx2

from dsobridge.mydso.body import Body, make_body, retryable_kind
from dsobridge.mydso.csvfile import CsvOptions
from dsobridge.mydso.errors import (
    AccessDenied,
    BadResponse,
    ImportRejected,
    ImportTimeout,
    MyDsoError,
    RowError,
    TransportError,
)
from dsobridge.mydso.report import ImportReport, parse_report
from dsobridge.mydso.rows import kind_of
from dsobridge.retrylog import give_up_line, retry_line, status_cause, transport_cause

__all__ = ["DEFAULT_BASE_URL", "IDLE_EXPIRY", "MyDsoClient", "check_report", "import_options"]

DEFAULT_BASE_URL = "https://account.mydsomanager.com/api/"
#: Seconds an idle connection is kept. My DSO Manager's own limit is not public; 5 s is the shortest common
#: server default (Apache's, and the Dynaccount server's), so the client lets go at 4 s, before any of them.
IDLE_EXPIRY = 4.0
_LIMITS = httpx2.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=IDLE_EXPIRY)
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
logger = logging.getLogger("dsobridge.mydso")


def import_options(
    kind: str, encoding: str, stock: bool | None, replace_users_association: bool | None
) -> dict[str, str]:
    """The query-string options of spec §2; only the ones that apply and were chosen (encoding always)."""
    params = {"encoding": encoding}
    if stock is not None:
        if kind != "items":
            raise ValueError("stock (clear_items_not_modified) applies to items files only")
        params["clear_items_not_modified"] = "true" if stock else "false"
    if replace_users_association is not None:
        if kind != "users":
            raise ValueError("replace_users_association applies to users files only")
        params["replace_users_association"] = "1" if replace_users_association else "0"
    return params


def check_report(report: ImportReport) -> ImportReport:
    """Raise for a file-level failure; return a successful report (row rejections included) as is."""
    if report.error_code == "ACCESS_DENIED":
        raise AccessDenied(report.message or "access denied", report)
    if not report.success:
        raise ImportRejected(report.error_code, report)
    return report


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class MyDsoClient:
    """Deliver files to My DSO Manager over HTTP: one pooled keep-alive connection, HTTP Basic auth.

    ``max_attempts`` bounds the tries of a retryable upload (STOCK items, clients) and of each poll;
    ``max_retry_wait`` caps any single wait, including a server's ``Retry-After``. An idle connection is
    dropped after ``IDLE_EXPIRY`` (4 s), before a server with the common 5 s keep-alive timeout closes it.
    """

    def __init__(
        self,
        login: str,
        password: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 60.0,
        transport: httpx2.BaseTransport | None = None,
        max_attempts: int = 3,
        max_retry_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if httpx2.URL(base_url).userinfo:  # it would show in reprs and logs; the message must not echo it
            raise ValueError("base_url must not hold a login or password: pass them as arguments")
        if not base_url.endswith("/"):
            base_url += "/"
        self.base_url = base_url
        self.async_url = str(httpx2.URL(base_url).join("../apiPutFiles/"))
        self.max_attempts = max(1, max_attempts)
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._http = httpx2.Client(
            auth=httpx2.BasicAuth(login, password),
            timeout=timeout,
            transport=transport,
            verify=httpx2.URL(base_url).scheme == "https",  # plain http (a sandbox): no certificate store
            limits=_LIMITS,
            headers={"User-Agent": "dsobridge-mydso", "Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"MyDsoClient(base_url={self.base_url!r})"

    def __enter__(self) -> MyDsoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _upload(
        self,
        base: str,
        kind: str | Enum,
        data: Any,
        encoding: str | None,
        stock: bool | None,
        replace_users_association: bool | None,
        options: CsvOptions | None,
    ) -> httpx2.Response:
        """POST one file to ``base + kind`` with its options; retried only when the kind allows it."""
        kind = kind_of(kind)
        body = make_body(kind, data, encoding, options)
        params = import_options(kind, body.encoding, stock, replace_users_association)
        operation = f"{'submit' if base == self.async_url else 'import'} {kind} file"
        return self._post(base + kind, params, body, operation, _not_resent(kind, stock, body.replayable))

    # --- synchronous import ------------------------------------------------------------------------------

    def import_file(
        self,
        kind: str | Enum,
        data: Any,
        *,
        encoding: str | None = None,
        stock: bool | None = None,
        replace_users_association: bool | None = None,
        options: CsvOptions | None = None,
    ) -> ImportReport:
        """POST one file to ``/api/{kind}`` and return the report.

        ``data``: bytes, a path (``str`` or ``Path``) or an iterable of rows (streamed through ``iter_csv``).
        Raises ``AccessDenied``, ``ImportRejected`` (file-level error), ``TransportError``, ``BadResponse``,
        or ``RowError`` when a row fails the writer's checks (the upload is then aborted).
        """
        response = self._upload(
            self.base_url, kind, data, encoding, stock, replace_users_association, options
        )
        return check_report(self._report(response))

    # --- asynchronous import -----------------------------------------------------------------------------

    def submit_async(
        self,
        kind: str | Enum,
        data: Any,
        *,
        encoding: str | None = None,
        stock: bool | None = None,
        replace_users_association: bool | None = None,
        options: CsvOptions | None = None,
    ) -> str:
        """POST one file to ``/apiPutFiles/{kind}``; return the job id to pass to ``wait_async``."""
        response = self._upload(
            self.async_url, kind, data, encoding, stock, replace_users_association, options
        )
        obj = self._json(response)
        if response.status_code == 401:
            raise AccessDenied("access denied (HTTP 401)")
        if isinstance(obj, dict) and obj.get("success") is True and obj.get("job_id") not in (None, ""):
            return str(obj["job_id"])
        if isinstance(obj, dict) and "success" in obj:
            check_report(ImportReport.from_json(obj))
        raise BadResponse(f"HTTP {response.status_code}: the answer to an asynchronous submit has no job_id")

    def wait_async(self, job_id: str, *, timeout: float = 300.0) -> ImportReport:
        """Poll ``/apiPutFiles/{job_id}`` with backoff until the job is done; raise ``ImportTimeout`` after
        ``timeout`` seconds (the job may still finish: poll again with the same id)."""
        deadline = time.monotonic() + timeout
        delay = 0.2
        url = self.async_url + str(job_id)
        while True:
            response = self._send_with_retries(lambda: self._http.get(url), operation=f"poll job {job_id}")
            obj = self._json(response)
            if response.status_code == 401:
                raise AccessDenied("access denied (HTTP 401)")
            if isinstance(obj, dict) and "status" not in obj and obj.get("success") is False:
                check_report(ImportReport.from_json(obj))  # e.g. UNKNOWN_JOB: raises ImportRejected
            if not isinstance(obj, dict) or "status" not in obj:
                raise BadResponse(f"HTTP {response.status_code}: job status answer has no 'status'")
            status = obj.get("status")
            report_obj = obj.get("report")
            if status == "done":
                return check_report(ImportReport.from_json(report_obj))
            if status == "failed":
                if isinstance(report_obj, dict) and "success" in report_obj:
                    report = ImportReport.from_json(report_obj)
                    check_report(report)
                    raise ImportRejected(report.error_code or "JOB_FAILED", report)
                failed = ImportReport(success=False, error_code="JOB_FAILED", raw=obj)
                raise ImportRejected("JOB_FAILED", failed)
            # queued, running, or a status this client does not know yet: keep polling
            wait = _retry_after(response) or delay
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ImportTimeout(f"job {job_id} not done after {timeout:g} s (last status {status!r})")
            self._sleep(min(wait, remaining, self.max_retry_wait))
            delay = min(delay * 1.6, 5.0)

    def import_file_async(
        self,
        kind: str | Enum,
        data: Any,
        *,
        encoding: str | None = None,
        stock: bool | None = None,
        replace_users_association: bool | None = None,
        options: CsvOptions | None = None,
        timeout: float = 300.0,
    ) -> ImportReport:
        """``submit_async`` then ``wait_async``."""
        job_id = self.submit_async(
            kind,
            data,
            encoding=encoding,
            stock=stock,
            replace_users_association=replace_users_association,
            options=options,
        )
        return self.wait_async(job_id, timeout=timeout)

    # --- plumbing ----------------------------------------------------------------------------------------

    def _post(
        self, url: str, params: dict[str, str], body: Body, operation: str, not_resent: str
    ) -> httpx2.Response:
        headers = {"Content-Type": f"text/csv; charset={body.encoding}"}
        return self._send_with_retries(
            lambda: self._http.post(url, params=params, content=body.open(), headers=headers),
            operation=operation,
            not_resent=not_resent,
        )

    def _send_with_retries(
        self, send: Callable[[], httpx2.Response], *, operation: str, not_resent: str = ""
    ) -> httpx2.Response:
        """Send, retrying transient failures unless ``not_resent`` says why this request must go only once.

        Each retry is one WARNING line and a transient failure that ends the call one ERROR line on
        ``dsobridge.mydso`` (``dsobridge.retrylog``); answers that are reports (even refusals) are returned.
        """
        attempts = 1 if not_resent else self.max_attempts
        backoff = 1.0
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = send()
            except RowError:
                raise
            except httpx2.HTTPError as exc:
                cause = transport_cause(exc)
                if last:
                    logger.error(give_up_line(operation, cause, attempt, attempts, not_resent))
                    if isinstance(exc, httpx2.TimeoutException):
                        raise TransportError(
                            f"timeout talking to My DSO Manager ({type(exc).__name__})"
                        ) from None
                    raise TransportError(f"cannot reach My DSO Manager ({type(exc).__name__})") from None
                wait = backoff
            except MyDsoError:
                raise
            else:
                status = response.status_code
                retry_after = _retry_after(response)
                cause = status_cause(status, retry_after)
                if status not in _RETRY_STATUSES or last:
                    if (status in _RETRY_STATUSES or status >= 500) and not _looks_like_report(response):
                        why = not_resent if status in _RETRY_STATUSES else f"HTTP {status} is not retried"
                        logger.error(give_up_line(operation, cause, attempt, attempts, why))
                        raise TransportError(f"My DSO Manager answered HTTP {status}")
                    return response
                wait = backoff if retry_after is None else retry_after
            wait = min(wait, self.max_retry_wait)
            logger.warning(retry_line(operation, cause, attempt + 1, attempts, wait))
            self._sleep(wait)
            backoff *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _json(response: httpx2.Response) -> Any:
        try:
            return json.loads(response.content, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            if response.status_code == 401:
                raise AccessDenied("access denied (HTTP 401)") from None
            raise BadResponse(f"HTTP {response.status_code}: the answer is not JSON") from None

    def _report(self, response: httpx2.Response) -> ImportReport:
        if response.status_code == 401:
            try:
                report = parse_report(response.content)
            except BadResponse:
                report = None
            raise AccessDenied("access denied (HTTP 401)", report)
        try:
            return parse_report(response.content)
        except BadResponse as exc:
            raise BadResponse(f"HTTP {response.status_code}: {exc}") from None


def _not_resent(kind: str, stock: bool | None, replayable: bool) -> str:
    """Why an upload goes only once ("" when it may be re-sent): only idempotent, replayable files are."""
    if not retryable_kind(kind, stock):
        return "not re-sent: importing this file twice is not safe, the outcome is unknown"
    if not replayable:
        return "not re-sent: its rows were streamed once and cannot be sent again"
    return ""


def _looks_like_report(response: httpx2.Response) -> bool:
    try:
        obj = json.loads(response.content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(obj, dict) and "success" in obj
