"""Without a PostgreSQL the fleet's tests are skipped with the reason — but fail under CI=true."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_limits_tests(**env: str) -> subprocess.CompletedProcess[str]:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fleet/test_limits.py"],
        cwd=ROOT,
        env={**os.environ, "DSOBRIDGE_TEST_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/x", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_a_database_the_tests_are_skipped_with_the_reason():
    result = run_limits_tests(CI="")
    assert result.returncode == 0, result.stdout
    assert "skipped" in result.stdout and "no PostgreSQL at $DSOBRIDGE_TEST_DATABASE_URL" in result.stdout


def test_under_ci_a_missing_database_fails_the_run():
    result = run_limits_tests(CI="true")
    assert result.returncode != 0
    assert "under CI=true the fleet's database tests must run" in result.stdout
