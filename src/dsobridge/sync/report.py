"""Run results and past runs: rich tables on a terminal, plain lines otherwise, JSON for machines.

Nothing here ever prints a secret: results and run records hold none.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rich.console import Console
from rich.table import Table

from dsobridge.sync.run import RunResult
from dsobridge.sync.state import RunRecord
from dsobridge.terminal import COUNT, FIGURE, Column, Grid, format_count, format_money, local_time

log = logging.getLogger("dsobridge.sync")

_COUNTS = ("rows", "added", "updated", "unchanged", "cleared", "rejected")


def result_table(result: RunResult) -> Table:
    scope = "" if result.scope == "full" else f" · {result.scope}"
    title = f"sync run {result.run_id or '-'} · {result.mode.upper()}{scope} · {result.status}"
    table = Table(title=title, title_justify="left")
    table.add_column("file")
    table.add_column("mode")
    planned = not any(f.sent for f in result.files)
    names = ("rows", "new", "changed") if planned else _COUNTS
    for name in names:
        table.add_column(name if name != "rows" else ("rows" if planned else "sent"), justify="right")
    for f in result.files:
        if not f.rows and not f.sent:
            continue
        cells = [str(getattr(f, n)) if f.sent or n in ("rows", "new", "changed") else "-" for n in names]
        table.add_row(f.label, f.mode or "", *cells)
    return table


def summary_lines(result: RunResult) -> list[str]:
    """What the run did (or, failed, what it did before failing): never a count it did not establish."""
    lines = []
    if result.balance_checked:
        if result.balance_ok:
            lines.append(f"balance check: OK ({result.balance_checked} debtors, Σ open items = balance)")
        else:
            lines.append(f"balance check: {len(result.mismatches)} debtor(s) disagree")
            for m in result.mismatches[:10]:
                lines.append(f"  debtor {m.debtor}: balance {m.balance}, open items {m.open_items}")
    if result.extracted:
        per_currency = ", ".join(f"{c} {format_money(v)}" for c, v in sorted(result.open_by_currency.items()))
        lines.append(f"open items: {format_count(result.open_count)} (Σ|remaining| {per_currency or 0})")
    else:
        lines.append("open items: not established (the run stopped before the extraction ended)")
    if result.clearings:
        reasons: dict[str, int] = {}
        for c in result.clearings:
            reasons[c.reason or "?"] = reasons.get(c.reason or "?", 0) + 1
        lines.append("cleared: " + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items())))
    sent = [f for f in result.files if f.sent]
    if result.status in ("failed", "refused", "interrupted"):
        if sent:
            lines.append(
                "delivered before it stopped: " + ", ".join(f"{f.label} ({f.rows} rows)" for f in sent)
            )
        else:
            lines.append("nothing was delivered")
    if result.excluded_debtors:
        lines.append(f"excluded debtors: {result.excluded_debtors}")
    if result.requests is not None:
        lines.append(f"Dynaccount requests: {result.requests}")
    lines.append(f"duration: {result.duration:.2f} s")
    return lines


def clearing_lines(result: RunResult, *, limit: int | None = 50) -> list[str]:
    """Each clearing with its reason (a plan shows them all up to ``limit``), then the unexplained ones."""
    out = []
    shown = result.clearings if limit is None else result.clearings[:limit]
    for c in shown:
        out.append(
            f"clear {c.key} (client {c.client}, open {format_money(c.remaining)} {c.currency}): {c.why}"
        )
    if limit is not None and len(result.clearings) > limit:
        out.append(f"… and {len(result.clearings) - limit} more clearing(s) (--json lists them all)")
    for c in result.unexplained[: limit or None]:
        open_amount = f"{format_money(c.remaining)} {c.currency}"
        out.append(f"NOT EXPLAINED {c.key} (client {c.client}, open {open_amount}): {c.why}")
    return out


def print_result(result: RunResult, console: Console, *, as_json: bool = False) -> None:
    """Results on ``console`` (stdout); the run's warnings and its error go to the log (stderr), as lines
    with the time, the company and the run."""
    for line in result.messages:
        log.warning("%s", line)
    if result.error:
        log.error("%s", result.error)
    if as_json:
        console.print_json(json.dumps(result.to_json(), default=str))
        return
    if console.is_terminal:
        console.print(result_table(result))
    else:
        console.print(
            f"run {result.run_id} mode={result.mode} scope={result.scope} status={result.status}"
            f" exit={result.exit_code}",
            soft_wrap=True,
        )
        for f in result.files:
            if f.rows or f.sent:
                counts = " ".join(f"{n}={getattr(f, n)}" for n in _COUNTS)
                console.print(
                    f"{f.label} {f.mode or '-'} {counts} new={f.new} changed={f.changed}", soft_wrap=True
                )
    plan = result.status == "plan"
    for line in [*summary_lines(result), *clearing_lines(result, limit=None if plan else 20)]:
        console.print(line, soft_wrap=True, highlight=False, markup=False)


def run_json(run: RunRecord) -> dict[str, Any]:
    """A run for machines: times as stored (ISO 8601 with their offset, UTC), amounts as strings."""
    data = dict(vars(run))
    data["open_total"] = None if run.open_total is None else str(run.open_total)
    return data


def sent_and_cleared(run: RunRecord) -> tuple[int, int]:
    """Rows of the run's item files (invoices, credit notes, payments, settlements) My DSO Manager took, and
    the items the run cleared."""
    sent = sum(int(v.get("rows", 0)) for k, v in run.counts.items() if k.startswith("items"))
    cleared = sum(int(v.get("cleared", 0)) for v in run.counts.values())
    return sent, cleared


def runs_table(runs: list[RunRecord]) -> Grid:
    """Past runs for a terminal: times in the local zone, counts with thousands separators."""
    table = Grid(
        "sync runs",
        [
            Column("run", FIGURE),
            Column("started"),
            Column("ended", drop=1),
            Column("mode"),
            Column("status"),
            Column("exit", FIGURE, drop=3),
            Column("items sent", COUNT),
            Column("cleared", COUNT, drop=2),
            Column("open items", COUNT, drop=4),
            Column("error"),
        ],
    )
    for r in runs:
        sent, cleared = sent_and_cleared(r)
        table.add_row(
            r.id,
            local_time(r.started_at),
            local_time(r.ended_at),
            r.mode + (" (dry)" if r.dry_run else ""),
            r.status,
            r.exit_code,
            sent,
            cleared,
            r.open_count,
            r.error or "",
        )
    return table


def print_runs(runs: list[RunRecord], console: Console, *, as_json: bool = False) -> None:
    """Past runs: JSON, a table on a terminal, else one line per run
    (``id started ended mode status exit=… items_sent=… cleared=… open=… [error=…]``, times local, one token
    each)."""
    if as_json:
        console.print_json(json.dumps([run_json(r) for r in runs], default=str))
    elif console.is_terminal:
        console.print(runs_table(runs))
    else:
        for r in runs:
            sent, cleared = sent_and_cleared(r)
            console.print(
                f"{r.id} {local_time(r.started_at, plain=True)} {local_time(r.ended_at, plain=True) or '-'}"
                f" {r.mode}{' (dry)' if r.dry_run else ''}"
                f" {r.status} exit={r.exit_code} items_sent={sent} cleared={cleared} open={r.open_count}"
                + (f" error={r.error}" if r.error else ""),
                soft_wrap=True,
                highlight=False,
                markup=False,
            )


#: The counts of a delivery report, in the order they are shown.
REPORT_COUNTS = ("added", "updated", "unchanged", "cleared", "rejected")


def reports_table(run: RunRecord, reports: list[dict[str, Any]]) -> Grid:
    """The delivery reports of a run for a terminal (delivery times in the local zone)."""
    columns = [Column("file"), Column("mode"), Column("rows", COUNT)]
    columns += [Column(name, COUNT) for name in REPORT_COUNTS]
    table = Grid(f"delivery reports of run {run.id}", [*columns, Column("delivered", drop=1)])
    for rep in reports:
        body = rep["report"]
        table.add_row(
            rep["kind"],
            rep["mode"],
            rep["rows"],
            *(body.get(n, "") for n in REPORT_COUNTS),
            local_time(rep["delivered_at"]),
        )
    return table


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
    if console.is_terminal:
        console.print(reports_table(run, reports))
    else:
        for rep in reports:
            body = rep["report"]
            counts = " ".join(f"{n}={body.get(n, '')}" for n in REPORT_COUNTS)
            console.print(f"{rep['kind']} {rep['mode']} rows={rep['rows']} {counts}", highlight=False)
    for rep in reports:
        for rejected in (rep["report"].get("rejected_rows") or [])[:20]:
            console.print(f"  {rep['kind']} rejected: {rejected}", highlight=False, markup=False)
