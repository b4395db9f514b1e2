"""Fixtures for the My DSO Manager sandbox tests: a sandbox on a fixed date and two ways to reach it."""

from __future__ import annotations

import ftplib
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mydso_sandbox_helpers import ACME, OTHER, TODAY, Wire

from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.mydso import MyDsoSandbox


@pytest.fixture
def sandbox() -> Iterator[MyDsoSandbox]:
    sb = MyDsoSandbox(accounts=dict([ACME, OTHER]), today=TODAY, max_body_bytes=256 * 1024)
    yield sb
    sb.close()


@pytest.fixture(params=["inprocess", "loopback"])
def wire(request: pytest.FixtureRequest, sandbox: MyDsoSandbox) -> Iterator[Wire]:
    if request.param == "inprocess":
        transport = InProcessTransport(sandbox.app)
        with httpx2.Client(transport=transport, base_url="http://mydso.sandbox") as client:
            yield Wire(client)
        transport.close()
    else:
        with LoopbackServer(sandbox.app) as server, httpx2.Client(base_url=server.url, timeout=30) as client:
            yield Wire(client)


@pytest.fixture
def ftp(sandbox: MyDsoSandbox) -> Iterator[ftplib.FTP]:
    """A plain FTP session on the sandbox's drop, logged in as acme."""
    host, port = sandbox.start_ftp()
    conn = ftplib.FTP()  # noqa: S321 - the sandbox drop is plain FTP on loopback
    conn.connect(host, port, timeout=10)
    conn.login(*ACME)
    yield conn
    conn.close()
    sandbox.stop_ftp()
