"""One vocabulary for the retry and give-up log lines of both HTTP clients (Dynaccount, My DSO Manager).

A retry is ONE line at WARNING, a final failure ONE line at ERROR, both written for the person reading the
night's log::

    retrying get debtor_invoice page 12 after HTTP 503 (attempt 2 of 5, waiting 1.4 s)
    giving up on get debtor_invoice page 12 after HTTP 503 (attempt 5 of 5)

The operation names a table or file (never a URL: the Dynaccount path holds the API key); the cause is one
of ``HTTP <status>``, ``HTTP 429 Retry-After <s>``, ``connection refused``, ``host not found``,
``cannot connect``, ``TLS error``, ``connect timeout``, ``timeout``, ``connection closed``,
``connection reset``, ``protocol error``, ``unreadable answer``.
"""

from __future__ import annotations

import errno
import socket
import ssl

import httpx2

_RESET = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED}


def seconds(value: float) -> str:
    """A wait as the log shows it: ``1.4``, ``0.05``, ``30``."""
    return f"{value:.1f}" if value >= 0.1 else f"{value:.2f}"


def retry_line(operation: str, cause: str, attempt: int, attempts: int, wait: float) -> str:
    """The WARNING line before a retry; ``attempt`` is the number of the try about to be made."""
    return f"retrying {operation} after {cause} (attempt {attempt} of {attempts}, waiting {seconds(wait)} s)"


def give_up_line(operation: str, cause: str, attempt: int, attempts: int, why: str = "") -> str:
    """The ERROR line when a call fails for good; ``why`` tells why no attempt follows (when not obvious)."""
    tail = f", {why}" if why else ""
    return f"giving up on {operation} after {cause} (attempt {attempt} of {attempts}{tail})"


def status_cause(status: int, retry_after: float | None = None) -> str:
    """``HTTP 503``; ``HTTP 429 Retry-After 3`` when the server said how long to wait."""
    if retry_after is not None:
        return f"HTTP {status} Retry-After {retry_after:g}"
    return f"HTTP {status}"


def transport_cause(exc: BaseException) -> str:
    """What went wrong below HTTP, in a few words, from an httpx2 error (its chain holds the OS error) or an
    OS-level one (``ftplib`` raises those as they are)."""
    if isinstance(exc, httpx2.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, httpx2.TimeoutException | TimeoutError):
        return "timeout"
    root = _os_error(exc)
    if isinstance(root, ConnectionRefusedError):
        return "connection refused"
    if isinstance(root, socket.gaierror):
        return "host not found"
    if isinstance(root, ssl.SSLError):
        return "TLS error"
    if isinstance(exc, httpx2.ConnectError):
        return "cannot connect"
    if isinstance(root, OSError) and root.errno in _RESET:
        return "connection reset"
    if isinstance(exc, httpx2.ReadError | httpx2.WriteError | EOFError):
        return "connection closed"
    if isinstance(exc, httpx2.RemoteProtocolError) and "disconnected" in str(exc):
        return "connection closed"
    if isinstance(exc, httpx2.ProtocolError):
        return "protocol error"
    return type(exc).__name__


def _os_error(exc: BaseException) -> BaseException | None:
    """The first OS-level error in the exception's cause chain (httpx2 → httpcore2 → OSError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
