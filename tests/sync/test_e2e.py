"""End to end over loopback: Dynaccount sandbox → sync → My DSO Manager sandbox ledger."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal

import httpx2
import pytest

from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox
from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.sync.config import load_config
from dsobridge.sync.delivery import Endpoints
from dsobridge.sync.engine import SyncOptions
from dsobridge.sync.extract import Extractor
from dsobridge.sync.openitems import open_items
from dsobridge.sync.runner import run_sync
from dsobridge.sync.state import SqliteStateStore, item_key_text

TODAY = date(2026, 11, 20)
PASSWORD = "e2e-password"


class World:
    def __init__(self, tmp_path, sync_config, *, debtors=60, invoices=900, page_size=100):
        self.tmp = tmp_path
        self.dyn = DynaccountSandbox(tmp_path / "dyn.sqlite3", today=TODAY)
        self.dso = MyDsoSandbox(tmp_path / "dso.sqlite3", accounts={"acme": PASSWORD}, today=TODAY)
        self.dyn.seed(debtors=debtors, invoices=invoices, seed=7)
        self.dyn_srv = LoopbackServer(self.dyn.app).start()
        self.dso_srv = LoopbackServer(self.dso.app).start()
        self.config_path, self.env = sync_config(
            tmp_path, self.dyn, self.dyn_srv.url, self.dso_srv.url, PASSWORD, page_size=page_size
        )
        self.config = load_config(self.config_path, env=self.env)
        self.http = httpx2.Client(auth=httpx2.BasicAuth("acme", PASSWORD), timeout=30)

    def sync(self, **options):
        return run_sync(self.config, SyncOptions(**options), today=self.dyn.today)

    def ledger(self, status="open"):
        response = self.http.get(f"{self.dso_srv.url}/ledger/items", params={"status": status})
        assert response.status_code == 200, response.text
        body = response.json()
        rows = body["items"] if isinstance(body, dict) else body
        return {r["item_key"]: Decimal(r["amount_open"]) for r in rows}

    def ledger_all(self):
        response = self.http.get(f"{self.dso_srv.url}/ledger/items", params={"status": "all"})
        body = response.json()
        rows = body["items"] if isinstance(body, dict) else body
        return sorted((r["item_key"], r["amount_open"], r["payment_date"]) for r in rows)

    def dynaccount_open(self):
        with Endpoints(self.config) as ends:
            ex = Extractor(ends.source)
            return {
                i.unique_key: i.remaining
                for i in open_items(
                    matches=ex.open_matches(),
                    invoices=ex.open_invoices(),
                    creditnotes=ex.open_creditnotes(),
                    payments=ex.open_payments(),
                )
            }

    def latest_match_dates(self):
        """Item key → ISO date of the latest match touching the document, read from Dynaccount."""
        out = {}
        with Endpoints(self.config) as ends:
            for m in Extractor(ends.source).all_matches():
                when = str(m["time"])[:10]
                keys = [f"INVOICE-{m['invoice_id_']}"]
                if str(m.get("is_creditnote")).upper() == "YES":
                    keys.append(f"CREDITNOTE-{m['creditnote_id_']}")
                else:
                    keys.append(f"PAYMENT-{m['payment_id']}")
                for key in keys:
                    out[key] = max(out.get(key, when), when)
        return out

    def close(self):
        self.http.close()
        self.dyn_srv.stop()
        self.dso_srv.stop()
        self.dyn.close()
        self.dso.close()


@pytest.fixture
def world(tmp_path, sync_config):
    w = World(tmp_path, sync_config)
    yield w
    w.close()


@pytest.fixture
def small_pages_world(tmp_path, sync_config):
    """Pages of 10 rows, so every table of the extraction spans several pages."""
    w = World(tmp_path, sync_config, page_size=10)
    yield w
    w.close()


def test_stock_then_delta_keep_both_ledgers_equal_item_by_item(world):
    first = world.sync(mode="stock", history_months=6)
    assert (first.status, first.exit_code) == ("success", 0), first.error
    assert first.balance_ok and first.balance_checked == 60
    # one keep-alive connection to each end for the whole run
    assert (world.dyn_srv.connections, world.dso_srv.connections) == (1, 1)
    expected = world.dynaccount_open()
    assert len(expected) == first.open_count > 0
    assert world.ledger() == expected
    history = next(f for f in first.files if f.label == "items (history)")
    assert history.sent and history.rows > 0 and history.added == history.rows
    cleared_before = world.ledger("cleared")
    assert len(cleared_before) == history.rows
    # the history items carry the date of their last match (not the import date), amount open 0
    dates = world.latest_match_dates()
    history_rows = [r for r in world.ledger_all() if r[0] in cleared_before]
    assert all(Decimal(r[1]) == 0 and r[2] == dates[r[0]] for r in history_rows)
    assert min(r[2] for r in history_rows) >= "2026-05-20"  # 6 months back from TODAY

    moved = world.dyn.advance(30)
    world.dso.today = world.dyn.today
    assert moved["payments"] > 0
    second = world.sync(mode="delta")
    assert (second.status, second.exit_code) == ("success", 0), second.error
    items = next(f for f in second.files if f.label == "items (settled)")
    assert items.mode == "DELTA" and items.cleared > 0
    assert len(second.clearings) == items.cleared and not second.unexplained
    assert {c.reason for c in second.clearings} == {"matched"}
    assert world.ledger() == world.dynaccount_open()
    # items settled since the STOCK carry the date of their last match, not the import date
    paid = [r for r in world.ledger_all() if r[2] and r[2] > TODAY.isoformat()]
    assert paid and all(r[2] <= world.dyn.today.isoformat() for r in paid)
    settled_now = set(expected) - set(world.ledger())
    assert settled_now and len(settled_now) == items.cleared
    dates = world.latest_match_dates()
    rows = {r[0]: r for r in world.ledger_all()}
    assert {k: (Decimal(rows[k][1]), rows[k][2]) for k in settled_now} == {
        k: (Decimal("0"), dates[k]) for k in settled_now
    }


def test_failure_mid_extraction_sends_no_items_file_and_clears_nothing(small_pages_world):
    world = small_pages_world
    assert world.sync().exit_code == 0
    before_items, before_clients = (
        world.ledger_all(),
        world.http.get(f"{world.dso_srv.url}/ledger/clients").json(),
    )
    world.dyn.advance(10)
    world.dyn.faults = {"error_rate": 1, "error_status": 500, "tables": ["debtor_invoice"], "after": 1}
    result = world.sync()
    assert (result.status, result.exit_code) == ("failed", 1)
    assert "no item was sent or cleared" in result.error and "debtor_invoice" in result.error
    assert world.dyn.credentials.api_key not in result.error
    assert world.ledger_all() == before_items
    # the master data went while the items were read (they never clear anything) and are recorded
    assert world.http.get(f"{world.dso_srv.url}/ledger/clients").json() == before_clients
    with SqliteStateStore(world.config.state_path) as state:
        assert [r["kind"] for r in state.reports(result.run_id)] == ["clients", "contacts"]
        assert state.run(result.run_id).status == "failed"
    world.dyn.faults = {}
    world.dso.today = world.dyn.today
    again = world.sync()
    assert again.exit_code == 0, again.error
    assert world.ledger() == world.dynaccount_open()


KILLER = """
import os, sys
from datetime import date
from dsobridge.sync.config import load_config
from dsobridge.sync.delivery import Endpoints
from dsobridge.sync.engine import SyncEngine, SyncOptions
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.state import SqliteStateStore

