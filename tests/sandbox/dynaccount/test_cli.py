"""``dsobridge sandbox dynaccount seed|serve``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dsobridge.cli import cli
from dsobridge.dynaccount import DynaccountClient
from dsobridge.sandbox.dynaccount import DynaccountSandbox


def test_seed_command_fills_the_database(tmp_path: Path) -> None:
    db = tmp_path / "company.sqlite3"
    result = CliRunner().invoke(
        cli,
        [
            "sandbox",
            "dynaccount",
            "seed",
            "--db",
            str(db),
            "--debtors",
            "15",
            "--invoices",
            "120",
            "--seed",
            "4",
            "--today",
            "2026-11-20",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Seeded 15 debtors, 120 invoices,")
    with DynaccountSandbox(db) as sb:
        assert str(sb.today) == "2026-11-20"
        with sb.store.lock:
            assert sb.store.conn.execute("SELECT count(*) FROM debtor").fetchone()[0] == 15
        creds = sb.credentials
    with DynaccountSandbox(db) as again:
        assert again.credentials.api_id == creds.api_id  # the API_ID is kept in the database
        assert again.credentials.api_secret != creds.api_secret  # secrets are never written to it
    assert creds.api_secret.encode() not in db.read_bytes()
    bad = CliRunner().invoke(cli, ["sandbox", "dynaccount", "seed", "--db", str(db), "--debtors", "0"])
    assert bad.exit_code != 0


def test_serve_prints_credentials_and_answers(tmp_path: Path) -> None:
    db = tmp_path / "serve.sqlite3"
    with DynaccountSandbox(db) as sb:
        sb.seed(debtors=5, invoices=30, seed=1)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from dsobridge.cli import main; main()",
            "sandbox",
            "dynaccount",
            "serve",
            "--port",
            "0",
            "--db",
            str(db),
            "--api-key",
            "f" * 40,
            "--api-secret",
            "e" * 40,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = dict(proc.stdout.readline().strip().split("=", 1) for _ in range(4))
        assert set(lines) == {"API_ID", "API_KEY", "API_SECRET", "BASE_URL"}
        assert (lines["API_KEY"], lines["API_SECRET"]) == ("f" * 40, "e" * 40)
        with DynaccountClient(
            lines["API_ID"], lines["API_KEY"], lines["API_SECRET"], base_url=lines["BASE_URL"]
        ) as c:
            assert len(c.get("debtor", select=["id"])) == 5
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_seed_without_db_writes_the_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["sandbox", "dynaccount", "seed", "--debtors", "4", "--invoices", "9", "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == (
        "Database: dynaccount-sandbox.sqlite3 "
        "(serve it: dsobridge sandbox dynaccount serve --db dynaccount-sandbox.sqlite3)"
    )
    with DynaccountSandbox(tmp_path / "dynaccount-sandbox.sqlite3") as sb, sb.store.lock:
        assert sb.store.conn.execute("SELECT count(*) FROM debtor").fetchone()[0] == 4
        assert sb.store.conn.execute("SELECT count(*) FROM debtor_invoice").fetchone()[0] == 9 + 3


PYTHON_CLI = (sys.executable, "-c", "from dsobridge.cli import main; main()")


def test_serve_without_db_seeds_a_300_debtor_demo_and_cleans_up() -> None:
    proc = subprocess.Popen(
        [*PYTHON_CLI, "sandbox", "dynaccount", "serve", "--port", "0", "--today", "2026-11-20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        lines = dict(proc.stdout.readline().strip().split("=", 1) for _ in range(4))
        assert len(lines["API_KEY"]) == 40 and len(lines["API_SECRET"]) == 40
        banner = proc.stderr.readline()
        assert ", removed on exit); Ctrl-C to stop." in banner
        db = Path(banner.split("database ", 1)[1].split(", removed", 1)[0])
        assert db.exists()
        with DynaccountClient(
            lines["API_ID"], lines["API_KEY"], lines["API_SECRET"], base_url=lines["BASE_URL"]
        ) as c:
            debtors = list(c.iter_rows("debtor", select=["module_id_"], page_size=1000))
            assert [d["module_id_"] for d in debtors] == list(range(10001, 10301))
            assert len(c.get("debtor_invoice", select=["id"], limit=(0, 6000))) == 5000 + 3
    finally:
        proc.terminate()  # SIGTERM: stops like Ctrl-C
        assert proc.wait(timeout=10) == 0
    assert not db.exists() and not db.parent.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tgkill and /proc are Linux only")
def test_ctrl_c_delivered_to_a_server_thread_stops_serve_at_once(tmp_path: Path) -> None:
    """A terminal's Ctrl-C may land in any thread; the main thread must notice within its short idle tick."""
    import ctypes
    import os
    import signal
    import time

    db = tmp_path / "serve.sqlite3"
    with DynaccountSandbox(db) as sb:
        sb.seed(debtors=3, invoices=5, seed=1)
    proc = subprocess.Popen(
        [*PYTHON_CLI, "sandbox", "dynaccount", "serve", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None and "Ctrl-C to stop." in proc.stderr.readline()
        time.sleep(0.5)  # the main thread is idling now: the case that used to sleep for an hour
        threads = sorted(int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid)
        assert threads, "the server runs in a thread"
        assert ctypes.CDLL(None, use_errno=True).tgkill(proc.pid, threads[0], signal.SIGINT) == 0
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_seed_with_an_open_share(tmp_path: Path) -> None:
    db = tmp_path / "open.sqlite3"
    args = ["sandbox", "dynaccount", "seed", "--db", str(db), "--debtors", "20", "--invoices", "400"]
    result = CliRunner().invoke(cli, [*args, "--open-share", "0.75", "--today", "2026-11-20"])
    assert result.exit_code == 0, result.output
    with DynaccountSandbox(db) as sb:
        opened = sb.open_item_count()
        with sb.store.lock:
            still = sb.store.conn.execute(
                "SELECT count(*) FROM debtor_invoice WHERE is_matched='NO'"
            ).fetchone()[0]
    assert f"; {opened} open items." in result.output and 260 <= still <= 340
    bad = CliRunner().invoke(cli, [*args, "--open-share", "1.5"])
    assert bad.exit_code != 0 and "1.5" in bad.output
