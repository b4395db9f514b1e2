"""The real ends of a sync: the Dynaccount client as row source, the My DSO Manager client as sink."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2

from dsobridge.dynaccount import DynaccountClient, RetryPolicy
from dsobridge.mydso import MyDsoClient
from dsobridge.mydso.csvfile import CsvOptions, write_csv
from dsobridge.sync.config import DynaccountConfig, FormatConfig, MyDsoConfig, SyncConfig


class PreparedFile:
    """A file being written to a temporary path by the sink's render thread."""

    def __init__(self, future: Future[Path], directory: Path) -> None:
        self.future = future
        self.directory = directory

    def path(self) -> Path:
        return self.future.result()

    def close(self) -> None:
        self.future.cancel()
        with contextlib.suppress(Exception):
            self.future.result()
        shutil.rmtree(self.directory, ignore_errors=True)


class MyDsoSink:
    """Delivers spooled rows through ``dsobridge.mydso.MyDsoClient`` (synchronous or ``/apiPutFiles/``).

    ``prepare`` renders the files of a run, in order, in one background thread, each to a temporary CSV file:
    the next file is written while My DSO Manager imports the current one, and a file can be re-sent as is.
    """

    def __init__(self, client: Any, fmt: FormatConfig | None = None, *, channel: str = "http") -> None:
        self.client = client
        self.format = fmt or FormatConfig()
        self.channel = channel
        self._renderer: ThreadPoolExecutor | None = None

    def prepare(self, kind: str, rows: Iterable[dict[str, Any]], *, columns: tuple[str, ...]) -> PreparedFile:
        if self._renderer is None:
            self._renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dsobridge-render")
        directory = Path(tempfile.mkdtemp(prefix="dsobridge-"))
        target = directory / f"{kind}.csv"
        options = self.options(columns)

        def render() -> Path:
            write_csv(kind, rows, target, options)
            return target

        return PreparedFile(self._renderer.submit(render), directory)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.shutdown(wait=True, cancel_futures=True)
            self._renderer = None

    def options(self, columns: tuple[str, ...]) -> Any:
        return CsvOptions(
            encoding=self.format.encoding,
            decimal_style=self.format.decimal_style,  # type: ignore[arg-type]
            transliterate=self.format.transliterate,
            neutralise_formulas=self.format.neutralise_formulas,
            columns=columns,
        )

    def deliver(
        self,
        kind: str,
        rows: Iterable[dict[str, Any]],
        *,
        columns: tuple[str, ...],
        stock: bool | None = None,
        replace_users_association: bool | None = None,
    ) -> Any:
        send = self.client.import_file_async if self.channel == "async" else self.client.import_file
        stock = stock if kind == "items" else None
        replace = replace_users_association if kind == "users" else None
        if isinstance(rows, PreparedFile):
            return send(
                kind,
                rows.path(),
                encoding=self.format.encoding,
                stock=stock,
                replace_users_association=replace,
            )
        return send(kind, rows, stock=stock, replace_users_association=replace, options=self.options(columns))


def mydso_api_url(base_url: str) -> str:
    """``https://account.mydsomanager.com`` → ``https://account.mydsomanager.com/api/`` (kept if given)."""
    base = base_url.rstrip("/")
    return base + "/" if base.endswith("/api") else base + "/api/"


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


class Endpoints:
    """Open both clients from a config: ``with Endpoints(config) as ends: ends.source, ends.sink``.

    ``dynaccount_transport`` / ``mydso_transport`` let tests and the demo plug in-process transports.
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
        self.sink: MyDsoSink | None = None

    def __enter__(self) -> Endpoints:
        # the clients are imported with this module, not here: a run does not pay for imports
        dyn = self.config.dynaccount
        self.source = self._stack.enter_context(dynaccount_client(dyn, transport=self._dyn_transport))
        md = self.config.mydso
        self.mydso = self._stack.enter_context(mydso_client(md, transport=self._mydso_transport))
        self.sink = MyDsoSink(self.mydso, self.config.format, channel=md.channel)
        self._stack.callback(self.sink.close)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
