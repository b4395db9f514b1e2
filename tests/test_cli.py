"""The ``dsobridge`` command line, end to end on the two sandboxes over loopback."""

from __future__ import annotations

import json
import os
import stat
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from dsobridge.cli import cli
from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox
from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.sync.state import SqliteStateStore

TODAY = date(2026, 11, 20)
PASSWORD = "cli-password-0451"


@pytest.fixture
def ends(tmp_path, sync_config):
    dyn = DynaccountSandbox(tmp_path / "dyn.sqlite3", today=TODAY)
    dso = MyDsoSandbox(tmp_path / "dso.sqlite3", accounts={"acme": PASSWORD}, today=TODAY)
    dyn.seed(debtors=25, invoices=300, seed=3)
    with LoopbackServer(dyn.app) as dyn_srv, LoopbackServer(dso.app) as dso_srv:
        config, secrets = sync_config(tmp_path, dyn, dyn_srv.url, dso_srv.url, PASSWORD)
        env = {"DSOBRIDGE_CONFIG": str(config), **secrets}
        yield {"dyn": dyn, "dso": dso, "env": env, "config": config, "tmp": tmp_path}
    dyn.close()
    dso.close()


def run(args, env, **kw):
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False, **kw)
    for secret in (
        env.get("DSOBRIDGE_DYNACCOUNT_API_KEY"),
        env.get("DSOBRIDGE_DYNACCOUNT_API_SECRET"),
        PASSWORD,
    ):
        if secret:
            assert secret not in result.output
    return result


def assert_no_secret_in_our_files(tmp, env):
    """The state store (with its WAL), exports and reports we wrote hold no secret (the sandboxes' own
    databases, which store the credentials they accept, are left out)."""
    secrets = [
        env["DSOBRIDGE_DYNACCOUNT_API_KEY"].encode(),
        env["DSOBRIDGE_DYNACCOUNT_API_SECRET"].encode(),
        PASSWORD.encode(),
    ]
    ours = [p for p in tmp.rglob("*") if p.is_file() and not p.name.startswith(("dyn.", "dso."))]
    assert any(p.name.startswith("state.sqlite3") for p in ours)
    for path in ours:
        data = path.read_bytes()
        assert not any(secret in data for secret in secrets), path


def test_help_lists_the_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("init", "check", "sync", "export", "history", "show", "report", "demo", "webhook"):
        assert f"  {name}" in result.output


def test_init_writes_a_commented_config_and_an_owner_only_secrets_file(tmp_path):
    target = tmp_path / "dsobridge.toml"
    secrets = tmp_path / "private" / "secrets.toml"
    args = [
        "init",
        "--path",
        str(target),
        "--api-id",
        "77",
        "--mydso-login",
        "acme",
        "--secrets-file",
        str(secrets),
    ]
    result = run(args, {})
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert "api_id = 77" in text and 'login = "acme"' in text and "# " in text
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    again = run(args, {})
    assert again.exit_code == 2 and "exists" in again.output


def test_configuration_errors_exit_2(tmp_path):
    result = run(["sync", "--config", str(tmp_path / "missing.toml")], {})
    assert result.exit_code == 2
    assert "config file" in result.output and "not found" in result.output


def test_check_reports_each_end_precisely(ends):
    ok = run(["check"], ends["env"])
    assert ok.exit_code == 0, ok.output
    assert "OK Dynaccount" in ok.output and "OK My DSO Manager" in ok.output and "OK state store" in ok.output
    bad_secret = run(["check", "--json"], {**ends["env"], "DSOBRIDGE_DYNACCOUNT_API_SECRET": "0" * 40})
    assert bad_secret.exit_code == 1
    checks = {c["check"]: c for c in json.loads(bad_secret.stdout)}
    assert checks["Dynaccount"]["ok"] is False and "API_SECRET is wrong" in checks["Dynaccount"]["detail"]
    assert checks["My DSO Manager"]["ok"] is True
    bad_password = run(["check"], {**ends["env"], "DSOBRIDGE_MYDSO_PASSWORD": "nope"})
    assert bad_password.exit_code == 1 and "ACCESS_DENIED" in bad_password.output


