"""File-drop delivery over FTP or FTPS (explicit TLS) with stdlib ``ftplib``.

The file is uploaded under a temporary name that does not start with a file kind (so the server ignores it)
and renamed when complete; then ``<name>.report.json`` is awaited and parsed (spec §1.3).
"""

from __future__ import annotations

import contextlib
import ftplib
import io
import json
import logging
import ssl
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from dsobridge.mydso.body import make_body
from dsobridge.mydso.client import check_report
from dsobridge.mydso.csvfile import CsvOptions, file_name
from dsobridge.mydso.errors import AccessDenied, BadResponse, ImportTimeout, MyDsoError, TransportError
from dsobridge.mydso.report import ImportReport
from dsobridge.mydso.rows import kind_of
from dsobridge.retrylog import give_up_line, transport_cause

__all__ = ["FtpDrop"]

logger = logging.getLogger("dsobridge.mydso")
_NOT_RETRIED = "FTP deliveries are not retried automatically"


class _ChunkReader(io.RawIOBase):
    """A read()-able view of a byte or chunk-iterator body, for ``storbinary``."""

    def __init__(self, body: bytes | Iterator[bytes]) -> None:
        self._chunks = iter((body,)) if isinstance(body, bytes) else body
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._buffer = chunk
        if size < 0 or size >= len(self._buffer):
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


class FtpDrop:
    """Deliver files through My DSO Manager's FTP drop folder.

    ``tls=True`` is explicit FTPS: ``AUTH TLS`` before the login, then ``PROT P`` so every data transfer is
    encrypted too; the certificate and host name are verified with ``ssl_context`` (default: the system's
    trust store). ``directory`` is changed into after login.
    Nothing is retried automatically: a file is resent only by the caller.
    """

    def __init__(
        self,
        host: str,
        port: int = 21,
        login: str = "anonymous",
        password: str = "",
        *,
        tls: bool = False,
        timeout: float = 60.0,
        directory: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if ssl_context is not None and not tls:
            raise ValueError("ssl_context is for tls=True")
        self.host = host
        self.port = port
        self.tls = tls
        self.timeout = timeout
        self.directory = directory
        self._ssl_context = ssl_context
        self._login = login
        self._password = password
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"FtpDrop(host={self.host!r}, port={self.port}, tls={self.tls})"

    def _connect(self) -> ftplib.FTP:
        # plain FTP is what the service offers (spec §1.3); tls=True for FTPS
        if self.tls:  # verify the server's certificate (ftplib's own default context does not)
            context = self._ssl_context or ssl.create_default_context()
            ftp: ftplib.FTP = ftplib.FTP_TLS(context=context)  # noqa: S321
        else:
            ftp = ftplib.FTP()  # noqa: S321
        where = f"{self.host}:{self.port}"
        try:
            ftp.connect(self.host, self.port, timeout=self.timeout)
            if isinstance(ftp, ftplib.FTP_TLS):
                self._start_tls(ftp, where)  # before USER/PASS: the password only travels encrypted
            try:
                ftp.login(self._login, self._password)
            except ftplib.error_perm as exc:
                if str(exc).startswith("530"):
                    raise AccessDenied("FTP login refused (530)") from None
                raise
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            if self.directory:
                ftp.cwd(self.directory)
        except MyDsoError:
            _quit(ftp)
            raise
        except (*ftplib.all_errors,) as exc:
            _quit(ftp)
            logger.error(give_up_line(f"FTP connection to {where}", _cause(exc), 1, 1, _NOT_RETRIED))
            raise TransportError(f"FTP connection to {where} failed: {_reason(exc)}") from None
        return ftp

    @staticmethod
    def _start_tls(ftp: ftplib.FTP_TLS, where: str) -> None:
        """``AUTH TLS`` and the handshake, with errors that say which of the two went wrong."""
        try:
            ftp.auth()
        except ssl.SSLCertVerificationError as exc:
            reason = exc.verify_message or exc.reason or "certificate verify failed"
            raise TransportError(f"FTPS certificate of {where} failed verification: {reason}") from None
        except ssl.SSLError as exc:
            raise TransportError(f"FTPS handshake with {where} failed: {exc.reason or exc}") from None
        except (ftplib.error_perm, ftplib.error_reply) as exc:
            raise TransportError(f"FTP server {where} refused AUTH TLS: {str(exc)[:120]}") from None

    def deliver(
        self,
        kind: str | Enum,
        data: Any,
        *,
        when: date | datetime | None = None,
        stock: bool | None = None,
        encoding: str | None = None,
        report_timeout: float = 120.0,
        options: CsvOptions | None = None,
    ) -> ImportReport:
        """Upload one file, wait for its report, return it (raising like ``MyDsoClient.import_file``).

        ``when`` names the file (default: now, to the second, so two deliveries never share a name).
        """
        kind = kind_of(kind)
        body = make_body(kind, data, encoding, options)
        when = when or datetime.now().replace(microsecond=0)
        name = file_name(kind, when, stock=stock, encoding=body.encoding)
        report_name = f"{name}.report.json"
        temp = f".{name}.part"
        ftp = self._connect()
        try:
            _delete_quietly(ftp, report_name)  # an older upload of the same name must not answer for this one
            try:
                ftp.storbinary(f"STOR {temp}", _ChunkReader(body.open()))
            except Exception:
                _abandon(ftp, temp)
                raise
            ftp.rename(temp, name)
            raw = self._wait_report(ftp, report_name, report_timeout)
        except (*ftplib.all_errors,) as exc:
            logger.error(give_up_line(f"FTP delivery of {name}", _cause(exc), 1, 1, _NOT_RETRIED))
            raise TransportError(f"FTP delivery of {name} failed: {_reason(exc)}") from None
        finally:
            _quit(ftp)
        try:
            obj = json.loads(raw, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise BadResponse(f"{report_name} is not JSON") from None
        return check_report(ImportReport.from_json(obj))

    def _wait_report(self, ftp: ftplib.FTP, report_name: str, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            buffer = io.BytesIO()
            try:
                ftp.retrbinary(f"RETR {report_name}", buffer.write)
                return buffer.getvalue()
            except ftplib.error_perm as exc:
                if not str(exc).startswith("550"):
                    raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ImportTimeout(f"no {report_name} after {timeout:g} s")
            self._sleep(min(delay, remaining))
            delay = min(delay * 2, 2.0)


def _cause(exc: BaseException) -> str:
    """The cause in the words of the log lines; an FTP refusal by its reply code (``FTP reply 550``)."""
    if isinstance(exc, ftplib.Error):
        return f"FTP reply {str(exc)[:3]}"
    return transport_cause(exc)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def _delete_quietly(ftp: ftplib.FTP, name: str) -> None:
    with contextlib.suppress(ftplib.error_perm):
        ftp.delete(name)


def _abandon(ftp: ftplib.FTP, temp: str) -> None:
    """After a failed upload: read the pending transfer reply, then remove the partial file."""
    try:
        ftp.voidresp()
    except (*ftplib.all_errors,):
        pass
    try:
        ftp.delete(temp)
    except (*ftplib.all_errors,):
        pass


def _quit(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (*ftplib.all_errors, AttributeError):
        ftp.close()
