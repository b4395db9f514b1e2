"""The real ends of a sync: the Dynaccount client as row source, My DSO Manager as sink (HTTP, the
asynchronous ``/apiPutFiles/`` path, or the FTP/FTPS drop), built from a configuration."""

from __future__ import annotations

import ssl
from contextlib import ExitStack
from typing import Any

import httpx2

from dsobridge.dynaccount import DynaccountClient, RetryPolicy
from dsobridge.mydso import MyDsoClient
from dsobridge.mydso.csvfile import CsvOptions
from dsobridge.mydso.ftp import FtpDrop
from dsobridge.sync.config import DynaccountConfig, FormatConfig, MyDsoConfig, SyncConfig
from dsobridge.sync.deliver import OutgoingFile
from dsobridge.sync.state import Identity


class MyDsoSink:
    """Delivers a run's files through ``MyDsoClient``: the synchronous import or ``/apiPutFiles/``."""

    def __init__(self, client: Any, *, asynchronous: bool = False, report_timeout: float = 600.0) -> None:
        self.client = client
        self.asynchronous = asynchronous
        self.report_timeout = report_timeout

    def deliver(self, file: OutgoingFile) -> Any:
        options = {
            "encoding": file.encoding,
            "stock": file.stock if file.kind == "items" else None,
            "replace_users_association": file.replace_users if file.kind == "users" else None,
        }
        if self.asynchronous:
            return self.client.import_file_async(file.kind, file.path, timeout=self.report_timeout, **options)
        return self.client.import_file(file.kind, file.path, **options)


class FtpSink:
    """Delivers a run's files through the FTP/FTPS drop; a file counts as accepted only when its report file
    says so (the state advances on nothing less)."""

    def __init__(self, drop: FtpDrop, *, report_timeout: float = 600.0) -> None:
        self.drop = drop
        self.report_timeout = report_timeout

    def deliver(self, file: OutgoingFile) -> Any:
        return self.drop.deliver(
            file.kind,
            file.path,
            stock=file.stock if file.kind == "items" else None,
            encoding=file.encoding,
            report_timeout=self.report_timeout,
        )


def csv_options(fmt: FormatConfig) -> Any:
    """``(kind, columns) → CsvOptions`` for the configured format."""

    def options(kind: str, columns: tuple[str, ...]) -> CsvOptions:
        return CsvOptions(
            encoding=fmt.encoding,
            decimal_style=fmt.decimal_style,  # type: ignore[arg-type]
            transliterate=fmt.transliterate,
            neutralise_formulas=fmt.neutralise_formulas,
            check_duplicates=False,  # keys are unique by construction (one row per key per file)
            columns=columns,
        )

    return options


def mydso_api_url(base_url: str) -> str:
    """``https://account.mydsomanager.com`` → ``https://account.mydsomanager.com/api/`` (kept if given)."""
    base = base_url.rstrip("/")
    return base + "/" if base.endswith("/api") else base + "/api/"


def identity_of(config: SyncConfig) -> Identity:
    """Whose state a configuration's runs keep: the accounting and the account it delivers to."""
    return Identity(
        dynaccount_api_id=config.dynaccount.api_id,
        dynaccount_url=config.dynaccount.base_url.rstrip("/"),
        mydso_login=config.mydso.login,
        mydso_url=config.mydso.base_url.rstrip("/"),
    )


def dynaccount_client(
    dyn: DynaccountConfig, *, transport: httpx2.BaseTransport | None = None
) -> DynaccountClient:
    """The Dynaccount client a configuration describes, with its timeout and retry policy."""
    return DynaccountClient(
        dyn.api_id,
        dyn.api_key.reveal(),
        dyn.api_secret.reveal(),
        version=dyn.version,
        base_url=dyn.base_url,
        timeout=dyn.timeout,
        transport=transport,
        retry=RetryPolicy(attempts=dyn.retries, timeout=dyn.retry_timeout),
    )


def mydso_client(md: MyDsoConfig, *, transport: httpx2.BaseTransport | None = None) -> MyDsoClient:
    """The My DSO Manager client a configuration describes."""
    return MyDsoClient(
        md.login,
        md.password.reveal(),
        base_url=mydso_api_url(md.base_url),
        timeout=md.timeout,
        transport=transport,
    )


def ftp_drop(md: MyDsoConfig) -> FtpDrop:
    """The FTP/FTPS drop a configuration describes."""
    context = ssl.create_default_context(cafile=str(md.ftp_cafile)) if md.ftp_tls and md.ftp_cafile else None
    return FtpDrop(
        md.ftp_host,
        md.ftp_port,
        md.ftp_login,
        md.ftp_password.reveal(),
        tls=md.ftp_tls,
        timeout=md.timeout,
        ssl_context=context,
    )


class Endpoints:
    """Open both ends from a config: ``with Endpoints(config) as ends: ends.source, ends.sink``.

    ``dynaccount_transport`` / ``mydso_transport`` let tests, the demo and the fleet plug transports in.
    """

    def __init__(
        self,
        config: SyncConfig,
        *,
        dynaccount_transport: httpx2.BaseTransport | None = None,
        mydso_transport: httpx2.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self._dyn_transport = dynaccount_transport
        self._mydso_transport = mydso_transport
        self._stack = ExitStack()
        self.source: Any = None
        self.mydso: Any = None
        self.sink: Any = None

    def __enter__(self) -> Endpoints:
        self.source = self._stack.enter_context(
            dynaccount_client(self.config.dynaccount, transport=self._dyn_transport)
        )
        md = self.config.mydso
        if md.delivery == "ftp":
            self.sink = FtpSink(ftp_drop(md), report_timeout=md.report_timeout)
        else:
            self.mydso = self._stack.enter_context(mydso_client(md, transport=self._mydso_transport))
            self.sink = MyDsoSink(
                self.mydso, asynchronous=md.delivery == "async", report_timeout=md.report_timeout
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
