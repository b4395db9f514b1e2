"""The FTP drop (spec §1.3): pyftpdlib on loopback, one home folder per account, plain FTP or explicit FTPS.

A file is processed when its upload completes (or when it is renamed) if its name begins with ``clients``,
``items``, ``contacts`` or ``users`` and does not end like a temporary upload (``.part``, ``.tmp``, …). The
import runs on the sandbox's job worker; then the file disappears and ``<name>.report.json`` appears. Only a
completed transfer is imported: ``UploadEnd`` tells a cut from an end, ``DropUploads`` decides.

With ``tls=True`` the server is pyftpdlib's ``TLS_FTPHandler`` (``AUTH TLS``, ``PBSZ``, ``PROT``), with the
given certificate files or a self-signed certificate for ``localhost``/``127.0.0.1``/``::1`` generated at
start into a private temporary directory (removed at ``stop()``); the private key is never logged or printed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import FTPServer

from dsobridge.sandbox.mydso.ftp_uploads import DropUploads

if TYPE_CHECKING:
    from dsobridge.sandbox.mydso.sandbox import MyDsoSandbox

__all__ = ["FtpDrop", "make_self_signed_certificate"]

_log = logging.getLogger("dsobridge.sandbox.mydso.ftp")
_SAFE_LOGIN = re.compile(r"[A-Za-z0-9._@-]{1,64}")
# pyftpdlib configures its own INFO logging to stderr unless its logger has a handler; keep it to warnings
_pyftpdlib_log = logging.getLogger("pyftpdlib")
_pyftpdlib_log.setLevel(logging.WARNING)
if not _pyftpdlib_log.handlers:
    _pyftpdlib_log.addHandler(logging.NullHandler())


def home_folder_name(login: str) -> str:
    """The login itself when it is a safe folder name, else a digest of it."""
    if _SAFE_LOGIN.fullmatch(login) and login not in (".", ".."):
        return login
    return "account-" + hashlib.sha256(login.encode()).hexdigest()[:16]


class _StoreAuthorizer(DummyAuthorizer):
    """Checks passwords against the sandbox store; a user's home is created at its first login."""

    def __init__(self, sandbox: MyDsoSandbox, root: Path) -> None:
        super().__init__()
        self._sandbox = sandbox
        self._root = root
        self._lock = threading.Lock()

    def validate_authentication(self, username: str, password: str, handler: Any) -> None:
        if not self._sandbox.store.verify(username, password):
            raise AuthenticationFailed("Authentication failed.")
        with self._lock:
            if not self.has_user(username):
                home = self._root / home_folder_name(username)
                home.mkdir(parents=True, exist_ok=True)
                self.add_user(username, "", str(home), perm="elradfmwMT")


class UploadEnd:
    """Data-channel mixin: an upload ends complete only when the client ends it cleanly.

    In FTP's stream mode the end of a file is the close of the data connection, and pyftpdlib counts any
    close as the end: a reset (RST) or, over TLS, a close without the sender's ``close_notify`` too. Both
    reach ``close()`` while their error is being handled (``sys.exc_info()``); a clean end (a FIN without
    TLS, ``close_notify`` with TLS) does not. Such an upload is marked cut, for good: pyftpdlib answers
    ``426`` and calls ``on_incomplete_file_received`` instead of ``on_file_received``. (The mark must stick:
    over TLS the close finishes later, after pyftpdlib's read loop has set ``transfer_finished`` again.) An
    ``ABOR``, a lost control connection or a stalled transfer are unfinished in pyftpdlib already.
    """

    receive: bool
    _closed: bool
    _resp: tuple[str, Any]
    _finished = False
    _cut = False

    @property
    def transfer_finished(self) -> bool:
        return self._finished and not self._cut

    @transfer_finished.setter
    def transfer_finished(self, value: bool) -> None:
        self._finished = value

    def close(self) -> None:
        if self.receive and not self._closed and self._finished and not _ended_cleanly():
            self._cut = True
            self._resp = ("426 Connection lost before the end of the file; transfer aborted.", _log.debug)
        super().close()  # type: ignore[misc]


def _ended_cleanly() -> bool:
    error = sys.exc_info()[1]
    return error is None or type(error).__name__ == "ZeroReturnError"  # OpenSSL's close_notify


