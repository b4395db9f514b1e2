"""``dsobridge mydso send|check`` against the sandbox over loopback."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from dsobridge.cli import cli
from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.mydso import MyDsoSandbox

CLIENTS = b'"client_code";"client_business_name"\r\n"C1";"Firm A"\r\n"C2";"Firm B"\r\n'
ITEMS = (
    b'"client_code";"item_number";"item_type";"item_date_issue";"item_date_due";"item_amount_initial_inc_tax"\r\n'
    b'"C1";"1";"FAC";"2026-01-01";"2026-02-01";"100.00"\r\n'
    b'"C9";"2";"FAC";"2026-01-01";"2026-02-01";"5.00"\r\n'
)


@pytest.fixture
def env(tmp_path):
    sb = MyDsoSandbox(accounts={"acme": "pw-acme"}, today=date(2026, 11, 20))
    with LoopbackServer(sb.app) as server:
        host, port = sb.start_ftp()
        yield {
            "MYDSO_LOGIN": "acme",
            "MYDSO_PASSWORD": "pw-acme",
            "MYDSO_BASE_URL": server.url + "/api/",
            "MYDSO_FTP_HOST": host,
            "MYDSO_FTP_PORT": str(port),
        }
    sb.close()


def run(args, env):
    return CliRunner().invoke(cli, ["mydso", *args], env=env, catch_exceptions=False)


def test_send_over_http_async_and_ftp(tmp_path, env):
    clients = tmp_path / "clients.csv"
    clients.write_bytes(CLIENTS)
    items = tmp_path / "items.csv"
    items.write_bytes(ITEMS)
    result = run(["send", "clients", str(clients), "--json"], env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["added"] == 2
    result = run(["send", "items", str(items), "--stock", "--via", "async", "--json"], env)
    assert result.exit_code == 3  # imported, with a rejected row
    report = json.loads(result.output)
    assert (report["mode"], report["added"], report["rejected"]) == ("STOCK", 1, 1)
    assert report["rejected_rows"] == [{"line": 3, "column": "client_code", "reason": "UNKNOWN_CLIENT"}]
    result = run(["send", "clients", str(clients), "--via", "ftp", "--json"], env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["unchanged"] == 2
    result = run(["send", "clients", str(clients)], env)
    assert result.exit_code == 0 and "imported" in result.output and "pw-acme" not in result.output


def test_send_errors(tmp_path, env):
    empty = tmp_path / "clients.csv"
    empty.write_bytes(b'"client_code";"client_business_name"\r\n')
    result = run(["send", "clients", str(empty), "--json"], env)
    assert result.exit_code == 1 and json.loads(result.output)["error_code"] == "CSV_EMPTY"
    result = run(["send", "clients", str(empty), "--json"], {**env, "MYDSO_PASSWORD": "wrong"})
    assert result.exit_code == 1
    assert json.loads(result.output) == {
        "success": False,
        "error": "AccessDenied",
        "message": "access denied (HTTP 401)",
    }
    result = run(["send", "clients", str(empty)], {**env, "MYDSO_LOGIN": ""})
    assert result.exit_code == 2 and "set MYDSO_LOGIN" in result.output
    result = run(["send", "clients", str(empty), "--stock"], env)
    assert result.exit_code == 2 and "items files only" in result.output


def test_check(tmp_path):
    good = tmp_path / "clients.csv"
    good.write_bytes(CLIENTS)
    result = run(["check", "clients", str(good)], {})
    assert (result.exit_code, result.output) == (0, "clients.csv: ok\n")
    bad = tmp_path / "items.csv"
    bad.write_bytes(
        ITEMS.replace(b'"100.00"', b'"-100.00"').replace(b'"2";', b'"1";').replace(b'"C9"', b'"C1"')
    )
    result = run(["check", "items", str(bad)], {})
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "items.csv: row 1 (line 2), column 'item_amount_initial_inc_tax': "
        "negative amount -100.00 on a FAC (invoice)",
        "items.csv: row 2 (line 3), column 'item_number': "
        "duplicate key (client, type, number, year of issue) within the file",
    ]


def test_send_via_ftp_refuses_a_cafile_without_tls(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from dsobridge.cli import cli

    data = tmp_path / "clients.csv"
    data.write_text('"client_code";"client_business_name"\r\n"C1";"A"\r\n', encoding="utf-8")
    for name, value in {
        "MYDSO_LOGIN": "acme",
        "MYDSO_PASSWORD": "pw",
        "MYDSO_FTP_HOST": "127.0.0.1",
        "MYDSO_FTP_CAFILE": str(tmp_path / "ca.pem"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MYDSO_FTP_TLS", raising=False)
    result = CliRunner().invoke(cli, ["mydso", "send", "clients", str(data), "--via", "ftp"])
    assert result.exit_code == 2
    assert "MYDSO_FTP_CAFILE is set but MYDSO_FTP_TLS is not" in result.output
