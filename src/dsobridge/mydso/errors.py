"""One exception tree for the My DSO Manager client.

Messages never hold the password, the login or the Authorization header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dsobridge.mydso.report import ImportReport

__all__ = [
    "AccessDenied",
    "BadResponse",
    "HeaderError",
    "ImportRejected",
    "ImportTimeout",
    "MyDsoError",
    "RowError",
    "TransportError",
]


class MyDsoError(Exception):
    """Base of every error raised by ``dsobridge.mydso``."""


class RowError(MyDsoError, ValueError):
    """The writer refused a row the server would reject.

    ``row`` is the 1-based data row (the header is row 0), ``line`` the line in the file (``row + 1``).
    """

    def __init__(self, row: int, column: str | None, reason: str) -> None:
        self.row = row
        self.line = row + 1
        self.column = column
        self.reason = reason
        where = f"row {row} (line {self.line})" if row else "header"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {reason}")


class HeaderError(RowError):
    """The column list itself is wrong (unknown, duplicate or missing required column)."""

    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(0, column, reason)


class AccessDenied(MyDsoError):
    """HTTP 401, ``ACCESS_DENIED``, or an FTP login refused."""

    def __init__(self, message: str = "access denied", report: ImportReport | None = None) -> None:
        self.report = report
        self.error_code = "ACCESS_DENIED"
        super().__init__(message)


class ImportRejected(MyDsoError):
    """The service refused the whole file (``success: false``); nothing was imported.

    ``error_code`` is kept verbatim, including codes this client does not know.
    """

    def __init__(self, error_code: str | None, report: ImportReport) -> None:
        self.error_code = error_code
        self.report = report
        detail = f": {report.message}" if report.message else ""
        super().__init__(f"import rejected ({error_code or 'no error_code'}){detail}")


class TransportError(MyDsoError):
    """The file could not be delivered: network failure, 5xx/429 after the allowed retries, FTP failure."""


class ImportTimeout(TransportError):
    """An asynchronous job or an FTP report did not finish within the timeout; it may still complete."""


class BadResponse(MyDsoError):
    """The service answered something that is not an import report (not JSON, wrong shape)."""
