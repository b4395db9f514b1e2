"""One sync run, as a sequence of named stages:

    extract → open-item rule → map      dsobridge.sync.collect   (into the run's files, on disk)
    plan: what to send, why each clears  dsobridge.sync.plan      (+ clearing, guards)
    deliver → record                     dsobridge.sync.deliver   (one state transaction per accepted file)

A full STOCK run, a DELTA run and a targeted delta (a few debtors, after a webhook) are the same stages over
different scopes. The engine takes the run lock, records the run, runs the stages and turns their outcome
into a :class:`RunResult`; on Ctrl-C / SIGTERM it marks the run ``interrupted``, releases the lock and
deletes the run's files before letting the interrupt through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date
from decimal import Decimal

from dsobridge.logs import bind_context
from dsobridge.mydso.csvfile import CsvOptions
from dsobridge.sync.collect import collect
from dsobridge.sync.deliver import MasterData, Sink, deliver, export, file_results
from dsobridge.sync.extract import ExtractionError, RowSource
from dsobridge.sync.guards import GuardRefusal
from dsobridge.sync.linefile import RunFiles
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.plan import make_plan, master_files
from dsobridge.sync.run import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    FileResult,
    NoProgress,
    Progress,
    RunContext,
    RunResult,
    SyncOptions,
)
from dsobridge.sync.state import Identity, Locked, RunOutcome, StateStore

log = logging.getLogger("dsobridge.sync")


class SyncEngine:
    """Runs syncs from a row source (the Dynaccount client) to a sink (My DSO Manager), with a state store."""

    def __init__(
        self,
        source: RowSource,
        sink: Sink,
        state: StateStore,
        *,
        mapper: Mapper | None = None,
        page_size: int = 1000,
        max_drop: Decimal = Decimal("0.30"),
        today: date | None = None,
        progress: Progress | None = None,
        lock_timeout: float = 0.0,
        after_delivery: Callable[[str], None] | None = None,
        prefetch: bool = True,
        select: bool = True,
        identity: Identity | None = None,
        csv_options: Callable[[str, tuple[str, ...]], CsvOptions] | None = None,
    ) -> None:
        self.source = source
        self.sink = sink
        self.state = state
        self.mapper = mapper or Mapper()
        self.page_size = page_size
        self.max_drop = max_drop
        self.today = today
        self.progress = progress or NoProgress()
        self.lock_timeout = lock_timeout
        self.after_delivery = after_delivery  # test hook: called after a file is accepted, before its record
        self.prefetch = prefetch  # read Dynaccount pages a little ahead in a background thread
        self.select = select  # ask Dynaccount only for the fields the mapping reads (select=)
        self.identity = identity  # whose state this must be (checked before anything else)
        self.csv_options = csv_options or (lambda kind, columns: CsvOptions(columns=columns))

    def run(self, options: SyncOptions | None = None) -> RunResult:
        options = options or SyncOptions()
        _check(options)
        started = time.monotonic()
        result = RunResult(
            run_id=None,
            mode=options.mode,
            status="failed",
            exit_code=EXIT_FAILED,
            scope=options.scope.describe(),
        )
        if self.identity is not None:
            self.state.bind(self.identity)  # StateMismatch: another company's state (exit 2, by the caller)
        try:
            self.state.acquire_lock(timeout=self.lock_timeout)
        except Locked as exc:
            result.status, result.exit_code, result.error = "refused", EXIT_REFUSED, str(exc)
            result.error_kind = "state_locked"
            return result
        try:
            result.run_id = self.state.start_run(
                options.mode,
                scope=options.scope.describe(),
                dry_run=not options.sends,
                history_months=options.history_months,
            )
            with bind_context(run_id=result.run_id):
                log.info("%s run %s started (%s)", options.mode.upper(), result.run_id, result.scope)
                self._attempt(options, result, started)
                log.info("run %s ended: %s (exit %s)", result.run_id, result.status, result.exit_code)
        finally:
            self.state.release_lock()
        return result

    def _attempt(self, options: SyncOptions, result: RunResult, started: float) -> None:
        """Run the stages; record how the run ended, whatever ends it (an interrupt is re-raised)."""
        try:
            with ExitStack() as resources:
                self._stages(options, result, resources)
        except ExtractionError as exc:
            _ended(result, "failed", EXIT_FAILED, f"extraction incomplete, no item sent: {exc}", "extraction")
            result.exception = exc
        except GuardRefusal as exc:
            _ended(result, "refused", EXIT_REFUSED, str(exc), "refused")
        except (KeyboardInterrupt, SystemExit) as exc:
            _ended(
                result, "interrupted", _interrupt_code(exc), "interrupted (Ctrl-C or SIGTERM)", "interrupted"
            )
            self._finish(result, started)
            raise
        except Exception as exc:
            _ended(result, "failed", EXIT_FAILED, describe(exc), "unexpected")
            result.exception = exc  # the caller explains it (dsobridge.explain)
        self._finish(result, started)

    def _stages(self, options: SyncOptions, result: RunResult, resources: ExitStack) -> None:
        files = RunFiles()
        resources.callback(files.close)
        resources.callback(self.state.discard_staged)
        ctx = RunContext(
            source=self.source,
            state=self.state,
            mapper=self.mapper,
            options=options,
            today=self.today or date.today(),
            run_id=result.run_id or 0,
            result=result,
            progress=self.progress,
            files=files,
            csv_options=self.csv_options,
            page_size=self.page_size,
            prefetch=self.prefetch,
            select=self.select,
            max_drop=self.max_drop,
        )
        sent = MasterData(ctx, self.sink, self.after_delivery) if options.sends else None
        ready = None if sent is None else (lambda done: sent.start(master_files(ctx, done)))
        try:
            collected = collect(ctx, master_ready=ready)  # extract → open-item rule → map
        except BaseException:
            if sent is not None:  # the master data My DSO Manager accepted meanwhile are recorded
                sent.finish(raise_error=False)
            raise
        if sent is not None:
            sent.finish()
        plan = make_plan(ctx, collected)  # what to send, why each item clears; guards
        result.files = file_results(plan, sent)
        if options.export_dir is not None:
            export(ctx, plan, options.export_dir)
            result.status, result.exit_code = "exported", EXIT_OK
        elif options.plan or options.dry_run:
            result.status, result.exit_code = ("plan" if options.plan else "dry-run"), EXIT_OK
        else:
            deliver(ctx, plan, self.sink, after_delivery=self.after_delivery, sent=sent)  # deliver → record
            result.status, result.exit_code = "success", EXIT_OK

    def _finish(self, result: RunResult, started: float) -> None:
        result.duration = time.monotonic() - started
        result.requests = getattr(self.source, "requests_sent", None)
        self.state.finish_run(
            result.run_id or 0,
            RunOutcome(
                status=result.status,
                exit_code=result.exit_code,
                error=result.error,
                open_count=result.open_count if result.extracted else None,
                open_total=result.open_total if result.extracted else None,
                balance_ok=result.balance_ok if result.extracted else None,
                mismatches=[[m.debtor, str(m.balance), str(m.open_items)] for m in result.mismatches],
                facts={**result.facts, "clearings": _clearing_counts(result)},
            ),
        )


def _check(options: SyncOptions) -> None:
    if options.mode not in ("stock", "delta"):
        raise ValueError(f"mode must be 'stock' or 'delta', not {options.mode!r}")
    if not options.scope.full and options.mode != "delta":
        raise ValueError("a targeted run (some debtors) is a DELTA run")


def _ended(result: RunResult, status: str, code: int, error: str, kind: str) -> None:
    result.status, result.exit_code, result.error, result.error_kind = status, code, error, kind


def _interrupt_code(exc: BaseException) -> int:
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) and code else EXIT_INTERRUPTED


def _clearing_counts(result: RunResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    for clearing in result.clearings:
        counts[clearing.reason or "unexplained"] = counts.get(clearing.reason or "unexplained", 0) + 1
    if result.unexplained:
        counts["unexplained"] = len(result.unexplained)
    return counts


def describe(exc: BaseException) -> str:
    """An error for the run record and the terminal: type and message (clients scrub their own messages)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "FileResult",
    "RunResult",
    "Sink",
    "SyncEngine",
    "SyncOptions",
]
