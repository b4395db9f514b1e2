"""``dsobridge fleet user …``, ``hook-url``, ``new-session-key`` and ``serve`` as a real process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx2
import pytest
from click.testing import CliRunner
from tests.fleet.test_tenants import SECRETS
from tests.fleet.web.conftest import SESSION_KEY, log_in, signed

from dsobridge.cli import cli


@pytest.fixture
def env(fleet, pg_url, fleet_key):
    return {
        "DSOBRIDGE_FLEET_DATABASE_URL": pg_url,
        "DSOBRIDGE_FLEET_SCHEMA": fleet.ctx.db.schema,
        "DSOBRIDGE_FLEET_KEYS": fleet_key,
        "DSOBRIDGE_FLEET_SESSION_KEY": SESSION_KEY,
        "DSOBRIDGE_FLEET_ADMIN_PASSWORD": "",
        "DSOBRIDGE_FLEET_PUBLIC_URL": "",
    }


def fleet_cli(env, *args, input=None):
    return CliRunner().invoke(cli, ["fleet", *args], env=env, input=input)


def test_users_are_added_listed_changed_and_removed_without_a_password_on_the_command_line(fleet, env):
    password = "an operator's long password"
    added = fleet_cli({**env, "DSOBRIDGE_FLEET_ADMIN_PASSWORD": password}, "user", "add", "ops@example.dk")
    assert added.exit_code == 0, added.output
    assert fleet.ctx.users.authenticate("ops@example.dk", password) is not None
    prompted = fleet_cli(env, "user", "add", "night", input="a prompted password\na prompted password\n")
    assert prompted.exit_code == 0 and fleet.ctx.users.authenticate("night", "a prompted password")
    listed = fleet_cli(env, "user", "list")
    assert [line.split()[0] for line in listed.output.splitlines()] == ["admin", "night", "ops@example.dk"]
    changed = fleet_cli(
        {**env, "DSOBRIDGE_FLEET_ADMIN_PASSWORD": "yet another password"}, "user", "password", "night"
    )
    assert changed.exit_code == 0 and fleet.ctx.users.authenticate("night", "yet another password")
    assert fleet_cli(env, "user", "remove", "night").exit_code == 0
    outputs = [added.output, prompted.output, listed.output, changed.output]
    assert all(password not in out and "argon2" not in out for out in outputs)
    assert "--password" not in fleet_cli(env, "user", "add", "--help").output


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        (["user", "add", "short"], {"DSOBRIDGE_FLEET_ADMIN_PASSWORD": "2short"}, "at least 12 characters"),
        (
            ["user", "add", "admin"],
            {"DSOBRIDGE_FLEET_ADMIN_PASSWORD": "long enough password"},
            "exists already",
        ),
        (
            ["user", "add", "Bad Name"],
            {"DSOBRIDGE_FLEET_ADMIN_PASSWORD": "long enough password"},
            "user name",
        ),
        (["user", "remove", "nobody"], {}, "no user 'nobody'"),
        (["hook-url", "nobody"], {}, "no tenant 'nobody'"),
        (["serve"], {"DSOBRIDGE_FLEET_SESSION_KEY": ""}, "DSOBRIDGE_FLEET_SESSION_KEY"),
        (["serve"], {"DSOBRIDGE_FLEET_SESSION_KEY": "too short"}, "at least 32 characters"),
        (["serve"], {"DSOBRIDGE_FLEET_PUBLIC_URL": "fleet.example.dk"}, "must be an address like"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(env, args, extra, message):
    result = fleet_cli({**env, **extra}, *args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_hook_url_prints_the_address_to_enter_in_dynaccount(fleet, env):
    shown = fleet_cli({**env, "DSOBRIDGE_FLEET_PUBLIC_URL": "https://fleet.example.dk/"}, "hook-url", "acme")
    assert shown.output.strip() == f"https://fleet.example.dk/hooks/{fleet.token(fleet.acme)}/"
    path_only = fleet_cli(env, "hook-url", "acme")
    assert path_only.stdout.strip() == f"/hooks/{fleet.token(fleet.acme)}/"
    assert "DSOBRIDGE_FLEET_PUBLIC_URL" in path_only.stderr
    rotated = fleet_cli(env, "hook-url", "acme", "--rotate", "--public-url", "https://fleet.example.dk")
    assert (
        rotated.output.strip()
        == f"https://fleet.example.dk/hooks/{fleet.token(fleet.acme)}/"
        != shown.output.strip()
    )


def test_new_session_key_is_long_enough_and_new():
    keys = {CliRunner().invoke(cli, ["fleet", "new-session-key"]).output.strip() for _ in range(2)}
    assert len(keys) == 2 and all(len(k) >= 32 for k in keys)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_fleet_serve_runs_webhooks_dashboard_metrics_and_health(fleet, env, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from dsobridge.cli import main; main()",
            "-v",
            "fleet",
            "serve",
            "--port",
            str(port),
        ],
        env={**os.environ, **env, "DSOBRIDGE_FLEET_PUBLIC_URL": base},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx2.Client(base_url=base) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    assert http.get("/healthz").json() == {"ok": True, "database": "up"}
                    break
                except httpx2.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline, (
                        tmp_path / "serve.log"
                    ).read_text()
                    time.sleep(0.2)
            body = json.dumps({"method": "put", "table": "debtor", "result": {"module_id_": 10001}}).encode()
            url = f"{base}/hooks/{fleet.token(fleet.acme)}/"
            hooked = http.post(url, content=body, headers=signed(url, body, SECRETS["dynaccount_api_secret"]))
            assert hooked.status_code == 202, hooked.text
            assert log_in(http).status_code == 303 and "acme" in http.get("/").text
            assert "dsobridge_fleet_tenant_triggers_pending" in http.get("/metrics").text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert server.returncode in (0, -signal.SIGTERM) and "Traceback" not in output, (
        output
    )  # uvicorn re-raises it
    assert "webhook for acme: trigger" in output and "admin logged in" in output
    assert [j.reason for j in fleet.jobs(fleet.acme)] == ["webhook"]
    for secret in SECRETS.values():
        assert secret.reveal() not in output
    assert fleet.token(fleet.acme) not in output
