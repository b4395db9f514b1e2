"""``delivery = "ftp"``: a sync through the FTP/FTPS drop, with the same state guarantee as HTTP — the state
advances only on a report file that says the import succeeded."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx2
import pytest

from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox
from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.sync.config import load_config
from dsobridge.sync.run import SyncOptions
from dsobridge.sync.runner import run_sync
from dsobridge.sync.state import SqliteStateStore, item_key_text

TODAY = date(2026, 11, 20)
PASSWORD = "ftp-password-0451"


@pytest.fixture(params=["ftp", "ftps"])
def world(request, tmp_path, sync_config):
    dyn = DynaccountSandbox(tmp_path / "dyn.sqlite3", today=TODAY)
    dso = MyDsoSandbox(tmp_path / "dso.sqlite3", accounts={"acme": PASSWORD}, today=TODAY)
    dyn.seed(debtors=30, invoices=400, seed=4)
    tls = request.param == "ftps"
    host, port = dso.start_ftp(tls=tls)
    with LoopbackServer(dyn.app) as dyn_srv, LoopbackServer(dso.app) as dso_srv:
        path, env = sync_config(tmp_path, dyn, dyn_srv.url, dso_srv.url, PASSWORD)
        env = {
            **env,
            "DSOBRIDGE_MYDSO__DELIVERY": "ftp",
            "DSOBRIDGE_MYDSO__FTP_HOST": host,
            "DSOBRIDGE_MYDSO__FTP_PORT": str(port),
            "DSOBRIDGE_MYDSO__FTP_TLS": "true" if tls else "false",
            "DSOBRIDGE_MYDSO__REPORT_TIMEOUT": "20",
        }
        if tls:
            cafile = tmp_path / "drop-ca.pem"
            cafile.write_bytes(dso.ftp.cert_pem)
            env["DSOBRIDGE_MYDSO__FTP_CAFILE"] = str(cafile)
        yield dyn, dso, dso_srv.url, path, env
    dso.stop_ftp()
    dyn.close()
    dso.close()


def ledger(url: str) -> dict[str, Decimal]:
    with httpx2.Client(auth=httpx2.BasicAuth("acme", PASSWORD)) as http:
        body = http.get(f"{url}/ledger/items", params={"status": "open"}).json()
    rows = body["items"] if isinstance(body, dict) else body
    return {r["item_key"]: Decimal(r["amount_open"]) for r in rows}


def test_stock_and_delta_through_the_drop_keep_the_ledgers_equal(world):
    dyn, dso, url, path, env = world
    config = load_config(path, env=env)
    first = run_sync(config, SyncOptions(mode="stock"), today=dyn.today)
    assert (first.status, first.exit_code) == ("success", 0), first.error
    sent = {f.label: f for f in first.files if f.sent}
    assert set(sent) == {"clients", "contacts", "items"} and sent["items"].mode == "STOCK"
    with SqliteStateStore(config.state_path) as state:
        delivered = {item_key_text(k) for k, _ in state.open_items()}
    assert ledger(url).keys() == delivered and len(delivered) == first.open_count
    dyn.advance(20)
    dso.today = dyn.today
    second = run_sync(config, SyncOptions(mode="delta"), today=dyn.today)
    assert second.exit_code == 0, second.error
    assert second.clearings and not second.unexplained
    with SqliteStateStore(config.state_path) as state:
        assert ledger(url).keys() == {item_key_text(k) for k, _ in state.open_items()}


def test_without_a_successful_report_the_state_does_not_advance(world, monkeypatch):
    dyn, dso, url, path, env = world
    config = load_config(path, env={**env, "DSOBRIDGE_MYDSO__REPORT_TIMEOUT": "1"})
    uploads = dso.ftp.uploads
    monkeypatch.setattr(uploads, "_import", lambda login, path: None)  # the drop never answers
    failed = run_sync(config, SyncOptions(mode="stock"), today=dyn.today)
    assert (failed.status, failed.exit_code, failed.error_kind) == ("failed", 1, "import_timeout"), (
        failed.error
    )
    with SqliteStateStore(config.state_path) as state:
        assert state.count("clients") == 0 and state.count("items") == 0
        assert state.reports(failed.run_id) == []
    monkeypatch.undo()
    again = run_sync(config, SyncOptions(mode="stock"), today=dyn.today)
    assert again.exit_code == 0, again.error
    assert len(ledger(url)) == again.open_count > 0