config = load_config(sys.argv[1])
def kill(label):
    if label == "items":
        os._exit(137)  # killed after My DSO Manager accepted the file, before the state commit
with Endpoints(config) as ends, SqliteStateStore(config.state_path) as state:
    engine = SyncEngine(ends.source, ends.sink, state, mapper=Mapper(config.mapping), page_size=100,
                        today=date.fromisoformat(sys.argv[2]), after_delivery=kill)
    engine.run(SyncOptions(mode="delta"))
sys.exit(3)
"""


def test_run_killed_between_delivery_and_commit_is_followed_by_a_correct_run(world):
    assert world.sync().exit_code == 0
    world.dyn.advance(20)
    world.dso.today = world.dyn.today
    expected = world.dynaccount_open()
    env = {**os.environ, **world.env}
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(world.config_path), world.dyn.today.isoformat()],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 137, proc.stderr.decode()
    assert world.ledger() == expected  # the file landed ...
    with SqliteStateStore(world.config.state_path) as state:
        assert [r.status for r in state.runs()] == ["running", "success"]  # ... the state did not advance
    result = world.sync(mode="delta")
    assert (result.status, result.exit_code) == ("success", 0), result.error
    items = next(f for f in result.files if f.label == "items")
    assert items.rows > 0 and items.added == 0  # re-sent, recognised, nothing new: no amount doubled
    assert world.ledger() == expected
    with SqliteStateStore(world.config.state_path) as state:
        assert [r.status for r in state.runs()] == ["success", "interrupted", "success"]
    quiet = world.sync(mode="delta")
    assert quiet.exit_code == 0 and all(f.rows == 0 for f in quiet.files)


KILL_AT = """
import os, sys
from datetime import date
from dsobridge.sync.config import load_config
from dsobridge.sync.delivery import Endpoints
from dsobridge.sync.engine import SyncEngine, SyncOptions
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.state import SqliteStateStore

