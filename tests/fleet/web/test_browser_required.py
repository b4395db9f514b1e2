"""Without a Chromium the browser test is skipped with the reason — but fails under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run_browser_test(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fleet/web/test_browser.py"],
        cwd=ROOT,
        env={**os.environ, "PATH": "/nonexistent", **env},  # no chromium to be found
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_chromium_the_browser_test_is_skipped_with_the_reason(pg_url):
    result = run_browser_test(CI="")
    assert result.returncode == 0, result.stdout
    assert "skipped" in result.stdout and "no chromium binary on this machine" in result.stdout


def test_under_ci_a_missing_chromium_fails_the_run(pg_url):
    result = run_browser_test(CI="true")
    assert result.returncode != 0
    assert "under CI=true the browser test must run" in result.stdout