def test_sync_history_show_export_and_reports(ends):
    env = ends["env"]
    dry = run(["sync", "--dry-run", "--json"], env)
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.stdout)
    assert planned["status"] == "dry-run" and all(f["sent"] is False for f in planned["files"])

    first = run(["sync", "--history", "6m", "--json"], env)
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert body["status"] == "success" and body["balance"]["ok"] is True
    sent = {f["label"]: f for f in body["files"] if f["sent"]}
    assert set(sent) == {"clients", "contacts", "items", "items (history)"}
    assert sent["items"]["mode"] == "STOCK" and sent["items"]["added"] == body["open_items"]["count"]

    plain = run(["sync", "--mode", "delta"], env)
    assert plain.exit_code == 0, plain.output
    assert (
        "mode=delta scope=full status=success exit=0" in plain.stdout and "balance check: OK" in plain.stdout
    )

    plain_history = run(["history"], env).stdout.splitlines()
    assert [line.split()[3:8] for line in plain_history] == [
        ["delta", "success", "exit=0", "items_sent=0", "cleared=0"],
        [
            "stock",
            "success",
            "exit=0",
            f"items_sent={sum(f['rows'] for k, f in sent.items() if 'items' in k)}",
            "cleared=0",
        ],
        ["stock", "(dry)", "dry-run", "exit=0", "items_sent=0"],
    ]
    history = run(["history", "--json"], env)
    runs = json.loads(history.stdout)
    assert [(r["mode"], r["status"], r["dry_run"]) for r in runs] == [
        ("delta", "success", False),
        ("stock", "success", False),
        ("stock", "dry-run", True),
    ]
    show = run(["show", str(runs[1]["id"]), "--json"], env)
    shown = json.loads(show.stdout)
    assert [r["kind"] for r in shown["reports"]] == ["clients", "contacts", "items", "items"]
    assert shown["reports"][2]["mode"] == "STOCK" and shown["reports"][3]["mode"] == "DELTA"
    assert run(["show", "999"], env).exit_code == 1

    out = ends["tmp"] / "export"
    exported = run(["export", str(out), "--only", "clients,items"], env)
    assert exported.exit_code == 0, exported.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"clients_{date.today():%Y%m%d}.csv", f"items_{date.today():%Y%m%d}.stock.csv"]
    header = (out / names[1]).read_bytes().split(b"\r\n", 1)[0]
    assert header.startswith(b'"client_code";"item_number";"item_type";"item_date_issue"')

    aging = run(["report", "aging", "--as-of", "2026-11-20", "--json"], env)
    assert aging.exit_code == 0, aging.output
    figures = json.loads(aging.stdout)
    dkk = next(f for f in figures if f["currency"] == "DKK")
    assert set(dkk["buckets"]) == {"not_due", "1_30", "31_60", "61_90", "over_90"}
    # the aging is computed from Dynaccount directly: it holds exactly the items the sync found open
    assert sum(f["items"] for f in figures) == body["open_items"]["count"]
    for f in figures:
        parts = [Decimal(v) for v in f["buckets"].values()] + [Decimal(f["unallocated_credits"])]
        assert sum(parts) == Decimal(f["total"])
    plain_aging = run(["report", "aging", "--as-of", "2026-11-20"], env)
    lines = plain_aging.output.splitlines()
    assert lines[0] == "aging by due date as of 2026-11-20" and "┃" not in plain_aging.output
    assert any(line.startswith(f"currency=DKK Not_due={dkk['buckets']['not_due']} ") for line in lines)
    nobody = run(["report", "aging", "--client", "99999"], env)
    assert nobody.exit_code == 0
    assert "no receivables for client 99999 (99999 has no document)" in nobody.output
    dso = run(["report", "dso", "--as-of", "2026-11-20"], env)
    assert dso.exit_code == 0 and "countback_DSO=" in dso.output and "┃" not in dso.output
    assert_no_secret_in_our_files(ends["tmp"], env)


def test_exit_1_on_failure_and_3_on_a_guard(ends):
    env = ends["env"]
    ends["dyn"].faults = {"error_rate": 1, "error_status": 500, "tables": ["debtor"]}
    failed = run(["sync"], env)
    assert failed.exit_code == 1
    assert "reading 'debtor' from Dynaccount failed, no item was sent or cleared" in failed.output
    assert "open items: not established" in failed.stdout and "nothing was delivered" in failed.stdout
    ends["dyn"].faults = {}
    with SqliteStateStore(ends["tmp"] / "state.sqlite3") as other:
        other.acquire_lock()
        refused = run(["sync", "--json"], {**env, "DSOBRIDGE_SYNC__LOCK_TIMEOUT": "0"})
    assert refused.exit_code == 3
    assert "another sync run holds the lock" in json.loads(refused.stdout)["error"]
    assert run(["sync", "--only", "bogus"], env).exit_code == 2
    assert_no_secret_in_our_files(ends["tmp"], env)
