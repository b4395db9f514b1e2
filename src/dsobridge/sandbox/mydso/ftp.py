"""The FTP drop (spec §1.3): pyftpdlib on loopback, one home folder per account.

A file is processed when its upload completes (or when it is renamed) if its name begins with ``clients``,
``items``, ``contacts`` or ``users`` and does not end like a temporary upload (``.part``, ``.tmp``, …). The
import runs on the sandbox's job worker; then the file disappears and ``<name>.report.json`` appears.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

from dsobridge.sandbox.mydso.jobs import Job
from dsobridge.sandbox.mydso.options import kind_from_filename, options_from_filename

if TYPE_CHECKING:
    from dsobridge.sandbox.mydso.sandbox import MyDsoSandbox

__all__ = ["FtpDrop"]

_SAFE_LOGIN = re.compile(r"[A-Za-z0-9._@-]{1,64}")
logging.getLogger("pyftpdlib").setLevel(logging.WARNING)


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


class _DropHandler(FTPHandler):
    drop: FtpDrop

    def on_file_received(self, file: str) -> None:
        self.drop.consider(self.username, file)

    def ftp_RNTO(self, path: str) -> tuple[str, str] | None:
        result = super().ftp_RNTO(path)
        if result:
            self.drop.consider(self.username, result[1])
        return result


class FtpDrop:
    """``FtpDrop(sandbox, host, port).start() -> (host, port)``; ``stop()``; ``root`` holds the homes."""

    def __init__(self, sandbox: MyDsoSandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self._tmpdir = tempfile.TemporaryDirectory(prefix="dsobridge-mydso-ftp-")
        self.root = Path(self._tmpdir.name)
        handler = type("MyDsoDropHandler", (_DropHandler,), {})
        handler.authorizer = _StoreAuthorizer(sandbox, self.root)
        handler.drop = self
        handler.banner = "My DSO Manager sandbox FTP drop"
        handler.auth_failed_timeout = 0.2  # pyftpdlib waits 3 s after a wrong password; a sandbox need not
        handler.passive_ports = None
        handler.masquerade_address = None
        self._server = FTPServer((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.address[:2]
        return host, port

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
        self._tmpdir.cleanup()

    def consider(self, login: str, path: str) -> None:
        """Queue ``path`` for import when its name announces a file type; ignore it otherwise."""
        name = os.path.basename(path)
        kind = kind_from_filename(name)
        if kind is None:
            return
        options = options_from_filename(name)

        def open_body() -> IO[bytes] | None:
            try:
                return open(path, "rb")
            except FileNotFoundError:
                return None

        def on_done(job: Job) -> None:
            if job.report is None:
                return
            target = Path(path + ".report.json")
            partial = target.with_name("." + target.name + ".writing")
            partial.write_text(json.dumps(job.report, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(partial, target)
            Path(path).unlink(missing_ok=True)

        self.sandbox.jobs.submit(login, kind, options, open_body, channel="ftp", on_done=on_done)
