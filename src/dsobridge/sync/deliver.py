"""Stages 5–6 of a run: deliver the planned files in order, and record each one My DSO Manager accepted.

A file goes to the sink (HTTP, ``/apiPutFiles/`` or the FTP drop: ``dsobridge.sync.delivery``) as it lies on
disk; once the service has accepted it (its import report says so), ONE state transaction records the rows
staged for it (minus the rows the service rejected: they are sent again next run), its report and the run's
counts. So the state never runs ahead of My DSO Manager; a run killed between an acceptance and its record
sends the same rows again next time, and items carry ``item_unique_key``, so nothing is doubled.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dsobridge.logs import contextual
from dsobridge.sync.collect import EXTRA, ITEMS
from dsobridge.sync.guards import GuardRefusal
from dsobridge.sync.plan import Plan, PlannedFile
from dsobridge.sync.run import FileResult, RunContext
from dsobridge.sync.state import AcceptedFile

_COUNTS = ("rows", "added", "updated", "unchanged", "cleared", "rejected")


@dataclass(frozen=True)
class OutgoingFile:
    """A complete CSV file on disk, ready to be sent as it is."""

    kind: str  # clients | contacts | users | items
    label: str
    path: Path
    rows: int
    encoding: str
    stock: bool | None = None
    replace_users: bool | None = None


class Sink(Protocol):
    """Where files go: ``dsobridge.sync.delivery.MyDsoSink`` / ``FtpSink`` or a test double. Returns an
    import report (``success, added, updated, unchanged, cleared, rejected, rows, rejected_rows, raw``) and
    raises when the service refuses the file or cannot be reached."""

    def deliver(self, file: OutgoingFile) -> Any: ...


def file_results(plan: Plan, sent: MasterData | None = None) -> list[FileResult]:
    """One result per planned file (those delivered already with their reports)."""
    early = sent.results if sent is not None else {}
    return [early.get(p.label) or _result_of(p) for p in plan.files]


class MasterData:
    """Sends the clients, contacts and users files while the items are still being extracted.

    They are master data: they never clear an item, so they need not wait for the plan — My DSO Manager
    imports them while this process reads Dynaccount. The files My DSO Manager accepted are recorded when
    the extraction ends (:meth:`finish`), whatever happens to the run after that; a refused or failed run may
    therefore have delivered them (never an items file).
    """

    def __init__(self, ctx: RunContext, sink: Sink, after_delivery: Callable[[str], None] | None) -> None:
        self.ctx = ctx
        self.sink = sink
        self.after_delivery = after_delivery
        self.sent: list[tuple[PlannedFile, Any]] = []
        self.results: dict[str, FileResult] = {}
        self.counts: dict[str, Any] = {}
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self, files: list[PlannedFile]) -> None:
        todo = [p for p in files if p.rows]
        for planned in todo:
            planned.file.finish()  # complete on disk before another thread reads it
        self._thread = threading.Thread(
            target=contextual(self._send), args=(todo,), name="dsobridge-master-data", daemon=True
        )
        self._thread.start()

    def _send(self, todo: list[PlannedFile]) -> None:
        try:
            for planned in todo:
                self.sent.append((planned, self.sink.deliver(outgoing(self.ctx, planned))))
        except BaseException as exc:  # raised by finish() in the run's thread
            self.error = exc

    def finish(self, *, raise_error: bool = True) -> None:
        """Wait for the uploads and record every file My DSO Manager accepted (then raise an upload error)."""
        if self._thread is None:
            return
        self._thread.join()
        self._thread = None
        for planned, report in self.sent:
            result = _result_of(planned)
            self.results[planned.label] = result
            _record(self.ctx, planned, result, report, self.counts, self.after_delivery)
        if self.error is not None and raise_error:
            raise self.error


def deliver(
    ctx: RunContext,
    plan: Plan,
    sink: Sink,
    *,
    after_delivery: Callable[[str], None] | None = None,
    sent: MasterData | None = None,
) -> None:
    """Send every non-empty planned file in order (but those ``sent`` already); record each accepted one."""
    done = set(sent.results) if sent is not None else set()
    todo = [p for p in plan.to_send() if p.label not in done]
    items = [p for p in todo if p.kind == "items"]
    marks_with = items[-1] if items else None  # the marks advance with the last items file
    counts: dict[str, Any] = dict(sent.counts) if sent is not None else {}
    for planned in todo:
        _refuse_after_rejected_clients(ctx, planned, counts)
        ctx.progress.stage(f"send {planned.label}")
        report = sink.deliver(outgoing(ctx, planned))
        result = next(f for f in ctx.result.files if f.label == planned.label)
        marks = None
        if planned is marks_with and plan.marks:
            marks = plan.marks
        _record(ctx, planned, result, report, counts, after_delivery, plan=plan, marks=marks)
    if plan.marks and marks_with is None:
        ctx.state.set_marks(plan.marks, ctx.run_id)


def _result_of(planned: PlannedFile) -> FileResult:
    return FileResult(
        label=planned.label,
        kind=planned.kind,
        mode=planned.mode,
        rows=planned.rows,
        new=planned.counts.new,
        changed=planned.counts.changed,
    )


def _record(
    ctx: RunContext,
    planned: PlannedFile,
    result: FileResult,
    report: Any,
    counts: dict[str, Any],
    after_delivery: Callable[[str], None] | None,
    *,
    plan: Plan | None = None,
    marks: dict[str, int] | None = None,
) -> None:
    """Record a file My DSO Manager accepted: its rows but the rejected ones, its report, the run's counts."""
    _fill(result, report)
    counts[planned.label] = {k: getattr(result, k) for k in _COUNTS}
    if after_delivery is not None:
        after_delivery(planned.label)  # test hook: after acceptance, before the record
    rejected = {int(r["line"]) for r in result.rejected_rows if r.get("line")}
    if marks and rejected and plan is not None:
        marks = _lowered(plan, planned, rejected)
    ctx.state.commit_file(
        ctx.run_id,
        AcceptedFile(
            file_no=planned.file_no,
            kind=planned.kind,
            label=planned.label,
            mode=planned.mode or "-",
            report=_report_json(report),
            counts=counts,
            rejected_lines=rejected,
            stock=bool(planned.stock),
            close=plan.forced_closes if plan is not None and planned.stock else (),
            marks=dict(marks) if marks else None,
        ),
    )


