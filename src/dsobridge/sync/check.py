"""``dsobridge check``: both ends, the state store and the freshness of the last success — changing nothing.

Each check is a :class:`dsobridge.explain.CheckResult`; a failure is described by ``dsobridge.explain``
(what is wrong, what to do, a stable kind), the same mapping a failed ``sync`` uses. ``check --json`` makes
it a monitoring probe; run hourly, its freshness check is what alerts (once) when no run has succeeded for
``[alerts] stale_after_hours``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dsobridge.company import CompanyRef
from dsobridge.explain import CheckResult
from dsobridge.sync.config import ConfigError, SyncConfig
from dsobridge.sync.delivery import dynaccount_client, identity_of, mydso_client
from dsobridge.sync.runner import alerter_for, last_success_at
from dsobridge.sync.state import SqliteStateStore, StateMismatch, StateStore, same_company


def _built(make: Any, section: str) -> Any:
    """A client the config describes; a value the client refuses (an API key that is not 40 hex characters,
    a login in the URL) is a configuration error, not an unexpected one."""
    try:
        return make()
    except ValueError as exc:
        raise ConfigError(f"[{section}]: {exc}") from None


def check_endpoints(
    config: SyncConfig, *, dynaccount_transport: Any = None, mydso_transport: Any = None
) -> list[CheckResult]:
    """One ``CheckResult`` for Dynaccount, My DSO Manager and the state store; nothing is changed.

    A failure is described by ``dsobridge.explain`` (what is wrong, what to do, a stable kind), the same
    mapping ``sync`` uses for a failed run.
    """
    from dsobridge.mydso import ImportRejected

    company = CompanyRef.from_config(config)
    checks: list[CheckResult] = []
    dyn = config.dynaccount
    try:
        with _built(lambda: dynaccount_client(dyn, transport=dynaccount_transport), "dynaccount") as client:
            rows = client.get("debtor", limit=(0, 1))
        detail = f"{dyn.base_url} answered a signed {dyn.version} request ({len(rows)} row)"
        checks.append(CheckResult.passed("Dynaccount", detail))
    except Exception as exc:
        checks.append(CheckResult.failed("Dynaccount", exc, company=company))

    md = config.mydso
    try:
        with _built(lambda: mydso_client(md, transport=mydso_transport), "mydso") as dso:
            # a header-only contacts file: authenticated, then refused as CSV_EMPTY; it imports nothing
            dso.import_file("contacts", b'"client_code";"contact_lastname"\r\n')
        checks.append(CheckResult.passed("My DSO Manager", "login accepted"))
    except ImportRejected as exc:
        if exc.error_code == "CSV_EMPTY":
            detail = f"{md.base_url}: login accepted (empty probe file refused as expected)"
            checks.append(CheckResult.passed("My DSO Manager", detail))
        else:
            checks.append(CheckResult.failed("My DSO Manager", exc, company=company))
    except Exception as exc:
        checks.append(CheckResult.failed("My DSO Manager", exc, company=company))

    try:
        with SqliteStateStore(config.state_path) as state:
            checks.append(_state_check(config, state))
            checks.append(freshness(config, state, company))
    except Exception as exc:
        checks.append(CheckResult.failed("state store", exc, company=company))
    return checks


def _state_check(config: SyncConfig, state: StateStore) -> CheckResult:
    """Whose state it is (another company's fails: exit 2 for a run), its last run and its lock."""
    bound, wanted = state.identity(), identity_of(config)
    if bound is not None and not same_company(bound, wanted):
        raise StateMismatch(bound, wanted)
    runs = state.runs(1)
    holder = state.lock_holder()
    last = f"last run {runs[0].id} {runs[0].status}" if runs else "no run yet"
    lock = f"; locked by {holder.describe()}" if holder else ""
    return CheckResult.passed("state store", f"{config.state_path}: {last}{lock}")


def freshness(config: SyncConfig, state: StateStore, company: CompanyRef) -> CheckResult:
    """How long ago a run last succeeded; past ``[alerts] stale_after_hours`` a failed check and an alert
    (once per incident, when alert URLs are configured)."""
    hours = config.alerts.stale_after_hours
    if not state.runs(1):
        return CheckResult.passed("freshness", "no run yet")
    last = last_success_at(state)
    now = datetime.now(UTC)
    alerter = alerter_for(config, state, company)
    if alerter is not None:
        alerter.check_staleness(last, now, hours)
    if last is not None and (now - last).total_seconds() <= hours * 3600:
        age = (now - last).total_seconds() / 3600
        return CheckResult.passed("freshness", f"last successful run {age:.1f} h ago")
    since = "never" if last is None else f"{(now - last).total_seconds() / 3600:.1f} h ago"
    return CheckResult(
        "freshness",
        False,
        f"no successful run for more than {hours:g} h (last success: {since})",
        "stale",
        "read `dsobridge history` and `dsobridge show RUN` for the failed or refused runs, and check that "
        "the nightly timer (or cron line) still runs",
    )
