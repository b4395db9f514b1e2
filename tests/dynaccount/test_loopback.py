"""Over a real loopback socket: sequential calls share ONE TCP connection (counted by the server) until the
server closes it, as the real one does after its 100th response."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dsobridge.dynaccount import DynaccountClient, RetryPolicy, TransportError
from dsobridge.dynaccount.signing import compute_hash, split_v5_body
from dsobridge.sandbox import LoopbackServer

SECRET = "0123456789abcdef0123456789abcdef01234567"
KEY = "b" * 40


async def endpoint(request: Request) -> Response:
    body = await request.body()
    signed, received = split_v5_body(body)
    query = request.scope["query_string"].decode()
    url = request.headers["host"] + request.scope["raw_path"].decode() + (f"?{query}" if query else "")
    if received != compute_hash(url, signed, SECRET):
        return Response(json.dumps({"error": {"hash": "Invalid hash"}}), 401, media_type="application/json")
    offset = int(query.rsplit("limit=", 1)[1].split("%2C")[0]) if "limit=" in query else 0
    rows = [{"id": offset + i + 1, "total_amount": 100.25} for i in range(10 if offset < 30 else 3)]
    return Response(json.dumps({"result": rows}), media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST", "GET"])])


def test_one_connection_per_hundred_calls_without_a_retry() -> None:
    """The server answers the 100th with ``Connection: close``; the next call opens a new one cleanly."""
    with LoopbackServer(app) as server:
        with DynaccountClient(1234, KEY, SECRET, base_url=server.url, retry=RetryPolicy.never()) as client:
            for i in range(98):
                rows = client.get("debtor_invoice", where={"module_id_": i})
                assert len(rows) == 10
            rows = list(client.iter_rows("debtor_invoice", page_size=10))  # 4 pages: 10, 10, 10, 3
            assert [r["id"] for r in rows] == list(range(1, 34))
            assert str(rows[-1]["total_amount"]) == "100.25"
            assert client.requests_sent == 102
        assert server.connections == 2


def test_without_a_request_cap_one_connection_serves_every_call() -> None:
    with LoopbackServer(app, keepalive=None) as server:
        with DynaccountClient(1234, KEY, SECRET, base_url=server.url, retry=RetryPolicy.never()) as client:
            for i in range(120):
                assert len(client.get("debtor_invoice", where={"module_id_": i})) == 10
        assert server.connections == 1


SLOW_SEEN: list[str] = []


async def slow_endpoint(request: Request) -> Response:
    await request.body()
    SLOW_SEEN.append(request.url.path.split("/")[4])  # the method: get, put, …
    await asyncio.sleep(0.5)
    return Response('{"result": [{"id": 1}]}', media_type="application/json")


slow_app = Starlette(routes=[Route("/{path:path}", slow_endpoint, methods=["POST"])])


def test_timeout_option_bounds_each_request_reads_retried_writes_not() -> None:
    SLOW_SEEN.clear()
    policy = RetryPolicy(attempts=2, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
    with (
        LoopbackServer(slow_app) as server,
        DynaccountClient(1234, KEY, SECRET, base_url=server.url, timeout=0.15, retry=policy) as client,
    ):
        started = time.perf_counter()
        with pytest.raises(TransportError) as read_error:
            client.get("debtor")
        with pytest.raises(TransportError) as write_error:
            client.put("debtor", 0, {"name": "x"})
        elapsed = time.perf_counter() - started
    assert SLOW_SEEN == ["get", "get", "put"]  # the read was tried twice, the write once
    assert read_error.value.unsent is False and write_error.value.unsent is False
    assert "the outcome is unknown" in str(write_error.value)
    assert "the outcome is unknown" not in str(read_error.value)
    assert "ReadTimeout" in str(read_error.value)
    assert elapsed < 1.2  # three 0.15 s timeouts, not three 0.5 s answers
