"""Run an ASGI app under uvicorn on a loopback port in a background thread.

Used by tests (the same contract suite over a real socket), by ``dsobridge demo``, by the sandboxes'
``serve`` commands and by benchmarks. The server counts the TCP connections it accepts, so a test can prove
that a client kept one connection alive, and enforces connection limits like the real Dynaccount server
(``keepalive``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from dsobridge.sandbox.keepalive import KeepAlive, KeepAliveMiddleware, uvicorn_options


class LoopbackServer:
    """``with LoopbackServer(app) as server: server.url`` — uvicorn on 127.0.0.1, port chosen by the OS.

    ``keepalive``: the connection limits to enforce (default: the real server's 5 s idle, 100 responses per
    connection, ``Keep-Alive`` header on every keep-alive response); ``None`` for uvicorn's own (30 s idle, no
    cap, no header).
    """

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        keepalive: KeepAlive | None = KeepAlive(),
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.keepalive = keepalive
        self.connections = 0
        self._limits = KeepAliveMiddleware(app, keepalive) if keepalive is not None else None
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _protocol_class(self) -> type[H11Protocol]:
        server = self

        class CountingProtocol(H11Protocol):
            def connection_made(self, transport: Any) -> None:  # one call per accepted TCP connection
                with server._lock:
                    server.connections += 1
                super().connection_made(transport)

            def connection_lost(self, exc: Exception | None) -> None:
                if server._limits is not None:
                    server._limits.connection_closed(self.client)
                super().connection_lost(exc)

        return CountingProtocol

    def _server_options(self) -> dict[str, Any]:
        """uvicorn options beyond the common ones (a subclass adds its certificate)."""
        return uvicorn_options(self.keepalive) if self.keepalive is not None else {"timeout_keep_alive": 30}

    def start(self) -> LoopbackServer:
        config = uvicorn.Config(
            self._limits or self.app,
            host=self.host,
            port=self.port,
            http=self._protocol_class(),
            lifespan="off",
            log_level="warning",
            access_log=False,
            **self._server_options(),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="loopback-uvicorn", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.host}:{self.port}")
            time.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
