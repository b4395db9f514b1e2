"""Test kit for tests/dynaccount (a uniquely named module: import mode is importlib).

A tiny scripted Dynaccount stand-in (raw ASGI) that checks signatures the way the sandbox does.

The sandbox rule (docs/dynaccount-wire.md): hash over the Host header as received + the raw path + ``?`` + the
raw query string exactly as received + the raw body before ``&__api_hash=`` (v5) — or the ``X-Hash`` header
over the same with the whole body (v6/v7).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dsobridge.dynaccount.signing import compute_hash, split_v5_body

API_ID = "1234"
API_KEY = "a" * 40
API_SECRET = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    signed: bytes  # the part of the body that was hashed
    hash_ok: bool


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict | list | str = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("content-type", "application/json")
        if isinstance(self.body, str):
            return self.body.encode(), self.headers.get("content-type", "text/html")
        return json.dumps(self.body, default=float).encode(), "application/json"


def ok(rows: list[dict[str, Any]], **meta: Any) -> Reply:
    return Reply(
        200, {"result": rows, "metadata": {"page": 1, "offset": len(rows), "num": len(rows), **meta}}
    )


class FakeDynaccount:
    """Replies from a script (a list of Reply, or a callable(Seen) -> Reply) and records every request."""

    def __init__(self, secret: str = API_SECRET) -> None:
        self.secret = secret
        self.seen: list[Seen] = []
        self.script: list[Reply] = []
        self.handler: Any = None

    def reply(self, *replies: Reply) -> FakeDynaccount:
        self.script.extend(replies)
        return self

    def _check(
        self, host: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[bytes, bool]:
        url = f"{host}{path}?{query}" if query else f"{host}{path}"
        content_type = headers.get("content-type", "")
        if "x-hash" in headers:
            if content_type.startswith("multipart/"):
                return body, True  # checked by the multipart test itself
            return body, compute_hash(url, body, self.secret) == headers["x-hash"]
        if content_type.startswith("multipart/"):
            return body, True
        signed, received = split_v5_body(body)
        return signed, received is not None and compute_hash(url, signed, self.secret) == received

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path = scope["raw_path"].decode()
        query = scope["query_string"].decode()
        signed, hash_ok = self._check(headers.get("host", ""), path, query, headers, body)
        seen = Seen(scope["method"], path, query, headers, body, signed, hash_ok)
        self.seen.append(seen)
        if not hash_ok:
            reply = Reply(401, {"error": {"hash": "Invalid hash"}})
        elif self.handler is not None:
            reply = self.handler(seen)
        elif self.script:
            reply = self.script.pop(0)
        else:
            reply = ok([])
        content, content_type = reply.encoded()
        out = [(b"content-type", content_type.encode()), (b"content-length", str(len(content)).encode())]
        out += [(k.encode(), v.encode()) for k, v in reply.headers.items() if k.lower() != "content-type"]
        await send({"type": "http.response.start", "status": reply.status, "headers": out})
        await send({"type": "http.response.body", "body": content})
