"""Wire a configuration to a run: both ends, the state store, the engine, the explanation and the alerts."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, date, datetime
from typing import Any

from dsobridge.alerts import Alerter
from dsobridge.company import CompanyRef
from dsobridge.explain import explain, explain_refusal
from dsobridge.logs import bind_context
from dsobridge.sync.config import SyncConfig
from dsobridge.sync.delivery import Endpoints, csv_options, identity_of
from dsobridge.sync.engine import SyncEngine
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.run import Progress, RunResult, SyncOptions
from dsobridge.sync.state import SqliteStateStore, StateStore


def run_sync(
    config: SyncConfig,
    options: SyncOptions | None = None,
    *,
    state: StateStore | None = None,
    progress: Progress | None = None,
    today: date | None = None,
    dynaccount_transport: Any = None,
    mydso_transport: Any = None,
    after_delivery: Any = None,
) -> RunResult:
    """One sync run as configured (``options`` default: STOCK, all files).

    ``state``: the company's state store (default: the SQLite file of ``[sync] state``). Raises
    ``StateMismatch`` when that state belongs to another company (nothing is read or sent then). A failed
    run's ``error`` says what went wrong and what to do (``dsobridge.explain``); with ``[alerts]`` URLs, a
    failed or refused run and a stale company alert once per incident.
    """
    options = options or SyncOptions(history_months=0)
    company = CompanyRef.from_config(config)
    with bind_context(company=company), ExitStack() as stack:
        if state is None:
            state = stack.enter_context(SqliteStateStore(config.state_path))
        alerter = alerter_for(config, state, company) if options.sends else None
        if alerter is not None:
            check_staleness(alerter, state, config.alerts.stale_after_hours)
        ends = stack.enter_context(
            Endpoints(config, dynaccount_transport=dynaccount_transport, mydso_transport=mydso_transport)
        )
        engine = SyncEngine(
            ends.source,
            ends.sink,
            state,
            mapper=Mapper(config.mapping, config.users),
            page_size=config.dynaccount.page_size,
            max_drop=config.max_drop,
            today=today,
            progress=progress,
            lock_timeout=config.lock_timeout,
            identity=identity_of(config),
            csv_options=csv_options(config.format),
            after_delivery=after_delivery,
        )
        result = engine.run(options)
        cause = explain_result(result, company)
        if alerter is not None:
            alerter.after_run(result.status, result.run_id, cause)
        return result


def explain_result(result: RunResult, company: CompanyRef) -> Any:
    """Turn a failed run's error into what went wrong and what to do (the same words as ``check``)."""
    if result.status == "refused":
        return explain_refusal(result.error or "refused")
    if result.status != "failed":
        return None
    why = explain(result.exception, company=company) if result.exception is not None else None
    if why is not None:
        result.error, result.error_kind = f"{why.summary} — {why.action}", why.kind
    return why or result.error


def alerter_for(config: SyncConfig, state: StateStore, company: CompanyRef) -> Alerter | None:
    """The alerter of ``[alerts]`` (``None`` without URLs: alerting off)."""
    alerts = config.alerts
    if not alerts.urls:
        return None
    return Alerter(
        list(alerts.urls),
        state,
        company,
        on_failed=alerts.on_failed,
        on_refused=alerts.on_refused,
        on_stale=alerts.on_stale,
    )


def last_success_at(state: StateStore) -> datetime | None:
    """When the last run that delivered (any scope) ended successfully."""
    run = state.last_success(full_scope=False)
    if run is None or not (run.ended_at or run.started_at):
        return None
    moment = datetime.fromisoformat(run.ended_at or run.started_at)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_staleness(alerter: Alerter, state: StateStore, hours: float) -> list[Any]:
    """Alert once when no run has succeeded for ``hours`` (a company that never ran is not stale yet)."""
    if not state.runs(1):
        return []
    return alerter.check_staleness(last_success_at(state), datetime.now(UTC), hours)