config, today, point = load_config(sys.argv[1]), date.fromisoformat(sys.argv[2]), sys.argv[3]
die = lambda: os._exit(137)
with Endpoints(config) as ends, SqliteStateStore(config.state_path) as state:
    deliver = ends.sink.deliver
    def sink_deliver(file):
        if point == "before-items" and file.kind == "items" and file.stock:
            die()  # clients and contacts are accepted (and recorded or being recorded); items never sent
        return deliver(file)
    ends.sink.deliver = sink_deliver

    class Dying:  # the state's connection, dying inside the transaction that records the STOCK file
        def __init__(self, db):
            self.db, self.stock = db, False
        def execute(self, sql, *args):
            if point == "during-commit" and self.stock and sql.startswith("INSERT INTO reports"):
                die()
            return self.db.execute(sql, *args)
        def __getattr__(self, name):
            return getattr(self.db, name)

    state.db = dying = Dying(state.db)
    commit = state.commit_file
    def commit_file(run_id, accepted):
        dying.stock = accepted.stock
        return commit(run_id, accepted)
    state.commit_file = commit_file
    after = (lambda label: die() if label == "items" else None) if point == "after-items" else None
    engine = SyncEngine(ends.source, ends.sink, state, mapper=Mapper(config.mapping), page_size=100,
                        today=today, after_delivery=after)
    print(engine.run(SyncOptions(mode="stock")).error, file=sys.stderr)
