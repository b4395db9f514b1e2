"""The two ways tests reach a sandbox: in-process transport and a loopback uvicorn server."""

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dsobridge.sandbox import InProcessTransport, LoopbackServer


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "host": request.headers.get("host"),
            "body": body.decode(),
        }
    )


APP = Starlette(routes=[Route("/{rest:path}", echo, methods=["GET", "POST"])])


def test_in_process_transport_passes_path_query_host_and_body() -> None:
    transport = InProcessTransport(APP)
    with httpx2.Client(transport=transport, base_url="http://sandbox.test:8081") as client:
        response = client.post("/v5/1/k/get/debtor/json/?a=1%2C2", content=b"x=1")
    transport.close()
    assert response.json() == {
        "method": "POST",
        "path": "/v5/1/k/get/debtor/json/",
        "query": "a=1%2C2",
        "host": "sandbox.test:8081",
        "body": "x=1",
    }
    assert transport.requests == 1


def test_loopback_server_counts_tcp_connections() -> None:
    with LoopbackServer(APP) as server:
        with httpx2.Client(base_url=server.url) as client:
            for _ in range(20):
                assert client.get("/ping").status_code == 200
        with httpx2.Client(base_url=server.url) as other:
            other.get("/ping")
        assert server.connections == 2
