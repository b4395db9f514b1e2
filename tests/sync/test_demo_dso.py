"""``dsobridge demo``: the countback DSO the My DSO Manager sandbox ledger computes from what was delivered
equals the one computed from Dynaccount, for every currency, at the DELTA date."""

from __future__ import annotations

import re

from click.testing import CliRunner

from dsobridge.cli import cli


def test_demo_dso_from_the_ledger_equals_the_dso_from_dynaccount(tmp_path) -> None:
    result = CliRunner().invoke(
        cli,
        ["demo", "--debtors", "40", "--invoices", "600", "--workdir", str(tmp_path), "--today", "2026-11-20"],
        input="",
    )
    out = result.output
    assert result.exit_code == 0, out
    lines = re.findall(
        r"countback DSO (\w{3}) as of (\S+): Dynaccount ([\d.]+) d · "
        r"My DSO Manager ledger ([\d.]+) d → (\w+)",
        out,
    )
    assert {c for c, *_ in lines} == {"DKK", "EUR", "USD"}
    assert all(mine == theirs and verdict == "equal" for _, _, mine, theirs, verdict in lines), lines
    assert "DIFFERENT" not in out and re.search(r"done in [\d.]+ s · ledgers agree", out)


def test_demo_without_history_says_why_the_dso_differs(tmp_path) -> None:
    result = CliRunner().invoke(
        cli,
        # five days on, the countback walk reaches months whose settled invoices were never delivered
        [
            "demo",
            "--debtors",
            "40",
            "--invoices",
            "600",
            "--history",
            "0",
            "--days",
            "5",
            "--today",
            "2026-11-20",
            "--workdir",
            str(tmp_path),
        ],
        input="",
    )
    out = result.output
    assert result.exit_code == 0, out
    assert "DIFFERENT" in out
    assert "without --history the ledger lacks the sales of invoices settled before the first sync" in out
