"""``dsobridge sandbox mydso serve``: a real process on loopback, port 0."""

from __future__ import annotations

import contextlib
import ctypes
import ftplib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
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


def wait_for_exit(process: subprocess.Popen, timeout: float = 20) -> str:
    """The process's stderr once it exits; a process that does not exit in time is killed, then we fail."""
    try:
        return process.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"the sandbox did not stop within {timeout} s") from None


@contextlib.contextmanager
def reaped(process: subprocess.Popen) -> Iterator[None]:
    """Never leave a sandbox process behind, whatever fails in the block."""
    try:
        yield
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    return wait_for_exit(process)


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


def _signal_a_server_thread(pid: int, signum: int) -> None:
    """What a terminal's Ctrl-C may do: the kernel hands the signal to any thread, here not the main one."""
    threads = sorted(int(tid) for tid in os.listdir(f"/proc/{pid}/task") if int(tid) != pid)
    assert threads, "the sandbox runs its servers in threads"
    assert ctypes.CDLL(None, use_errno=True).tgkill(pid, threads[0], signum) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tgkill and /proc are Linux only")
def test_ctrl_c_received_by_a_server_thread_still_stops_the_sandbox_at_once() -> None:
    process, found = start("--port", "0", "--ftp-port", "0")
    with reaped(process):
        assert "PASSWORD" in found
        assert process.stderr is not None and "Ctrl-C to stop" in process.stderr.readline()
        time.sleep(0.5)  # the main thread, done printing, is now waiting: the case that used to hang
        _signal_a_server_thread(process.pid, signal.SIGINT)
        err = wait_for_exit(process)  # it used to sleep on until its hour-long sleep ended
    assert (process.returncode, "Traceback" in err) == (0, False)


def test_sigterm_stops_cleanly_and_removes_the_temporary_database() -> None:
    process, found = start("--port", "0")
    with reaped(process):
        assert "PASSWORD" in found
        assert process.stderr is not None
        banner = process.stderr.readline()  # up and serving (a signal before it would race the banner)
        assert "Ctrl-C to stop" in banner
        process.send_signal(signal.SIGTERM)
        err = banner + wait_for_exit(process)
    db = Path(re.search(r"db (\S+)\)", err).group(1))
    assert (process.returncode, "Traceback" in err) == (0, False)
    assert db.name == "mydso.sqlite3" and not db.parent.exists()


def test_bad_account_option_and_help() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["sandbox", "mydso", "serve", "--account", "no-colon"])
    assert result.exit_code == 2
    assert "expected LOGIN:PASSWORD" in result.output
    result = runner.invoke(cli, ["sandbox", "mydso", "serve", "--help"])
    assert result.exit_code == 0
    assert "--ftp-port" in result.output and "--account LOGIN:PASSWORD" in result.output


def test_a_busy_ftp_port_fails_cleanly_and_stops_the_http_server() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["sandbox", "mydso", "serve", "--port", "0", "--ftp-port", str(port)]
        )
    assert result.exit_code == 1
    assert "cannot start the FTP drop" in result.output and "PASSWORD=" not in result.output
    assert not [t for t in threading.enumerate() if t.name == "loopback-uvicorn" and t.is_alive()]