def outgoing(ctx: RunContext, planned: PlannedFile) -> OutgoingFile:
    return OutgoingFile(
        kind=planned.kind,
        label=planned.label,
        path=planned.file.finish(),
        rows=planned.rows,
        encoding=planned.file.options.encoding,
        stock=planned.stock,
        replace_users=planned.replace_users,
    )


def _refuse_after_rejected_clients(ctx: RunContext, planned: PlannedFile, counts: dict[str, Any]) -> None:
    rejected = counts.get("clients", {}).get("rejected")
    if planned.stock and rejected and not ctx.options.force:
        raise GuardRefusal(
            f"My DSO Manager rejected {rejected} client row(s): the STOCK items file would clear those "
            "clients' items; refused (see the clients report, or use --force)"
        )


def _lowered(plan: Plan, planned: PlannedFile, rejected: set[int]) -> dict[str, int]:
    """Keep the marks below the documents issued and settled since the last run whose rows were rejected,
    so the next run sends them again."""
    marks = dict(plan.marks)
    if planned.file_no not in (EXTRA, ITEMS):
        return marks
    for line in rejected:
        if line in plan.fresh_lines:
            table, number = plan.fresh_lines[line]
            marks[table] = min(marks.get(table, number - 1), number - 1)
    return marks


def export(ctx: RunContext, plan: Plan, directory: Path) -> None:
    """Write the planned files as they would be sent (owner-only), named like the FTP drop's files."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = f"{ctx.today:%Y%m%d}"
    for planned, result in zip(plan.files, ctx.result.files, strict=True):
        if not planned.rows:
            continue
        suffix = planned.label.replace("items (", "").rstrip(")") if "(" in planned.label else ""
        name = f"{planned.kind}{'-' + suffix if suffix else ''}_{stamp}"
        name += ".stock.csv" if planned.stock else ".csv"
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out, open(planned.file.finish(), "rb") as source:
            shutil.copyfileobj(source, out)
        result.path = str(path)


def _fill(result: FileResult, report: Any) -> None:
    result.sent = True
    for name in _COUNTS:
        value = getattr(report, name, None)
        if isinstance(value, int):
            setattr(result, name, value)
    result.rejected_rows = [
        {
            "line": getattr(r, "line", None),
            "column": getattr(r, "column", None),
            "reason": getattr(r, "reason", None),
        }
        for r in getattr(report, "rejected_rows", []) or []
    ]


def _report_json(report: Any) -> dict[str, Any]:
    raw = getattr(report, "raw", None)
    if isinstance(raw, dict) and raw:
        return raw
    return (
        {k: v for k, v in vars(report).items() if not k.startswith("_")}
        if hasattr(report, "__dict__")
        else {}
    )
