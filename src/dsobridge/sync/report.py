"""Run results and past runs: rich tables on a terminal, plain lines otherwise, JSON for machines.

Nothing here ever prints a secret: results and run records hold none.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from dsobridge.sync.engine import RunResult
from dsobridge.sync.state import RunRecord

_COUNTS = ("rows", "added", "updated", "unchanged", "cleared", "rejected")


def result_table(result: RunResult) -> Table:
    title = f"sync run {result.run_id or '-'} · {result.mode.upper()} · {result.status}"
    table = Table(title=title, title_justify="left")
    table.add_column("file")
    table.add_column("mode")
    for name in _COUNTS:
        table.add_column(name if name != "rows" else "sent", justify="right")
    for f in result.files:
        if not f.rows and not f.sent:
            continue
        cells = [str(getattr(f, n)) if f.sent or n == "rows" else "-" for n in _COUNTS]
        table.add_row(f.label, f.mode or "", *cells)
    return table


def summary_lines(result: RunResult) -> list[str]:
    lines = []
    if result.balance_checked:
        if result.balance_ok:
            lines.append(f"balance check: OK ({result.balance_checked} debtors, Σ open items = balance)")
        else:
            lines.append(f"balance check: {len(result.mismatches)} debtor(s) disagree")
            for m in result.mismatches[:10]:
                lines.append(f"  debtor {m.debtor}: balance {m.balance}, open items {m.open_items}")
    lines.append(f"open items: {result.open_count} (Σ|remaining| {result.open_total})")
    if result.excluded_debtors:
        lines.append(f"excluded debtors: {result.excluded_debtors}")
    if result.requests is not None:
        lines.append(f"Dynaccount requests: {result.requests}")
    lines.append(f"duration: {result.duration:.2f} s")
    lines.extend(result.messages[:20])
    if result.error:
        lines.append(f"error: {result.error}")
    return lines


def print_result(result: RunResult, console: Console, *, as_json: bool = False) -> None:
    if as_json:
        console.print_json(json.dumps(result.to_json(), default=str))
        return
    if console.is_terminal:
        console.print(result_table(result))
    else:
        console.print(
            f"run {result.run_id} mode={result.mode} status={result.status} exit={result.exit_code}",
            soft_wrap=True,
        )
        for f in result.files:
            if f.rows or f.sent:
                counts = " ".join(f"{n}={getattr(f, n)}" for n in _COUNTS)
                console.print(f"{f.label} {f.mode or '-'} {counts}", soft_wrap=True)
    for line in summary_lines(result):
        console.print(line, soft_wrap=True, highlight=False, markup=False)


def run_json(run: RunRecord) -> dict[str, Any]:
    data = dict(vars(run))
    data["open_total"] = None if run.open_total is None else str(run.open_total)
    return data


def runs_table(runs: list[RunRecord]) -> Table:
    table = Table(title="sync runs", title_justify="left")
    for name in (
        "run",
        "started",
        "ended",
        "mode",
        "status",
        "exit",
        "items sent",
        "cleared",
        "open items",
        "error",
    ):
        table.add_column(name)
    for r in runs:
        sent = sum(v.get("rows", 0) for k, v in r.counts.items() if k.startswith("items"))
        cleared = sum(v.get("cleared", 0) for v in r.counts.values())
        table.add_row(
            str(r.id),
            r.started_at,
            r.ended_at or "",
            r.mode + (" (dry)" if r.dry_run else ""),
            r.status,
            "" if r.exit_code is None else str(r.exit_code),
            str(sent),
            str(cleared),
            "" if r.open_count is None else str(r.open_count),
            (r.error or "")[:60],
        )
    return table


def print_runs(runs: list[RunRecord], console: Console, *, as_json: bool = False) -> None:
    if as_json:
        console.print_json(json.dumps([run_json(r) for r in runs], default=str))
    elif console.is_terminal:
        console.print(runs_table(runs))
    else:
        for r in runs:
            sent = sum(v.get("rows", 0) for k, v in r.counts.items() if k.startswith("items"))
            cleared = sum(v.get("cleared", 0) for v in r.counts.values())
            console.print(
                f"{r.id} {r.started_at} {r.ended_at or '-'} {r.mode}{' (dry)' if r.dry_run else ''}"
                f" {r.status} exit={r.exit_code} items_sent={sent} cleared={cleared} open={r.open_count}"
                + (f" error={r.error}" if r.error else ""),
                soft_wrap=True,
                highlight=False,
                markup=False,
            )


def print_run(
    run: RunRecord, reports: list[dict[str, Any]], console: Console, *, as_json: bool = False
) -> None:
    if as_json:
        console.print_json(json.dumps({"run": run_json(run), "reports": reports}, default=str))
        return
    print_runs([run], console)
    if run.mismatches:
        console.print(f"balance mismatches: {len(run.mismatches)}", highlight=False)
        for debtor, balance, items in run.mismatches[:20]:
            console.print(f"  debtor {debtor}: balance {balance}, open items {items}", highlight=False)
    table = Table(title=f"delivery reports of run {run.id}", title_justify="left")
    for name in ("file", "mode", "rows", "added", "updated", "unchanged", "cleared", "rejected", "delivered"):
        table.add_column(name)
    for rep in reports:
        body = rep["report"]
        table.add_row(
            rep["kind"],
            rep["mode"],
            str(rep["rows"]),
            *(str(body.get(n, "")) for n in ("added", "updated", "unchanged", "cleared", "rejected")),
            rep["delivered_at"],
        )
    if console.is_terminal:
        console.print(table)
    else:
        for rep in reports:
            body = rep["report"]
            counts = " ".join(
                f"{n}={body.get(n, '')}" for n in ("added", "updated", "unchanged", "cleared", "rejected")
            )
            console.print(f"{rep['kind']} {rep['mode']} rows={rep['rows']} {counts}", highlight=False)
    for rep in reports:
        for rejected in (rep["report"].get("rejected_rows") or [])[:20]:
            console.print(f"  {rep['kind']} rejected: {rejected}", highlight=False, markup=False)
