"""The client against the Dynaccount sandbox with the real server's connection limits, over loopback sockets.

The server closes a connection idle for 5 s and after its 100th response (``Keep-Alive: timeout=5, max=100``).
Reads are retried on a connection closed under them; a write is re-sent only when it provably never left.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import httpcore2
import pytest

from dsobridge.dynaccount import DynaccountClient, RetryPolicy, TransportError
from dsobridge.sandbox import KeepAlive, LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox

POLICY = RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[DynaccountSandbox]:
    sb = DynaccountSandbox(today=dt.date(2026, 11, 20))
    sb.seed(debtors=5, invoices=10, seed=3)
    yield sb
    sb.close()


def _client(sb: DynaccountSandbox, base_url: str, retry: RetryPolicy = POLICY) -> DynaccountClient:
    c = sb.credentials
    return DynaccountClient(c.api_id, c.api_key, c.api_secret, base_url=base_url, retry=retry)


def _debtors_named(client: DynaccountClient, name: str) -> int:
    return len(client.get("debtor", where={"name": name}))


def test_250_sequential_calls_use_3_connections(sandbox: DynaccountSandbox) -> None:
    with LoopbackServer(sandbox.app, keepalive=KeepAlive()) as server:
        with _client(sandbox, server.url, RetryPolicy.never()) as client:
            for _ in range(250):
                client.get("vatcode", select=["id"])
            assert client.requests_sent == 250  # no call failed, none was retried
        assert server.connections == 3  # 100 + 100 + 50


@pytest.mark.slow
def test_put_after_6_s_idle_succeeds_exactly_once(sandbox: DynaccountSandbox) -> None:
    with LoopbackServer(sandbox.app, keepalive=KeepAlive()) as server, _client(sandbox, server.url) as client:
        assert _debtors_named(client, "Idle Six ApS") == 0
        time.sleep(6.0)  # the server closes the connection after 5 s; the client forgets it after 4 s
        created = client.put("debtor", 0, {"name": "Idle Six ApS"})
        assert _debtors_named(client, "Idle Six ApS") == 1
        assert client.get("debtor", created["id"])[0]["name"] == "Idle Six ApS"
        assert client.requests_sent == 4  # nothing was sent twice
        assert server.connections == 2


@pytest.mark.slow
def test_the_client_lets_an_idle_connection_go_before_the_server_does(sandbox: DynaccountSandbox) -> None:
    """With a patient server, a 4.5 s pause still costs a new connection: the client's own limit is 4 s."""
    with LoopbackServer(sandbox.app, keepalive=KeepAlive(timeout=60)) as server:
        with _client(sandbox, server.url) as client:
            client.get("unit")
            client.get("unit")
            time.sleep(4.5)
            client.get("unit")
            assert client.requests_sent == 3
        assert server.connections == 2


class ResettingProxy:
    """A TCP proxy in front of a server that resets the client's connection (RST) at a chosen request.

    ``reset_before_answer(line)``: forward that request, let the server process it, then reset instead of
    answering. ``reset_after_answer(line)``: answer it, then reset the idle connection.
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        reset_before_answer: Callable[[str], bool] = lambda line: False,
        reset_after_answer: Callable[[str], bool] = lambda line: False,
    ) -> None:
        self.upstream = upstream
        self.reset_before_answer = reset_before_answer
        self.reset_after_answer = reset_after_answer
        self.requests: list[str] = []  # the request lines forwarded ("POST put debtor")
        self.resets = threading.Semaphore(0)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self._listener.accept()
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection(self.upstream) as upstream:
            while (request := _read_message(client)) is not None:
                line = _request_line(request)
                self.requests.append(line)
                upstream.sendall(request)
                answer = _read_message(upstream)
                if answer is None or self.reset_before_answer(line):
                    return self._reset(client)
                client.sendall(answer)
                if self.reset_after_answer(line):
                    return self._reset(client)
                if b"\r\nconnection: close" in answer.split(b"\r\n\r\n")[0].lower():
                    return None
        return None

    def _reset(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        self.resets.release()


def _read_message(sock: socket.socket) -> bytes | None:
    """One HTTP/1.1 message framed by Content-Length (what the client and the sandbox send)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


def _request_line(request: bytes) -> str:
    """``POST put debtor``: the method, the Dynaccount method and the table (the path holds the key)."""
    method, path = request.split(b" ", 2)[:2]
    parts = path.decode().split("?")[0].strip("/").split("/")
    return f"{method.decode()} {parts[3]} {parts[4]}"


@pytest.fixture
def server(sandbox: DynaccountSandbox) -> Iterator[LoopbackServer]:
    with LoopbackServer(sandbox.app, keepalive=KeepAlive()) as srv:
        yield srv


def test_read_retried_on_a_connection_reset_under_it(
    sandbox: DynaccountSandbox, server: LoopbackServer
) -> None:
    proxy = ResettingProxy(
        ("127.0.0.1", server.port), reset_before_answer=lambda line: len(proxy.requests) == 1
    )
    try:
        with _client(sandbox, f"http://127.0.0.1:{proxy.port}") as client:
            assert len(client.get("unit")) > 0
            assert client.requests_sent == 2
    finally:
        proxy.close()
    assert proxy.requests == ["POST get unit", "POST get unit"]


def test_write_reset_after_it_was_sent_is_not_resent(
    sandbox: DynaccountSandbox, server: LoopbackServer
) -> None:
    proxy = ResettingProxy(
        ("127.0.0.1", server.port), reset_before_answer=lambda line: line == "POST put debtor"
    )
    try:
        with _client(sandbox, f"http://127.0.0.1:{proxy.port}") as client:
            with pytest.raises(TransportError) as info:
                client.put("debtor", 0, {"name": "Reset After Send ApS"})
            assert client.requests_sent == 1
    finally:
        proxy.close()
    assert proxy.requests == ["POST put debtor"]
    assert info.value.unsent is False
    assert "the outcome is unknown" in str(info.value)
    with _client(sandbox, server.url) as check:
        assert _debtors_named(check, "Reset After Send ApS") == 1  # the server did store it: once


def test_write_resent_when_the_connection_was_reset_before_it_was_written(
    sandbox: DynaccountSandbox, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the pool's idle check cannot close: the reset lands after the check, before the write.

    The checks are switched off to make that race certain (the pool's expiry check, and the readability
    check httpcore2 makes again as it takes the connection); writing the request's head then fails, so
    nothing of the put left and the client sends it again on a new connection.
    """
    monkeypatch.setattr(httpcore2._sync.connection.HTTPConnection, "has_expired", lambda self: False)
    monkeypatch.setattr(httpcore2._backends.sync, "is_socket_readable", lambda sock: False)
    proxy = ResettingProxy(
        ("127.0.0.1", server.port), reset_after_answer=lambda line: line == "POST get unit"
    )
    try:
        with _client(sandbox, f"http://127.0.0.1:{proxy.port}") as client:
            client.get("unit")
            assert proxy.resets.acquire(timeout=5)
            time.sleep(0.05)  # let the RST reach the client's socket
            created = client.put("debtor", 0, {"name": "Reset Before Send ApS"})
            assert client.requests_sent == 3  # get, the put that never left, the put
    finally:
        proxy.close()
    assert proxy.requests == ["POST get unit", "POST put debtor"]
    with _client(sandbox, server.url) as check:
        assert _debtors_named(check, "Reset Before Send ApS") == 1
        assert check.get("debtor", created["id"])[0]["name"] == "Reset Before Send ApS"
