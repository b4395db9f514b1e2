"""A synchronous httpx2 transport that hands each request to an ASGI app in this process.

httpx2's own ``ASGITransport`` is async-only and our clients are synchronous, so this one runs the app on an
anyio event loop kept in a background thread (a blocking portal) and returns the buffered response.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import anyio.from_thread
import httpx2

ASGIApp = Callable[..., Any]


class InProcessTransport(httpx2.BaseTransport):
    """Serve httpx2 requests from an ASGI app without a socket.

    ``client`` is the (host, port) the app sees as the peer address.
    """

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self.app = app
        self.client = client
        self.requests = 0
        self._stack = contextlib.ExitStack()
        self._portal: anyio.from_thread.BlockingPortal | None = None

    def _get_portal(self) -> anyio.from_thread.BlockingPortal:
        if self._portal is None:
            self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        return self._portal

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        body = request.read()
        status, headers, content = self._get_portal().call(self._call_app, request, body)
        return httpx2.Response(status, headers=headers, content=content, request=request)

    async def _call_app(self, request: httpx2.Request, body: bytes) -> tuple[int, list, bytes]:
        url = request.url
        raw_path = url.raw_path.split(b"?", 1)[0]
        port = url.port or (443 if url.scheme == "https" else 80)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": raw_path,
            "query_string": url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": self.client,
            "server": (url.host, port),
            "state": {},
        }
        sent_request = False
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> dict:
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": body, "more_body": False}
            await anyio.sleep_forever()
            return {"type": "http.disconnect"}  # pragma: no cover

        async def send(message: dict) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, headers, b"".join(chunks)

    def close(self) -> None:
        self._portal = None
        self._stack.close()
