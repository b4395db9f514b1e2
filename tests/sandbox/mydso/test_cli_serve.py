"""``dsobridge sandbox mydso serve``: a real process on loopback, port 0."""

from __future__ import annotations

import ftplib
import io
import os
import signal
import subprocess
import sys
import time

import httpx2
from click.testing import CliRunner
from mydso_sandbox_helpers import CLIENTS

from dsobridge.cli import cli


def start(*args: str) -> tuple[subprocess.Popen, dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", "from dsobridge.cli import main; main()", "sandbox", "mydso", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    found: dict[str, str] = {}
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        key, _, value = line.strip().partition("=")
        found.setdefault(key, value)
        if key == "LOGIN" and ("--account" in args or "PASSWORD" in found):
            break
        if key == "PASSWORD":
            break
    return process, found


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=20)
    return err


def test_serve_with_a_demo_account_prints_its_password_and_serves() -> None:
    process, found = start("--port", "0", "--ftp-port", "0", "--today", "2025-06-30")
    try:
        assert set(found) == {"BASE_URL", "ASYNC_URL", "FTP", "LOGIN", "PASSWORD"}
        assert found["LOGIN"] == "demo" and len(found["PASSWORD"]) >= 12
        with httpx2.Client(timeout=10) as client:
            response = client.post(
                found["BASE_URL"] + "clients", content=CLIENTS, auth=("demo", found["PASSWORD"])
            )
            assert (response.status_code, response.json()["added"]) == (200, 3)
            clock = client.get(found["BASE_URL"].replace("/api/", "/_sandbox/clock")).json()
            assert clock == {"today": "2025-06-30"}
        host, port = found["FTP"].split(":")
        ftp = ftplib.FTP()  # noqa: S321 - loopback sandbox
        ftp.connect(host, int(port), timeout=10)
        ftp.login("demo", found["PASSWORD"])
        ftp.storbinary("STOR clients.csv", io.BytesIO(CLIENTS))
        ftp.close()
    finally:
        err = stop(process)
    assert "My DSO Manager sandbox on http://127.0.0.1:" in err
    assert "Traceback" not in err


def test_serve_with_given_accounts_never_prints_their_passwords(tmp_path) -> None:
    db = tmp_path / "mydso.sqlite3"
    process, found = start("--port", "0", "--account", "acme:very-secret-pw", "--db", str(db))
    try:
        assert found["LOGIN"] == "acme" and "PASSWORD" not in found
        with httpx2.Client(timeout=10) as client:
            denied = client.post(found["BASE_URL"] + "clients", content=CLIENTS, auth=("acme", "nope"))
            ok = client.post(found["BASE_URL"] + "clients", content=CLIENTS, auth=("acme", "very-secret-pw"))
        assert (denied.status_code, ok.status_code) == (401, 200)
    finally:
        err = stop(process)
    assert "very-secret-pw" not in err
    assert db.exists() and b"very-secret-pw" not in db.read_bytes()


def test_bad_account_option_and_help() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["sandbox", "mydso", "serve", "--account", "no-colon"])
    assert result.exit_code == 2
    assert "expected LOGIN:PASSWORD" in result.output
    result = runner.invoke(cli, ["sandbox", "mydso", "serve", "--help"])
    assert result.exit_code == 0
    assert "--ftp-port" in result.output and "--account LOGIN:PASSWORD" in result.output