sys.exit(3)
"""


@pytest.mark.parametrize("point", ["before-items", "after-items", "during-commit"])
def test_stock_run_killed_at_any_point_is_followed_by_a_correct_run(world, point):
    """Killed before the STOCK items file is sent, after it was accepted but before its state commit, or
    inside that commit: the next STOCK run leaves the destination equal to Dynaccount, every item settled
    since the first run carries the date of its last match, and a DELTA after it has nothing to send."""
    assert world.sync().exit_code == 0
    open_first = set(world.ledger())
    world.dyn.advance(10)  # within the drop guard's 30 %
    world.dso.today = world.dyn.today
    expected = world.dynaccount_open()
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT, str(world.config_path), world.dyn.today.isoformat(), point],
        env={**os.environ, **world.env},
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 137, proc.stderr.decode()
    with SqliteStateStore(world.config.state_path) as state:
        assert [r.status for r in state.runs()] == ["running", "success"]
        recorded_open = {item_key_text(k) for k, _ in state.open_items()}
    # the STOCK items file was not recorded: only the settled file sent before it may have been
    assert recorded_open in (open_first, open_first & set(expected))
    assert (world.ledger() == expected) is (point != "before-items")
    result = world.sync()
    assert (result.status, result.exit_code) == ("success", 0), result.error
    assert world.ledger() == expected
    settled = open_first - set(expected)
    dates = world.latest_match_dates()
    rows = {r[0]: r for r in world.ledger_all()}
    assert settled and {k: (Decimal(rows[k][1]), rows[k][2]) for k in settled} == {
        k: (Decimal("0"), dates[k]) for k in settled
    }
    with SqliteStateStore(world.config.state_path) as state:
        assert [r.status for r in state.runs()] == ["success", "interrupted", "success"]
        assert state.count("items", open_only=True) == len(expected)
    quiet = world.sync(mode="delta")
    assert quiet.exit_code == 0 and all(f.rows == 0 for f in quiet.files)


def _documents_above(world, numbers):
    """Booked invoices and credit notes numbered above ``numbers[table]``: key → (signed total, issued)."""
    out = {}
    with Endpoints(world.config) as ends:
        for table, kind, sign in (("debtor_invoice", "INVOICE", 1), ("debtor_creditnote", "CREDITNOTE", -1)):
            for row in ends.source.iter_rows(table, where={"is_booked": "YES"}):
                if int(row["invoice_id_"]) > numbers[table]:
                    out[f"{kind}-{row['invoice_id_']}"] = (
                        sign * Decimal(row["total_amount"]),
                        row["time"][:10],
                    )
    return out


def _top_numbers(world):
    with Endpoints(world.config) as ends:
        return {
            table: max((int(r["invoice_id_"]) for r in ends.source.iter_rows(table)), default=0)
            for table in ("debtor_invoice", "debtor_creditnote")
        }


@pytest.mark.parametrize("mode", ["delta", "stock"])
def test_documents_issued_and_settled_between_syncs_reach_the_ledger_and_dso_agrees(small_pages_world, mode):
    """After STOCK (+ history), 30 days, DELTA (or STOCK): every invoice and credit note issued since the
    first run is in the ledger — open or settled — with its amount and payment date; so the ledger's DSO
    equals Dynaccount's."""
    from dsobridge.receivables import dso
    from dsobridge.sync.measures import currencies, receivable_items

    world = small_pages_world
    first = world.sync(mode="stock", history_months=6)
    assert first.exit_code == 0, first.error
    top = _top_numbers(world)
    with SqliteStateStore(world.config.state_path) as state:
        assert {k: v for k, v in state.marks().items() if k != "debtor_invoice_match"} == top
    world.dyn.advance(30)
    world.dso.today = world.dyn.today
    second = world.sync(mode=mode, force=True)  # 30 days may settle more than the drop guard's 30 %
    assert (second.status, second.exit_code) == ("success", 0), second.error
    issued = _documents_above(world, top)
    open_now = world.dynaccount_open()
    dates = world.latest_match_dates()
    settled_between = {k for k in issued if k not in open_now}
    assert any(k.startswith("CREDITNOTE-") for k in settled_between)
    assert sum(k.startswith("INVOICE-") for k in settled_between) >= 10  # never open at a sync (14, seed 7)
    response = world.http.get(f"{world.dso_srv.url}/ledger/items", params={"status": "all"})
    rows = {r["item_key"]: r for r in response.json()["items"]}
    got = {
        k: (Decimal(rows[k]["amount_initial"]), rows[k]["issue_date"], Decimal(rows[k]["amount_open"]),
            rows[k]["payment_date"])
        for k in issued if k in rows
    }  # fmt: skip
    want = {
        k: (total, day, open_now.get(k, Decimal("0.00")), None if k in open_now else dates[k])
        for k, (total, day) in issued.items()
    }
    assert got == want
    with SqliteStateStore(world.config.state_path) as state:
        assert {k: v for k, v in state.marks().items() if k != "debtor_invoice_match"} == _top_numbers(world)
    # the ledger's DSO (computed from what was delivered) equals the DSO computed from Dynaccount
    with Endpoints(world.config) as ends:
        items = receivable_items(ends.source)
    today = world.dyn.today
    for currency in currencies(items):
        mine = dso(items, today, currency)
        body = world.http.get(
            f"{world.dso_srv.url}/ledger/dso", params={"as_of": today.isoformat(), "currency": currency}
        ).json()
        assert (body["receivables"], body["countback_dso"], body["best_possible_dso"]["countback"]) == (
            str(mine.receivables),
            str(mine.countback.days),
            str(mine.best_countback.days),
        ), currency
    quiet = world.sync(mode="delta")
    assert quiet.exit_code == 0 and all(f.rows == 0 for f in quiet.files)
