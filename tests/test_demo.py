"""``dsobridge demo`` — what ``make demo`` runs: unattended, exits 0, and both ledgers agree."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx2
from click.testing import CliRunner

from dsobridge.cli import cli


def test_demo_runs_unattended_and_both_ledgers_agree(tmp_path) -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--debtors", "40", "--invoices", "600", "--workdir", str(tmp_path)], input=""
    )
    out = result.output
    assert result.exit_code == 0, out
    assert "sync run 1 · STOCK · success" in out and "sync run 2 · DELTA · success" in out
    assert out.count("→ identical") == 2  # after the STOCK and after the DELTA
    assert re.search(r"open amounts: DKK -?\d+\.\d{2}", out)  # summed per currency, never across
    assert re.search(r"done in [\d.]+ s · ledgers agree", out)
    assert "aging by due date" in out and "countback DSO" in out
    assert any(tmp_path.glob("*.sqlite3"))  # --workdir keeps the databases and the state store


CLI = (sys.executable, "-c", "from dsobridge.cli import main; main()")


def test_demo_serve_keeps_the_ledger_page_up_until_sigterm(tmp_path) -> None:
    small = ("--debtors", "30", "--invoices", "300", "--workdir", str(tmp_path))
    proc = subprocess.Popen(
        [*CLI, "demo", "--serve", *small],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C to stop." in line:
                break
        text = "".join(lines)
        page = re.search(r"ledger web page:\s+(\S+)", text)
        assert page, text
        assert page.group(1).endswith("?months=7")  # 6 months of history + the current month
        response = httpx2.get(page.group(1), timeout=30)
        assert response.status_code == 200
        assert "<svg" in response.text and "DSO" in response.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_demo_without_a_workdir_leaves_no_temporary_folder(tmp_path) -> None:
    """Issue 11: each `make demo` left a 7.9 MB temporary folder behind."""
    private = tmp_path / "tmp"
    private.mkdir()
    proc = subprocess.run(
        [*CLI, "demo", "--debtors", "20", "--invoices", "200"],
        env={**os.environ, "TMPDIR": str(private)},
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert list(private.iterdir()) == []


def test_demo_with_a_workdir_runs_once_there(tmp_path, monkeypatch) -> None:
    """With --workdir the demo ran a second time in a temporary folder."""
    from dsobridge.commands import demo as demo_command

    calls = []
    monkeypatch.setattr(demo_command, "_demo", lambda *args: calls.append(args[5]))
    result = CliRunner().invoke(cli, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert calls == [tmp_path]
