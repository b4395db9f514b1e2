"""Fixtures: a small seeded sandbox, and a DynaccountClient reaching it in-process or over loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import httpx2
from foreign_clients import Foreign
from sandbox_dynaccount_kit import TODAY, Reach, seeded

from dsobridge.dynaccount import DynaccountClient
from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox


@pytest.fixture
def sb() -> Iterator[DynaccountSandbox]:
    with seeded(debtors=40, invoices=400, seed=7) as sandbox:
        yield sandbox


@pytest.fixture
def empty_sb() -> Iterator[DynaccountSandbox]:
    sandbox = DynaccountSandbox(today=TODAY)
    yield sandbox
    sandbox.close()


@pytest.fixture(params=["inprocess", "loopback"])
def reach(request: pytest.FixtureRequest, sb: DynaccountSandbox) -> Iterator[Reach]:
    r = Reach(sb, request.param)
    yield r
    r.close()


@pytest.fixture
def client(reach: Reach) -> Iterator[DynaccountClient]:
    with reach.client() as c:
        yield c


class _Switch:
    """An ASGI app forwarding to the current test's sandbox, so one loopback server serves a whole module."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # the server's own startup/shutdown, not a sandbox's
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[_Switch, LoopbackServer]]:
    switch = _Switch()
    with LoopbackServer(switch) as loopback:
        yield switch, loopback


@pytest.fixture(params=["inprocess", "loopback"])
def foreign(
    request: pytest.FixtureRequest, sb: DynaccountSandbox, server: tuple[_Switch, LoopbackServer]
) -> Iterator[Foreign]:
    """A client no one here wrote (``foreign_clients``), reaching ``sb`` in-process or over loopback."""
    c = sb.credentials
    if request.param == "loopback":
        switch, loopback = server
        switch.app = sb.app
        with httpx2.Client(base_url=loopback.url) as http:
            yield Foreign(http, loopback.url.removeprefix("http://"), c.api_id, c.api_key, c.api_secret)
    else:
        transport = InProcessTransport(sb.app)
        with httpx2.Client(base_url="https://api.dynaccount.com", transport=transport) as http:
            yield Foreign(http, "api.dynaccount.com", c.api_id, c.api_key, c.api_secret)
        transport.close()
