"""Helpers shared by the sandbox tests (imported by name: conftest puts this folder on sys.path)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dsobridge.dynaccount import DynaccountClient, RetryPolicy
from dsobridge.dynaccount.signing import compute_hash, sign_v5_body, url_without_scheme
from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox

TODAY = dt.date(2026, 11, 20)
SANDBOX_HOST = "dynaccount.sandbox"


class Reach:
    """How a test reaches the sandbox: base URL + transport (in-process) or a loopback server."""

    def __init__(self, sandbox: DynaccountSandbox, mode: str) -> None:
        self.sb = sandbox
        self.mode = mode
        self.server: LoopbackServer | None = None
        self.transport: InProcessTransport | None = None
        if mode == "loopback":
            self.server = LoopbackServer(sandbox.app).start()
            self.base_url = self.server.url
        else:
            self.transport = InProcessTransport(sandbox.app)
            self.base_url = f"http://{SANDBOX_HOST}"

    def client(
        self, *, version: str = "v5", retry: RetryPolicy | None = None, **creds: object
    ) -> DynaccountClient:
        c = self.sb.credentials
        return DynaccountClient(
            creds.get("api_id", c.api_id),  # type: ignore[arg-type]
            creds.get("api_key", c.api_key),  # type: ignore[arg-type]
            creds.get("api_secret", c.api_secret),  # type: ignore[arg-type]
            version=version,
            base_url=self.base_url,
            transport=self.transport,
            retry=retry or RetryPolicy.never(),
        )

    def http(self) -> httpx2.Client:
        return httpx2.Client(base_url=self.base_url, transport=self.transport)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.transport is not None:
            self.transport.close()


def signed_v5(
    sb: DynaccountSandbox,
    host: str,
    method: str,
    name: str,
    *,
    query: str = "",
    body: str = "",
    rest: str = "",
) -> tuple[str, bytes]:
    """(path+query, body) of a hand-made v5 call, for wire tests below the client."""
    c = sb.credentials
    path = f"/v5/{c.api_id}/{c.api_key}/{method}/{name}/json/{rest}"
    signed = sign_v5_body(url_without_scheme(host, path, query), body, c.api_secret)
    return (f"{path}?{query}" if query else path), signed.encode()


def v7_hash(sb: DynaccountSandbox, host: str, path: str, query: str, body: str) -> str:
    return compute_hash(url_without_scheme(host, path, query), body, sb.credentials.api_secret)


@contextlib.contextmanager
def seeded(debtors: int, invoices: int, seed: int) -> Iterator[DynaccountSandbox]:
    """An in-memory sandbox holding a seeded company, closed afterwards."""
    sandbox = DynaccountSandbox(today=TODAY)
    sandbox.seed(debtors=debtors, invoices=invoices, seed=seed)
    try:
        yield sandbox
    finally:
        sandbox.close()


@contextlib.contextmanager
def inprocess_client(sandbox: DynaccountSandbox) -> Iterator[DynaccountClient]:
    reach = Reach(sandbox, "inprocess")
    try:
        with reach.client() as client:
            yield client
    finally:
        reach.close()


class Receiver:
    """A webhook endpoint (``/hook/``) recording what it gets; the first ``fail_first`` calls get a 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.calls = 0
        self.received: list[tuple[bytes, str | None]] = []
        self.app = Starlette(routes=[Route("/hook/", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        self.calls += 1
        if self.calls <= self.fail_first:
            return Response("busy", status_code=500)
        self.received.append((await request.body(), request.headers.get("x-hash")))
        return Response("ok")
