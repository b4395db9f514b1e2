"""Connection limits like the real Dynaccount server: ``Keep-Alive: timeout=5, max=100`` (spec §1).

The seed's answer carries ``Keep-Alive: timeout=5, max=100`` and ``Connection: Keep-Alive``: the server closes
a connection idle for 5 s and after its 100th response. Two halves emulate that, because an ASGI app cannot
see a connection go idle and uvicorn cannot count responses per connection:

- uvicorn closes a connection idle for ``timeout`` seconds (``uvicorn_options`` → ``timeout_keep_alive``);
- ``KeepAliveMiddleware`` counts the responses of each connection (``scope["client"]``, the peer's address and
  port, identifies it under uvicorn), sends the two headers on every keep-alive response and answers the
  ``max_requests``-th with ``Connection: close``, after which uvicorn (h11) closes the connection.

``LoopbackServer`` applies both (the two sandboxes' ``serve`` commands run through it) and tells the
middleware when a connection ends, so a client port reused later starts a fresh count.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from types import MethodType
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Peer = tuple[str, int]

_HOP_HEADERS = (b"connection", b"keep-alive")


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """Connection limits of a server: idle ``timeout`` in seconds, ``max_requests`` responses per connection.

    The defaults are the real Dynaccount server's (and Apache's defaults): 5 s, 100 responses.
    """

    timeout: float = 5.0
    max_requests: int = 100

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.max_requests < 1:
            raise ValueError("KeepAlive needs timeout > 0 and max_requests ≥ 1")

    @property
    def header(self) -> bytes:
        """The ``Keep-Alive`` value, as the seed writes it: ``timeout=5, max=100``."""
        return f"timeout={self.timeout:g}, max={self.max_requests}".encode("ascii")


def uvicorn_options(limits: KeepAlive) -> dict[str, Any]:
    """The uvicorn ``Config`` settings that enforce the idle half of ``limits``."""
    return {"timeout_keep_alive": limits.timeout}


class KeepAliveMiddleware:
    """ASGI middleware: the ``Keep-Alive`` headers, and ``Connection: close`` on a connection's last response.

    A connection is known by its peer address. A count left over from a connection that ended unseen (no
    ``connection_closed`` call) restarts once the peer has been quiet for longer than the idle timeout, since
    the server has closed that connection by then.
    """

    def __init__(self, app: ASGIApp, limits: KeepAlive = KeepAlive()) -> None:
        self.app = app
        self.limits = limits
        self._responses: dict[Peer, tuple[int, float]] = {}  # peer → (responses so far, idle since)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        closing = self._count(scope)
        headers = _response_headers(closing, self.limits.header)

        async def send_with_headers(_owner: object, message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _HOP_HEADERS]
                message = {**message, "headers": [*kept, *headers]}
            await send(message)

        # Bound to the server's own send target, so an app that reaches the connection through
        # ``send.__self__`` (the Dynaccount sandbox's dropped-connection fault does) still finds it.
        try:
            await self.app(scope, receive, MethodType(send_with_headers, getattr(send, "__self__", self)))
        finally:
            if not closing:
                self._went_idle(_peer(scope))

    def _count(self, scope: Scope) -> bool:
        """Count this request on its connection; True when its response must close the connection."""
        peer = _peer(scope)
        asks_close = scope.get("http_version") != "1.1" or _asks_close(scope)
        if peer is None:
            return asks_close
        now = time.monotonic()
        count, idle_since = self._responses.get(peer, (0, now))
        if now - idle_since > self.limits.timeout:
            count = 0  # that connection was closed for idling; this is a new one from the same port
        count += 1
        if asks_close or count >= self.limits.max_requests:
            self._responses.pop(peer, None)
            return True
        self._responses[peer] = (count, now)
        if len(self._responses) > 4096:
            self._forget_idle(now)
        return False

    def _went_idle(self, peer: Peer | None) -> None:
        """The response is out: the connection's idle time starts now (as uvicorn's idle timer does)."""
        if peer in self._responses:
            count, _ = self._responses[peer]
            self._responses[peer] = (count, time.monotonic())

    def connection_closed(self, peer: Peer | None) -> None:
        """Forget a connection's count (called by ``LoopbackServer`` when uvicorn loses the connection)."""
        if peer is not None:
            self._responses.pop(tuple(peer), None)  # type: ignore[arg-type]

    def _forget_idle(self, now: float) -> None:
        for peer, (_, idle_since) in list(self._responses.items()):
            if now - idle_since > self.limits.timeout:
                del self._responses[peer]


def _peer(scope: Scope) -> Peer | None:
    client = scope.get("client")
    return (str(client[0]), int(client[1])) if client else None


def _asks_close(scope: Scope) -> bool:
    return any(k.lower() == b"connection" and b"close" in v.lower() for k, v in scope.get("headers", []))


def _response_headers(closing: bool, keep_alive: bytes) -> list[tuple[bytes, bytes]]:
    if closing:
        return [(b"connection", b"close")]
    return [(b"keep-alive", keep_alive), (b"connection", b"Keep-Alive")]
