"""Fixtures: a small seeded sandbox, and a DynaccountClient reaching it in-process or over loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sandbox_dynaccount_kit import TODAY, Reach

from dsobridge.dynaccount import DynaccountClient
from dsobridge.sandbox.dynaccount import DynaccountSandbox


@pytest.fixture
def sb() -> Iterator[DynaccountSandbox]:
    sandbox = DynaccountSandbox(today=TODAY)
    sandbox.seed(debtors=40, invoices=400, seed=7)
    yield sandbox
    sandbox.close()


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
