"""The sandboxes' connection limits, seen from raw sockets: ``Keep-Alive: timeout=5, max=100`` as the seed.

Every keep-alive response carries the seed's two headers, the 100th response of a connection says
``Connection: close`` and the connection ends, and a connection idle for the timeout is closed.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from dsobridge.sandbox import KeepAlive, KeepAliveMiddleware, LoopbackServer


async def app(scope, receive, send) -> None:
    assert scope["type"] == "http"
    await receive()
    extra = [(b"connection", b"upgrade")] if scope["path"] == "/hop" else []  # a hop header of the app's own
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2"), *extra]})
    await send({"type": "http.response.body", "body": b"ok"})


def _request(path: str = "/", *, version: str = "1.1", close: bool = False) -> bytes:
    connection = "Connection: close\r\n" if close else ""
    return f"GET {path} HTTP/{version}\r\nHost: sandbox\r\n{connection}\r\n".encode()


def _exchange(sock: socket.socket, request: bytes) -> dict[str, list[str]]:
    """Send one request, read its 2-byte answer; the response headers, lower-cased names → values."""
    sock.sendall(request)
    data = b""
    while not data.endswith(b"\r\n\r\nok"):
        chunk = sock.recv(4096)
        assert chunk, f"connection closed before the answer: {data!r}"
        data += chunk
    head = data.split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert head[0] == "HTTP/1.1 200 OK"
    headers: dict[str, list[str]] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.lower(), []).append(value.strip())
    return headers


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(app) as srv:  # the default: the real server's limits
        yield srv


def _connect(server: LoopbackServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=5)


KEEP = {"keep-alive": ["timeout=5, max=100"], "connection": ["Keep-Alive"]}


def test_the_seed_headers_on_every_response_and_close_after_the_100th(server: LoopbackServer) -> None:
    with _connect(server) as sock:
        for _ in range(99):
            headers = _exchange(sock, _request())
            assert {k: headers.get(k) for k in KEEP} == KEEP
        last = _exchange(sock, _request())
        assert last["connection"] == ["close"] and "keep-alive" not in last
        assert _closed_by_server(sock, within=5)
    with _connect(server) as sock:  # a new connection starts a new count
        assert {k: _exchange(sock, _request()).get(k) for k in KEEP} == KEEP
    assert server.connections == 2


def test_each_connection_has_its_own_count() -> None:
    with (
        LoopbackServer(app, keepalive=KeepAlive(max_requests=3)) as server,
        _connect(server) as a,
        _connect(server) as b,
    ):
        assert _exchange(a, _request())["connection"] == ["Keep-Alive"]
        assert _exchange(b, _request())["connection"] == ["Keep-Alive"]
        assert _exchange(b, _request())["keep-alive"] == ["timeout=5, max=3"]
        assert _exchange(a, _request())["connection"] == ["Keep-Alive"]
        assert _exchange(b, _request())["connection"] == ["close"]
        assert _closed_by_server(b, within=5)
        assert _exchange(a, _request())["connection"] == ["close"]
        assert _closed_by_server(a, within=5)


def test_an_idle_connection_is_closed_after_the_timeout() -> None:
    with LoopbackServer(app, keepalive=KeepAlive(timeout=0.5)) as server, _connect(server) as sock:
        assert _exchange(sock, _request())["keep-alive"] == ["timeout=0.5, max=100"]
        time.sleep(0.1)
        _exchange(sock, _request())  # still open well within the timeout
        started = time.monotonic()
        assert _closed_by_server(sock, within=5)
        assert time.monotonic() - started >= 0.3  # not at once: after being idle


def test_a_client_that_asks_to_close_gets_only_connection_close(server: LoopbackServer) -> None:
    with _connect(server) as sock:
        headers = _exchange(sock, _request(close=True))
        assert headers["connection"] == ["close"] and "keep-alive" not in headers
        assert _closed_by_server(sock, within=5)
    with _connect(server) as sock:
        headers = _exchange(sock, _request(version="1.0"))
        assert headers["connection"] == ["close"] and "keep-alive" not in headers


def test_the_apps_own_hop_headers_are_replaced(server: LoopbackServer) -> None:
    with _connect(server) as sock:
        assert {k: _exchange(sock, _request("/hop")).get(k) for k in KEEP} == KEEP


def test_without_limits_uvicorn_answers_as_before() -> None:
    with LoopbackServer(app, keepalive=None) as server, _connect(server) as sock:
        for _ in range(120):
            headers = _exchange(sock, _request())
            assert "keep-alive" not in headers and "connection" not in headers


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        KeepAlive(timeout=0)
    with pytest.raises(ValueError):
        KeepAlive(max_requests=0)
    assert KeepAlive().header == b"timeout=5, max=100"


def _answers(middleware: KeepAliveMiddleware, peer: tuple[str, int], count: int) -> list[list[tuple]]:
    """The hop headers of ``count`` requests from ``peer`` through the middleware, called directly."""
    out: list[list[tuple]] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            out.append([h for h in message["headers"] if h[0] in (b"connection", b"keep-alive")])

    async def run() -> None:
        for _ in range(count):
            scope = {"type": "http", "http_version": "1.1", "path": "/", "headers": [], "client": peer}
            await middleware(scope, receive, send)

    asyncio.run(run())
    return out


def test_a_reused_client_port_starts_a_new_count() -> None:
    """Told that the connection ended (LoopbackServer does), or after an idle timeout, the count restarts."""
    middleware = KeepAliveMiddleware(app, KeepAlive(timeout=0.2, max_requests=3))
    close = [(b"connection", b"close")]
    assert _answers(middleware, ("127.0.0.1", 40000), 2)[-1] != close
    middleware.connection_closed(("127.0.0.1", 40000))
    assert [a == close for a in _answers(middleware, ("127.0.0.1", 40000), 3)] == [False, False, True]
    assert _answers(middleware, ("127.0.0.1", 40001), 2)[-1] != close
    time.sleep(0.3)  # longer than the idle timeout: that connection is gone, this is a new one
    assert [a == close for a in _answers(middleware, ("127.0.0.1", 40001), 3)] == [False, False, True]
