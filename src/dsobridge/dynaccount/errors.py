"""One exception tree for the Dynaccount client.

Messages are written for a person and never hold the API key, the secret or the URL path (which holds the
key). ``error`` keeps the server's ``error`` payload verbatim, whatever its shape.
"""

from __future__ import annotations

from typing import Any


class DynaccountError(Exception):
    """Base of every error raised by :class:`~dsobridge.dynaccount.DynaccountClient`.

    ``status`` is the HTTP status (``None`` when no response came back), ``operation`` a short label such as
    ``"get debtor"``, ``error`` the server's ``error`` payload as received (``None`` when there was none).
    """

    def __init__(
        self, message: str, *, status: int | None = None, operation: str | None = None, error: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.operation = operation
        self.error = error

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"


class TransportError(DynaccountError):
    """No usable HTTP exchange: connect failure, timeout, connection dropped mid-response.

    ``unsent`` is true when the request provably never left this machine (a write may then be re-sent): the
    connection could not be made, or writing the request's first bytes failed. ``cause`` says what happened in
    the words of the log lines (``connection refused``, ``timeout``, ``connection closed`` …).
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        unsent: bool = False,
        cause: str = "transport error",
    ) -> None:
        super().__init__(message, operation=operation)
        self.unsent = unsent
        self.cause = cause


class AuthError(DynaccountError):
    """Dynaccount refused the credentials (unknown API_ID/API_KEY) or the request signature (API_SECRET)."""


class ValidationError(DynaccountError):
    """Dynaccount refused what was sent.

    ``errors`` is ``{field: message}`` for put, ``{line_index: {field: message}}`` (int keys) for insert_bulk,
    and for request-level refusals the server's map as is (e.g. ``{"request": "…"}``).
    """

    def __init__(
        self,
        message: str,
        *,
        errors: dict[Any, Any],
        status: int | None = None,
        operation: str | None = None,
        error: Any = None,
    ) -> None:
        super().__init__(message, status=status, operation=operation, error=error)
        self.errors = errors


class NotFound(DynaccountError):
    """Unknown table, row id, action, document or report."""


class RateLimited(DynaccountError):
    """HTTP 429; ``retry_after`` is the ``Retry-After`` in seconds (``None`` when absent or unreadable)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        operation: str | None = None,
        error: Any = None,
    ) -> None:
        super().__init__(message, status=status, operation=operation, error=error)
        self.retry_after = retry_after


class ServerError(DynaccountError):
    """A 5xx answer, or a 200 whose ``error`` says the server failed."""


class BadResponse(DynaccountError):
    """The answer could not be understood: non-JSON where JSON was due, or JSON of an unexpected shape."""
