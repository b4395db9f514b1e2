"""``MyDsoSandbox``: the store, the clock, the accounts, the job worker, the FTP drop and the ASGI app."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from dsobridge.sandbox.mydso.app import build_app
from dsobridge.sandbox.mydso.ftp import FtpDrop
from dsobridge.sandbox.mydso.importer import run_import
from dsobridge.sandbox.mydso.jobs import Job, JobQueue
from dsobridge.sandbox.mydso.options import ImportOptions
from dsobridge.sandbox.mydso.store import Store

__all__ = ["DEMO_LOGIN", "MyDsoSandbox"]

DEMO_LOGIN = "demo"


class MyDsoSandbox:
    """A local My DSO Manager: ``sb.app`` (ASGI), ``sb.store`` (SQLite), ``sb.today`` (the import date).

    Without ``accounts`` one demo account is created with a random password (see ``sb.accounts``).
    """

    def __init__(
        self,
        db_path: str | Path | None = None,
        *,
        accounts: Mapping[str, str] | None = None,
        today: date | None = None,
        max_body_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.store = Store(db_path)
        self.max_body_bytes = max_body_bytes
        self.accounts: dict[str, str] = {}
        self._today = today
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        for login, password in (accounts or {DEMO_LOGIN: secrets.token_urlsafe(12)}).items():
            self.add_account(login, password)
        self.jobs = JobQueue(self._run_job)
        self.ftp: FtpDrop | None = None
        self.app = build_app(self)

    # -- clock ----------------------------------------------------------------------------------------
    @property
    def today(self) -> date:
        """The sandbox date: the import date of STOCK clearing and of events (default: the real date)."""
        return self._today if self._today is not None else date.today()

    @today.setter
    def today(self, value: date) -> None:
        self._today = value

    def advance(self, days: int) -> date:
        self._today = self.today + timedelta(days=days)
        return self._today

    # -- accounts -------------------------------------------------------------------------------------
    def add_account(self, login: str, password: str, base_currency: str = "DKK") -> None:
        if not login or ":" in login:
            raise ValueError("a login must be non-empty and hold no ':'")
        self.store.add_account(login, password, base_currency)
        self.accounts[login] = password

    def account_lock(self, login: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(login, threading.Lock())

    # -- imports --------------------------------------------------------------------------------------
    def import_file(
        self,
        login: str,
        kind: str,
        body: IO[bytes],
        options: ImportOptions | None = None,
        *,
        channel: str = "http",
    ) -> dict[str, Any]:
        """Run one import for ``login`` now (serialised with that account's other imports)."""
        with self.account_lock(login):
            return run_import(
                self.store, login, kind, body, options or ImportOptions(), today=self.today, channel=channel
            )

    def _run_job(self, job: Job, body: IO[bytes]) -> dict[str, Any]:
        return self.import_file(job.account, job.kind, body, job.options, channel=job.channel)

    # -- FTP drop -------------------------------------------------------------------------------------
    def start_ftp(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: bool = False,
        certfile: str | Path | None = None,
        keyfile: str | Path | None = None,
        tls_control_required: bool = True,
        tls_data_required: bool = True,
    ) -> tuple[str, int]:
        """Start the FTP drop (``tls=True``: explicit FTPS, see ``FtpDrop``); answer its address."""
        if self.ftp is not None:
            if self.ftp.tls != tls:
                raise RuntimeError(f"the FTP drop already runs with tls={self.ftp.tls}; stop_ftp() first")
            return self.ftp.address
        self.ftp = FtpDrop(
            self,
            host,
            port,
            tls=tls,
            certfile=certfile,
            keyfile=keyfile,
            tls_control_required=tls_control_required,
            tls_data_required=tls_data_required,
        )
        return self.ftp.start()

    def stop_ftp(self) -> None:
        if self.ftp is not None:
            self.ftp.stop()
            self.ftp = None

    def close(self) -> None:
        self.stop_ftp()
        self.jobs.close()
        self.store.close()

    def __enter__(self) -> MyDsoSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MyDsoSandbox(db_path={str(self.store.path)!r}, accounts={sorted(self.accounts)!r})"