class _DropDTP(UploadEnd, DTPHandler):
    pass


class _DropEvents:
    """Control-handler mixin (plain and TLS): tells the drop's ``DropUploads`` what happens to files, and
    refuses to change a file that is busy (waiting for its import or being imported)."""

    uploads: DropUploads
    username: str
    _rnfr: str | None

    def _refuse_busy(self, path: str) -> bool:
        if self.uploads.busy(path):
            name = os.path.basename(path)
            self.respond(f"550 {name} is being imported; try again when its report is there.")  # type: ignore[attr-defined]
            return True
        return False

    def ftp_STOR(self, file: str, mode: str = "w") -> str | None:  # APPE too
        if self._refuse_busy(file):
            return None
        path = super().ftp_STOR(file, mode)  # type: ignore[misc]
        if path:
            self.uploads.started(path)
        return path

    def on_file_received(self, file: str) -> None:
        self.uploads.ended(self.username, file, complete=True)

    def on_incomplete_file_received(self, file: str) -> None:
        self.uploads.ended(self.username, file, complete=False)

    def _on_dtp_close(self) -> None:
        """A data connection that closes before the queued upload could start (a reset right after
        connecting) would leave the client waiting forever: answer 426, the upload is unfinished."""
        pending = self._in_dtp_queue  # type: ignore[has-type]
        if pending is not None:
            self._in_dtp_queue = None
            file, _command = pending
            file.close()
            self.respond("426 Data connection closed before the transfer started.")  # type: ignore[attr-defined]
            self.on_incomplete_file_received(file.name)
        super()._on_dtp_close()  # type: ignore[misc]

    def ftp_RNFR(self, path: str) -> None:
        if not self._refuse_busy(path):
            super().ftp_RNFR(path)  # type: ignore[misc]

    def ftp_RNTO(self, path: str) -> tuple[str, str] | None:
        if self._rnfr and self._refuse_busy(path):
            self._rnfr = None
            return None
        result = super().ftp_RNTO(path)  # type: ignore[misc]
        if result:
            self.uploads.renamed(self.username, *result)
        return result

    def ftp_DELE(self, path: str) -> str | None:
        if self._refuse_busy(path):
            return None
        result = super().ftp_DELE(path)  # type: ignore[misc]
        if result:
            self.uploads.deleted(result)
        return result

    def log_exception(self, instance: object) -> None:
        """A client that goes away mid-transfer is not a server error: no traceback (``DropUploads`` logs
        the unfinished upload in one line). Anything else keeps pyftpdlib's traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError) or type(error).__module__.startswith("OpenSSL"):
            _log.debug("FTP connection error (%s): %s", type(error).__name__, error)
        else:
            super().log_exception(instance)  # type: ignore[misc]


class _DropHandler(_DropEvents, FTPHandler):
    dtp_handler = _DropDTP


def make_self_signed_certificate(
    directory: str | Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1"), days: int = 365
) -> tuple[Path, Path]:
    """Write ``cert.pem`` and ``key.pem`` (mode 0600) for ``hosts`` into ``directory``; return both paths.

    An ECDSA P-256 key (instant to generate), a self-signed end-entity certificate for server auth whose
    subject alternative names are ``hosts`` (IP addresses as IP entries), valid from one hour ago.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dsobridge sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, hosts[0]),
        ]
    )
    now = datetime.now(UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = Path(directory)
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
    return certfile, keyfile


def _tls_context(certfile: Path, keyfile: Path | None) -> Any:
    """A pyOpenSSL server context (TLS 1.2 or newer) holding the certificate chain and its key."""
    from OpenSSL import SSL

    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.set_options(SSL.OP_NO_COMPRESSION)
    for path in (certfile, keyfile):
        if path is not None and not path.is_file():
            raise FileNotFoundError(f"FTPS certificate or key file not found: {path}")
    try:
        context.use_certificate_chain_file(str(certfile))
    except SSL.Error:
        raise ValueError(f"{certfile} holds no usable PEM certificate") from None
    try:
        context.use_privatekey_file(str(keyfile or certfile))
        context.check_privatekey()
    except SSL.Error:
        # OpenSSL's own text is left out: nothing about the key itself goes into a message
        raise ValueError(f"{keyfile or certfile} holds no private key matching {certfile}") from None
    return context


class FtpDrop:
    """``FtpDrop(sandbox, host, port).start() -> (host, port)``; ``stop()``; ``root`` holds the homes.

    ``tls=True``: explicit FTPS. ``certfile``/``keyfile`` are PEM files (the key may sit in ``certfile``);
    without them a self-signed certificate is generated (see ``certfile`` / ``cert_pem`` to trust it).
    ``tls_control_required`` refuses ``USER``/``PASS`` before ``AUTH TLS``; ``tls_data_required`` refuses
    ``PASV``/``PORT`` before ``PROT P`` (both answer ``550``).
    """

    def __init__(
        self,
        sandbox: MyDsoSandbox,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: bool = False,
        certfile: str | Path | None = None,
        keyfile: str | Path | None = None,
        tls_control_required: bool = True,
        tls_data_required: bool = True,
    ) -> None:
        if not tls and (certfile is not None or keyfile is not None):
            raise ValueError("certfile/keyfile are for tls=True")
        if keyfile is not None and certfile is None:
            raise ValueError("keyfile given without certfile")
        self.sandbox = sandbox
        self.tls = tls
        self.certfile: Path | None = None
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None
        handler: type[FTPHandler]
        if tls:
            from pyftpdlib.handlers.ftps.control import TLS_FTPHandler
            from pyftpdlib.handlers.ftps.data import TLS_DTPHandler

            if certfile is None:
                self._tls_dir = tempfile.TemporaryDirectory(prefix="dsobridge-mydso-ftps-")
                certfile, keyfile = make_self_signed_certificate(self._tls_dir.name)
            self.certfile = Path(certfile)
            try:
                context = _tls_context(self.certfile, Path(keyfile) if keyfile is not None else None)
            except BaseException:
                self._cleanup_tls()
                raise
            handler = type(
                "MyDsoTlsDropHandler",
                (_DropEvents, TLS_FTPHandler),
                {
                    "ssl_context": context,
                    "tls_control_required": tls_control_required,
                    "tls_data_required": tls_data_required,
                    "dtp_handler": type("MyDsoTlsDropDTP", (UploadEnd, TLS_DTPHandler), {}),
                },
            )
        else:
            handler = type("MyDsoDropHandler", (_DropHandler,), {})
        self._tmpdir = tempfile.TemporaryDirectory(prefix="dsobridge-mydso-ftp-")
        self.root = Path(self._tmpdir.name)
        self.uploads = DropUploads(sandbox.jobs)
        handler.authorizer = _StoreAuthorizer(sandbox, self.root)
        handler.uploads = self.uploads  # type: ignore[attr-defined]
        handler.banner = "My DSO Manager sandbox FTP drop" + (" (explicit FTPS: AUTH TLS)" if tls else "")
        handler.auth_failed_timeout = 0.2  # pyftpdlib waits 3 s after a wrong password; a sandbox need not
        handler.passive_ports = None
        handler.masquerade_address = None
        try:
            self._server = FTPServer((host, port), handler)
        except BaseException:
            self._tmpdir.cleanup()
            self._cleanup_tls()
            raise
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.address[:2]
        return host, port

    @property
    def cert_pem(self) -> bytes | None:
        """The server's certificate chain as PEM (certificates only, never the key), or ``None`` without TLS.

        ``ssl.create_default_context(cadata=drop.cert_pem.decode())`` trusts a generated certificate.
        """
        if self.certfile is None:
            return None
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        certificates = x509.load_pem_x509_certificates(self.certfile.read_bytes())
        return b"".join(cert.public_bytes(Encoding.PEM) for cert in certificates)

    def home(self, login: str) -> Path:
        return self.root / home_folder_name(login)

    def start(self) -> tuple[str, int]:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"timeout": 0.05, "handle_exit": False}, daemon=True
        )
        self._thread.start()
        return self.address

    def stop(self) -> None:
        self._server.close_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sandbox.jobs.join(timeout=30)  # the imports of received files write their reports here
        self._tmpdir.cleanup()
        self._cleanup_tls()

    def _cleanup_tls(self) -> None:
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
            self._tls_dir = None

    def __repr__(self) -> str:
        return f"FtpDrop(address={self.address!r}, tls={self.tls})"
