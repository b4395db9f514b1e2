"""``dsobridge dynaccount get`` against a loopback server."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dsobridge.cli import cli
from dsobridge.dynaccount.signing import compute_hash, split_v5_body
from dsobridge.sandbox import LoopbackServer

SECRET = "0123456789abcdef0123456789abcdef01234567"
KEY = "c" * 40
SEEN: list[str] = []


async def endpoint(request: Request) -> Response:
    body = await request.body()
    signed, received = split_v5_body(body)
    query = request.scope["query_string"].decode()
    SEEN.append(query)
    url = request.headers["host"] + request.scope["raw_path"].decode() + (f"?{query}" if query else "")
    if received != compute_hash(url, signed, SECRET):
        return Response('{"error": {"hash": "Invalid hash"}}', 401, media_type="application/json")
    rows = (
        '[{"id": 1, "name": "Æble ApS", "balance": 1250.50}, {"id": 2, "name": "Pære A/S", "balance": 0.00}]'
    )
    return Response('{"result": ' + rows + "}", media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST"])])


@pytest.fixture
def server():
    SEEN.clear()
    with LoopbackServer(app) as running:
        yield running


def _env(server, secret: str = SECRET) -> dict[str, str]:
    return {
        "DYNACCOUNT_API_ID": "1234",
        "DYNACCOUNT_API_KEY": KEY,
        "DYNACCOUNT_API_SECRET": secret,
        "DYNACCOUNT_BASE_URL": server.url,
    }


def test_get_json_lines(server) -> None:
    args = ["dynaccount", "get", "debtor", "--where", "is_blocked=NO", "--select", "id,name,balance"]
    args += ["--order", "name,id desc", "--limit", "0,50", "--json"]
    result = CliRunner().invoke(cli, args, env=_env(server))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines == [
        {"id": 1, "name": "Æble ApS", "balance": "1250.50"},
        {"id": 2, "name": "Pære A/S", "balance": "0.00"},
    ]
    assert SEEN == ["select=id,name,balance&is_blocked=NO&order=name,id+desc&limit=0%2C50"]


def test_get_table(server) -> None:
    result = CliRunner().invoke(cli, ["dynaccount", "get", "debtor"], env=_env(server))
    assert result.exit_code == 0, result.output
    assert "Æble ApS" in result.output and "1250.50" in result.output and "(2 rows)" in result.output


def test_wrong_secret_is_a_clean_error(server) -> None:
    result = CliRunner().invoke(cli, ["dynaccount", "get", "debtor"], env=_env(server, "f" * 40))
    assert result.exit_code == 1
    assert "check API_SECRET for accounting 1234" in result.output
    assert KEY not in result.output and "Traceback" not in result.output


def test_missing_credentials() -> None:
    env = {"DYNACCOUNT_API_ID": "", "DYNACCOUNT_API_KEY": "", "DYNACCOUNT_API_SECRET": ""}
    result = CliRunner().invoke(cli, ["dynaccount", "get", "debtor"], env=env)
    assert result.exit_code == 2
    assert "DYNACCOUNT_API_ID, DYNACCOUNT_API_KEY, DYNACCOUNT_API_SECRET" in result.output


def test_bad_where(server) -> None:
    result = CliRunner().invoke(cli, ["dynaccount", "get", "debtor", "--where", "novalue"], env=_env(server))
    assert result.exit_code == 2
    assert "FIELD=VALUE" in result.output
