"""Left alone with a real company: the state belongs to one company, a stale lock can be cleared, an
interrupted run cleans up after itself, and the nightly STOCK does not refuse ordinary business."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from datetime import date

import httpx2
import pytest
from click.testing import CliRunner

from dsobridge.cli import cli
from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox
from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.sync.config import load_config
from dsobridge.sync.run import SyncOptions
from dsobridge.sync.runner import run_sync
from dsobridge.sync.state import SqliteStateStore, StateMismatch

TODAY = date(2026, 11, 20)
PASSWORD = "unattended-pw-0451"


@pytest.fixture
def world(tmp_path, sync_config):
    dyn = DynaccountSandbox(tmp_path / "dyn.sqlite3", today=TODAY)
    dso = MyDsoSandbox(tmp_path / "dso.sqlite3", accounts={"acme": PASSWORD}, today=TODAY)
    dyn.seed(debtors=40, invoices=600, seed=9)
    with LoopbackServer(dyn.app) as dyn_srv, LoopbackServer(dso.app) as dso_srv:
        path, env = sync_config(tmp_path, dyn, dyn_srv.url, dso_srv.url, PASSWORD)
        yield {
            "dyn": dyn,
            "dso": dso,
            "dso_url": dso_srv.url,
            "dyn_url": dyn_srv.url,
            "path": path,
            "env": env,
        }
    dyn.close()
    dso.close()


def cli_run(args, env):
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def ledger_open(world) -> dict[str, str]:
    with httpx2.Client(auth=httpx2.BasicAuth("acme", PASSWORD)) as http:
        body = http.get(f"{world['dso_url']}/ledger/items", params={"status": "open"}).json()
    rows = body["items"] if isinstance(body, dict) else body
    return {r["item_key"]: r["amount_open"] for r in rows}


def dynaccount_open(config) -> dict[str, str]:
    from dsobridge.sync.delivery import Endpoints
    from dsobridge.sync.extract import Extractor
    from dsobridge.sync.openitems import open_items

    with Endpoints(config) as ends:
        ex = Extractor(ends.source)
        items = open_items(
            matches=ex.open_matches(),
            invoices=ex.open_invoices(),
            creditnotes=ex.open_creditnotes(),
            payments=ex.open_payments(),
        )
        return {i.unique_key: f"{i.remaining:.2f}" for i in items}


def test_advance_delta_advance_stock_needs_no_force_and_the_ledgers_agree(world):
    """Issue 9, scenario 1: after the sandbox's own `advance 30 days` open amounts fell ~40 % and the STOCK
    refused ("would clear them"), and kept refusing after DELTA runs. Now every clearing has its reason."""
    config = load_config(world["path"], env=world["env"])
    dyn = world["dyn"]
    assert run_sync(config, SyncOptions(mode="stock"), today=dyn.today).exit_code == 0
    before = ledger_open(world)
    dyn.advance(30)
    world["dso"].today = dyn.today
    delta = run_sync(config, SyncOptions(mode="delta"), today=dyn.today)
    assert delta.exit_code == 0, delta.error
    dyn.advance(5)
    world["dso"].today = dyn.today
    stock = run_sync(config, SyncOptions(mode="stock"), today=dyn.today)
    assert (stock.status, stock.exit_code) == ("success", 0), stock.error
    assert stock.unexplained == [] and all(c.reason == "matched" for c in stock.clearings)
    assert ledger_open(world) == dynaccount_open(config)
    assert len(before) and set(before) - set(ledger_open(world))  # things were paid meanwhile


def test_two_configs_in_one_folder_never_share_a_state_and_another_company_is_refused(world, tmp_path):
    """Issue 9, scenario 3: pointed at another company's state, a DELTA would have sent that company's
    invoices as settled. Now the state says whose it is and the run exits 2 before reading anything."""
    config = load_config(world["path"], env=world["env"])
    assert run_sync(config, SyncOptions(mode="stock"), today=TODAY).exit_code == 0
    text = world["path"].read_text().replace(f"api_id = {world['dyn'].credentials.api_id}", "api_id = 777001")
    other_path = tmp_path / "other-company.toml"
    other_path.write_text(text.replace('state = "state.sqlite3"\n', ""))
    other = load_config(other_path, env=world["env"])
    assert other.state_path == tmp_path / "other-company-state.sqlite3" != config.state_path
    shared = tmp_path / "shared.toml"
    shared.write_text(text)  # explicitly the first company's state file
    refused = cli_run(["sync", "--mode", "delta", "--dry-run", "--config", str(shared)], world["env"])
    assert refused.exit_code == 2
    assert "this state belongs to Dynaccount accounting" in refused.output and "777001" in refused.output
    with pytest.raises(StateMismatch):
        run_sync(load_config(shared, env=world["env"]), SyncOptions(mode="delta", dry_run=True))
    with SqliteStateStore(config.state_path) as state:
        assert [r.mode for r in state.runs()] == ["stock"]  # the refused runs never started


def test_unlock_shows_the_holder_and_refuses_while_it_lives(world):
    env = {**world["env"], "DSOBRIDGE_CONFIG": str(world["path"])}
    config = load_config(world["path"], env=world["env"])
    assert "no run holds the lock" in cli_run(["unlock"], env).output
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with SqliteStateStore(config.state_path) as state:
            state.db.execute(
                "INSERT INTO lock (name, pid, host, acquired_at, run_id) VALUES ('sync', ?, ?, ?, 7)",
                (child.pid, socket.gethostname(), "2026-12-05T01:00:00+00:00"),
            )
        alive = cli_run(["unlock"], env)
        assert alive.exit_code == 1
        assert f"pid {child.pid} on {socket.gethostname()}" in alive.output and "run 7" in alive.output
        assert "is alive" in alive.output
    finally:
        child.kill()
        child.wait()
    gone = cli_run(["unlock"], env)
    assert gone.exit_code == 0 and "lock removed" in gone.output
    with SqliteStateStore(config.state_path) as state:
        assert state.lock_holder() is None
        state.db.execute(
            "INSERT INTO lock (name, pid, host, acquired_at) VALUES ('sync', 1, 'elsewhere', ?)",
            ("2026-12-05T01:00:00+00:00",),
        )
    assert cli_run(["unlock"], env).exit_code == 1  # another host: cannot be seen from here
    assert cli_run(["unlock", "--force"], env).exit_code == 0


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_run_is_marked_releases_its_lock_and_deletes_its_files(world, tmp_path, sig, code):
    """Issue 9: Ctrl-C and SIGTERM mark the run interrupted, release the lock, delete the spooled files
    (names, e-mails, phones) and exit 130 / 143; no file of ours is left world-readable."""
    world["dyn"].faults = {"latency_ms": 200.0}  # every Dynaccount answer takes 0.2 s: the run is slow
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    env = {**os.environ, **world["env"], "DSOBRIDGE_CONFIG": str(world["path"]), "TMPDIR": str(private_tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from dsobridge.cli import cli; cli()", "sync"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    config = load_config(world["path"], env=world["env"])
    deadline = time.monotonic() + 30
    while not list(private_tmp.glob("dsobridge-run-*/*.csv")):  # the run is writing its files
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err.decode()
    assert b"interrupted" in err
    assert list(private_tmp.iterdir()) == []  # the run's files are gone
    with SqliteStateStore(config.state_path) as state:
        (run,) = state.runs()
        assert (run.status, run.exit_code) == ("interrupted", code)
        assert state.lock_holder() is None
    for path in [config.state_path, *config.state_path.parent.glob(config.state_path.name + "-*")]:
        assert not stat.S_IMODE(path.stat().st_mode) & 0o077, path


def test_failed_and_refused_nights_alert_once_per_incident_and_check_alerts_staleness(world, alert_hook):
    """Issue 11: nobody was told when the nightly run failed or was refused. Three failing nights are one
    alert; the next success one "resolved"; an hourly `check` alerts once when no run succeeded for long."""
    received, url = alert_hook
    env = {**world["env"], "DSOBRIDGE_CONFIG": str(world["path"]), "DSOBRIDGE_ALERT_URLS": url}
    assert cli_run(["sync"], env).exit_code == 0
    world["dyn"].faults = {"error_rate": 1, "error_status": 503, "tables": ["debtor"]}
    for _ in range(3):
        assert cli_run(["sync"], env).exit_code == 1
    world["dyn"].faults = {}
    assert cli_run(["sync"], env).exit_code == 0
    titles = [body["title"] for body in received]
    assert len(titles) == 2 and "failed" in titles[0] and "resolved" in titles[1]
    failed = received[0]["message"]
    assert "Dynaccount" in failed and "HTTP 503" in failed and "run 2" in failed
    config = load_config(world["path"], env=world["env"])
    with SqliteStateStore(config.state_path) as state:  # the last success was 30 hours ago
        state.db.execute("UPDATE runs SET ended_at = '2026-01-01T00:00:00+00:00' WHERE status = 'success'")
    for _ in range(2):
        stale = cli_run(["check", "--json"], env)
        assert stale.exit_code == 1
    assert len(received) == 3 and "has succeeded in the last 26 hours" in received[2]["message"]
    for secret in (world["env"]["DSOBRIDGE_DYNACCOUNT_API_SECRET"], PASSWORD, url.rsplit("/", 1)[1]):
        assert all(secret not in str(body) for body in received)
