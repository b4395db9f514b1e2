"""Fixtures for the Dynaccount client tests; the fake itself lives in ``dynaccount_testkit``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dynaccount_testkit import API_ID, API_KEY, API_SECRET, FakeDynaccount

from dsobridge.dynaccount import DynaccountClient, RetryPolicy
from dsobridge.sandbox import InProcessTransport


@pytest.fixture
def fake() -> FakeDynaccount:
    return FakeDynaccount()


@pytest.fixture
def slept() -> list[float]:
    """The waits the clients of ``make_client`` asked for (they do not really sleep)."""
    return []


@pytest.fixture
def make_client(fake: FakeDynaccount, slept: list[float]) -> Iterator[Any]:
    clients: list[DynaccountClient] = []
    transports: list[InProcessTransport] = []

    def factory(version: str = "v5", retry: RetryPolicy | None = None, **kwargs: Any) -> DynaccountClient:
        transport = InProcessTransport(fake)
        transports.append(transport)
        client = DynaccountClient(
            API_ID,
            kwargs.pop("api_key", API_KEY),
            kwargs.pop("api_secret", API_SECRET),
            version=version,
            base_url=kwargs.pop("base_url", "https://api.dynaccount.com"),
            transport=transport,
            retry=retry or RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0),
            sleep=kwargs.pop("sleep", slept.append),
            **kwargs,
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
    for transport in transports:
        transport.close()
