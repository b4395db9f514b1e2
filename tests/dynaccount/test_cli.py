"""``dsobridge dynaccount get`` against a loopback server."""

from __future__ import annotations

import json
from decimal import Decimal

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
PATHS: list[str] = []
TABLE: list[dict] = []
TWO_ROWS = [
    {"id": 1, "name": "Æble ApS", "balance": Decimal("1250.50")},
    {"id": 2, "name": "Pære A/S", "balance": Decimal("0.00")},
]


def _row_json(row: dict) -> str:
    """Amounts as JSON numbers with their digits (1250.50), as Dynaccount sends them."""
    cells = (f"{json.dumps(k)}: {v if isinstance(v, Decimal) else json.dumps(v)}" for k, v in row.items())
    return "{" + ", ".join(cells) + "}"


async def endpoint(request: Request) -> Response:
    body = await request.body()
    if "x-hash" in request.headers:  # v6/v7
        signed, received = body, request.headers["x-hash"]
    else:
        signed, received = split_v5_body(body)
    query = request.scope["query_string"].decode()
    SEEN.append(query)
    path = request.scope["raw_path"].decode()
    PATHS.append(f"{request.method} {path.replace(KEY, '<key>')}")
    url = request.headers["host"] + path + (f"?{query}" if query else "")
    if received != compute_hash(url, signed, SECRET):
        return Response('{"error": {"hash": "Invalid hash"}}', 401, media_type="application/json")
    rows = TABLE
    if "limit=" in query:
        offset, count = (int(n) for n in query.rsplit("limit=", 1)[1].split("%2C"))
        rows = TABLE[offset : offset + count]
    text = '{"result": [' + ", ".join(_row_json(row) for row in rows) + "]}"
    return Response(text, media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST", "GET"])])


@pytest.fixture
def server():
    SEEN.clear()
    PATHS.clear()
    TABLE[:] = TWO_ROWS
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


def test_get_by_id(server) -> None:
    result = CliRunner().invoke(cli, ["dynaccount", "get", "debtor", "--id", "2", "--json"], env=_env(server))
    assert result.exit_code == 0, result.output
    assert PATHS == ["POST /v5/1234/<key>/get/debtor/json/2/"]


def test_all_pages_through_the_table(server) -> None:
    TABLE[:] = [{"id": i, "name": f"Debitor {i}"} for i in range(1, 2502)]
    args = ["dynaccount", "get", "debtor", "--all", "--json", "--where", "is_blocked=NO"]
    result = CliRunner().invoke(cli, args, env=_env(server))
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in result.output.splitlines()] == list(range(1, 2502))
    assert SEEN == [
        "is_blocked=NO&order=id&limit=0%2C1000",
        "is_blocked=NO&order=id&limit=1000%2C1000",
        "is_blocked=NO&order=id&limit=2000%2C1000",
    ]


@pytest.mark.parametrize("extra", [["--limit", "0,10"], ["--id", "3"]])
def test_all_refuses_limit_and_id(server, extra: list[str]) -> None:
    result = CliRunner().invoke(cli, ["dynaccount", "get", "debtor", "--all", *extra], env=_env(server))
    assert result.exit_code == 2
    assert "cannot be combined with --id or --limit" in result.output
    assert SEEN == []


def test_version_from_environment(server) -> None:
    env = {**_env(server), "DYNACCOUNT_VERSION": "v7"}
    result = CliRunner().invoke(cli, ["dynaccount", "get", "debtor", "--select", "id", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert PATHS == ["GET /v7/1234/<key>/get/debtor/"]
    assert SEEN == ["select=id"]
