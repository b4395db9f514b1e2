"""``dsobridge report``, ``history`` and ``show`` as a user sees them, on the sandboxes over loopback.

On a terminal (``TTY_COMPATIBLE=1``, ``COLUMNS``) every amount is printed whole, with thousands separators;
off a terminal the lines are those cron mail and grep scripts already read; times are local with the offset.
"""

from __future__ import annotations

import json
import re
import time
from datetime import date, datetime
from decimal import Decimal

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from dsobridge.cli import cli
from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox
from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.terminal import format_money

TODAY = date(2026, 11, 20)
PASSWORD = "report-password-0452"
COPENHAGEN = "CET-1CEST,M3.5.0,M10.5.0/3"  # a POSIX rule: no tz database needed
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.fixture
def ends(tmp_path, sync_config):
    dyn = DynaccountSandbox(tmp_path / "dyn.sqlite3", today=TODAY)
    dso = MyDsoSandbox(tmp_path / "dso.sqlite3", accounts={"acme": PASSWORD}, today=TODAY)
    dyn.seed(debtors=40, invoices=600, seed=4)
    with LoopbackServer(dyn.app) as dyn_srv, LoopbackServer(dso.app) as dso_srv:
        config, secrets = sync_config(tmp_path, dyn, dyn_srv.url, dso_srv.url, PASSWORD)
        yield {"DSOBRIDGE_CONFIG": str(config), **secrets}
    dyn.close()
    dso.close()


@pytest.fixture
def copenhagen(monkeypatch):
    monkeypatch.setenv("TZ", COPENHAGEN)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def run(args, env, *, width: int | None = None):
    extra = {"TTY_COMPATIBLE": "1", "COLUMNS": str(width), "NO_COLOR": "1"} if width else {}
    result = CliRunner().invoke(cli, args, env={**env, **extra}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return ANSI.sub("", result.output)


def amounts(figures: list[dict]) -> list[Decimal]:
    out = []
    for f in figures:
        values = [*f.get("buckets", {}).values(), f.get("unallocated_credits"), f.get("total")]
        values += [f.get("receivables"), f.get("current_receivables")]
        out += [Decimal(v) for v in values if v is not None]
    return out


@pytest.mark.parametrize("width", [60, 80, 130])
@pytest.mark.parametrize("what", ["aging", "dso"])
def test_terminal_tables_print_every_amount_whole(ends, what, width):
    figures = json.loads(run(["report", what, "--as-of", "2026-11-20", "--json"], ends))
    wanted = [format_money(a) for a in amounts(figures)]
    assert any(len(w) >= 12 for w in wanted)  # six-figure amounts and more: 123,456.78
    text = run(["report", what, "--as-of", "2026-11-20"], ends, width=width)
    lines = text.splitlines()
    assert "━" in text and "…" not in text
    assert all(cell_len(line.rstrip()) <= width for line in lines), text
    for amount in wanted:
        assert re.search(rf"(?<![\d,.]){re.escape(amount)}(?![\d,])", text), (amount, text)


def test_plain_report_lines_are_unchanged(ends):
    """Off a terminal: the title, then ``column=value`` with the amounts as they are (no separators)."""
    figures = json.loads(run(["report", "aging", "--as-of", "2026-11-20", "--json"], ends))
    lines = run(["report", "aging", "--as-of", "2026-11-20"], ends).splitlines()
    assert lines[0] == "aging by due date as of 2026-11-20"
    for f, line in zip(figures, lines[1:], strict=True):
        b = f["buckets"]
        assert re.fullmatch(
            rf"currency={f['currency']} Not_due={b['not_due']} 1–30={b['1_30']} 31–60={b['31_60']}"
            rf" 61–90={b['61_90']} >_90={b['over_90']} unallocated_credits={f['unallocated_credits']}"
            rf" total={f['total']} overdue_%=[\d.]* items={f['items']}",
            line.replace("+", r"\+"),
        ), line
    dso = run(["report", "dso", "--as-of", "2026-11-20"], ends).splitlines()
    assert dso[0] == "DSO as of 2026-11-20"
    assert all(
        re.fullmatch(r"currency=\w+ receivables=-?\d+\.\d\d .*countback_DSO=≥?[\d.]+d .*", x) for x in dso[1:]
    )


def test_history_and_show_print_local_times_with_the_offset(ends, copenhagen):
    CliRunner().invoke(cli, ["sync", "--dry-run"], env=ends, catch_exceptions=False)
    runs = json.loads(run(["history", "--json"], ends))
    started = runs[0]["started_at"]
    assert started.endswith("+00:00")  # JSON keeps the stored ISO 8601 instant
    here = datetime.fromisoformat(started).astimezone()  # in TZ: CET (+01:00) or, in summer, CEST (+02:00)
    offset = f"{here:%z}"[:3] + ":" + f"{here:%z}"[3:]
    assert offset in ("+01:00", "+02:00")
    plain = run(["history"], ends).splitlines()[0].split()
    assert plain[1] == f"{here:%Y-%m-%dT%H:%M:%S}{offset}"  # one token per time: the fields stay in place
    assert plain[3:5] == ["stock", "(dry)"]
    assert f"{here:%Y-%m-%d %H:%M:%S} {offset}" in run(["history"], ends, width=130)
    show = " ".join(run(["show", str(runs[0]["id"])], ends, width=80).split())
    assert f"{here:%Y-%m-%d %H:%M:%S} {offset}" in show
    assert run(["show", str(runs[0]["id"])], ends).split()[1] == f"{here:%Y-%m-%dT%H:%M:%S}{offset}"
