"""Alerts: tell someone when the sync fails, is refused, or has not succeeded for long — once per incident.

    alerter = Alerter(urls, incidents, CompanyRef.from_config(config))
    alerter.check_staleness(last_success_at, now=datetime.now(UTC), hours=26)
    result = run_sync(...)
    alerter.after_run(result.status, result.run_id, explanation or refusal_text)

Delivery goes through apprise, so one URL per channel: ``mailtos://…`` (mail), ``slack://…``,
``msteams://…``, ``json://…`` (a generic webhook), … An INCIDENT opens with the first failed run (``failed``),
the first refused run (``refused``) or the first staleness check that finds no success for N hours
(``stale``), and is alerted once; further runs of the same kind are not alerted again until a successful
run resolves every open incident and sends one "resolved" message. An incident is recorded only once at least
one URL accepted its alert, so an alert that could not be delivered is tried again after the next run.
Incidents live in an :class:`IncidentLog` (the state store implements it; :class:`MemoryIncidentLog` for
tests). Alert URLs are secrets (they hold tokens and passwords): they are never logged, and registered for
the log redaction. See docs/operations.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from dsobridge.company import CompanyRef
from dsobridge.explain import Explanation, explain_refusal
from dsobridge.logs import redact, register_secret
from dsobridge.secret import Secret

__all__ = [
    "INCIDENT_KINDS",
    "Alert",
    "Alerter",
    "AppriseNotifier",
    "Incident",
    "IncidentLog",
    "MemoryIncidentLog",
    "Notifier",
]

log = logging.getLogger("dsobridge.alerts")

#: ``failed`` (a run failed), ``refused`` (a safety guard refused a run), ``stale`` (no success for N hours).
INCIDENT_KINDS = ("failed", "refused", "stale")
_TOKEN_MIN_LENGTH = 16  # URL path segments and query values this long are taken for tokens (masked in logs)


@dataclass(frozen=True)
class Incident:
    kind: str  # one of INCIDENT_KINDS
    summary: str
    run_id: int | None
    opened_at: datetime


class IncidentLog(Protocol):
    """Where incidents are kept between runs (the state store of the company)."""

    def open_incident(self, kind: str, summary: str, run_id: int | None) -> bool:
        """Open an incident of ``kind`` unless one is open; ``True`` if it was newly opened."""
        ...

    def resolve_incidents(self, run_id: int | None) -> list[str]:
        """Close every open incident (resolved by run ``run_id``); the kinds closed."""
        ...

    def open_incidents(self) -> list[Incident]:
        """The open incidents, oldest first."""
        ...


class MemoryIncidentLog:
    """An :class:`IncidentLog` in memory (tests, and a process that keeps no state)."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._open: dict[str, Incident] = {}
        self._clock = clock
        self.resolved: list[tuple[Incident, int | None]] = []

    def open_incident(self, kind: str, summary: str, run_id: int | None) -> bool:
        if kind in self._open:
            return False
        self._open[kind] = Incident(kind=kind, summary=summary, run_id=run_id, opened_at=self._clock())
        return True

    def resolve_incidents(self, run_id: int | None) -> list[str]:
        closed = list(self._open.values())
        self.resolved += [(incident, run_id) for incident in closed]
        self._open.clear()
        return [incident.kind for incident in closed]

    def open_incidents(self) -> list[Incident]:
        return sorted(self._open.values(), key=lambda i: i.opened_at)


@dataclass(frozen=True)
class Alert:
    """One message: ``kind`` is an incident kind or ``resolved``; ``level`` an apprise notify type."""

    kind: str
    title: str
    body: str
    level: str  # failure | warning | success


class Notifier(Protocol):
    def send(self, alert: Alert) -> int:
        """Deliver ``alert`` to every channel; the number of channels that accepted it."""
        ...


def _sensitive_parts(url: str) -> list[str]:
    """The URL and the parts of it that hold credentials or tokens (masked in every log line)."""
    parts = urlsplit(url)
    found = [url]
    if parts.password:
        found += [parts.password, unquote(parts.password)]
    found += [unquote(s) for s in parts.path.split("/") if len(s) >= _TOKEN_MIN_LENGTH]
    found += [v for _, v in parse_qsl(parts.query) if len(v) >= _TOKEN_MIN_LENGTH]
    return found


class AppriseNotifier:
    """Sends through apprise, one URL at a time (so a failure is known per channel, and logged by number and
    scheme only: a URL holds credentials)."""

    def __init__(self, urls: Sequence[str | Secret], *, app_id: str = "dsobridge") -> None:
        self._urls = [u.reveal() if isinstance(u, Secret) else u for u in urls]
        for url in self._urls:
            for part in _sensitive_parts(url):
                register_secret(part)
        self._app_id = app_id

    def __len__(self) -> int:
        return len(self._urls)

    def send(self, alert: Alert) -> int:
        import apprise  # here: a large import that only alerting needs

        # memory only: apprise may otherwise keep a cache on disk, and nothing we write holds a secret
        asset = apprise.AppriseAsset(app_id=self._app_id, app_desc="dsobridge alerts", storage_mode="memory")
        accepted = 0
        for number, url in enumerate(self._urls, 1):
            channel = f"alert URL #{number} ({urlsplit(url).scheme or '?'})"
            sender = apprise.Apprise(asset=asset)
            if not sender.add(url):
                log.error("%s is not a URL apprise can send to: check [alerts] urls", channel)
                continue
            delivered = sender.notify(
                body=alert.body, title=alert.title, notify_type=alert.level, body_format="text"
            )
            if delivered:
                accepted += 1
            else:
                log.warning("%s did not accept the %s alert", channel, alert.kind)
        return accepted


class Alerter:
    """Decides when to alert (once per incident) and what the alert says.

    ``urls`` may be empty: alerting is then off (nothing is sent, no incident is recorded). ``on_failed``,
    ``on_refused``, ``on_stale`` turn each incident kind off; resolving is never off.
    """

    def __init__(
        self,
        urls: Sequence[str | Secret],
        incidents: IncidentLog,
        company: CompanyRef,
        *,
        on_failed: bool = True,
        on_refused: bool = True,
        on_stale: bool = True,
        notifier: Notifier | None = None,
    ) -> None:
        self.notifier: Notifier = notifier or AppriseNotifier(urls)
        self.enabled = bool(urls) or notifier is not None
        self.incidents = incidents
        self.company = company
        self._wanted = {"failed": on_failed, "refused": on_refused, "stale": on_stale}

    # ----------------------------------------------------------------------------------------- decisions
    def after_run(
        self, status: str, run_id: int | None, cause: Explanation | str | None = None
    ) -> list[Alert]:
        """Called after each run with its status (``success | failed | refused | dry-run``), its id and, for
        a failure, ``explain(exc)`` (or the run's error text), for a refusal the guard's text. Returns the
        alerts delivered. A dry run neither opens nor resolves anything: it delivered nothing. A run refused
        before it had a run id (another run holds the lock) is no incident: overlapping runs are harmless,
        and a lock that blocks every run shows as staleness."""
        if not self.enabled:
            return []
        if status == "success":
            return self._resolve(run_id)
        if status == "refused" and run_id is None:
            return []
        if status in ("failed", "refused") and self._wanted[status]:
            why = _as_explanation(status, cause)
            return self._open(status, run_id, why.summary, self._run_alert(status, run_id, why))
        return []

    def check_staleness(self, last_success_at: datetime | None, now: datetime, hours: float) -> list[Alert]:
        """Alert once when no run succeeded in the last ``hours`` (``None``: none ever did)."""
        if not self.enabled or not self._wanted["stale"] or hours <= 0:
            return []
        if last_success_at is not None and _aware(now) - _aware(last_success_at) <= timedelta(hours=hours):
            return []
        summary = f"no successful sync in the last {hours:g} hours"
        return self._open("stale", None, summary, self._stale_alert(last_success_at, now, hours))

    def _open(self, kind: str, run_id: int | None, summary: str, alert: Alert) -> list[Alert]:
        if any(incident.kind == kind for incident in self.incidents.open_incidents()):
            log.info("the %s incident is already open and was alerted: no new alert", kind)
            return []
        if not self.notifier.send(alert):
            log.error("the %s alert reached no alert URL; it is tried again after the next run", kind)
            return []
        self.incidents.open_incident(kind, summary, run_id)
        log.info("%s alert sent", kind)
        return [alert]

    def _resolve(self, run_id: int | None) -> list[Alert]:
        open_now = self.incidents.open_incidents()
        if not open_now:
            return []
        self.incidents.resolve_incidents(run_id)
        alert = self._resolved_alert(run_id, open_now)
        if not self.notifier.send(alert):
            log.error("the resolved message reached no alert URL (the incidents are closed all the same)")
            return []
        log.info("resolved message sent (%s)", ", ".join(i.kind for i in open_now))
        return [alert]

    # -------------------------------------------------------------------------------------------- texts
    def _who(self) -> str:
        company = self.company
        login = f" → My DSO Manager login {company.mydso_login}" if company.mydso_login else ""
        return f"Dynaccount accounting {company.api_id}{login}"

    def _alert(self, kind: str, title: str, lines: list[str], level: str) -> Alert:
        title = f"dsobridge {self.company.label}: {title}"
        return Alert(kind, redact(title), redact("\n".join(lines)), level)

    def _run_alert(self, status: str, run_id: int | None, why: Explanation) -> Alert:
        run = f"run {run_id}" if run_id is not None else "a run (no run id)"
        verb = (
            "failed" if status == "failed" else "was refused by a safety guard: no item was sent or cleared"
        )
        return self._alert(
            status,
            f"sync {run} {status}",
            [
                f"The sync of {self._who()} {verb} ({run}).",
                f"Cause: {why.summary}",
                f"Next step: {why.action}",
                f"Details: dsobridge show {run_id}" if run_id is not None else "Details: dsobridge history",
                f"Further {status} runs are not alerted until a run succeeds; that run sends a 'resolved' "
                "message.",
            ],
            "failure" if status == "failed" else "warning",
        )

    def _stale_alert(self, last_success_at: datetime | None, now: datetime, hours: float) -> Alert:
        if last_success_at is None:
            last = "never"
        else:
            age = (_aware(now) - _aware(last_success_at)).total_seconds() / 3600
            last = f"{_local(last_success_at)} ({age:.1f} hours ago)"
        return self._alert(
            "stale",
            f"no successful sync for {hours:g} hours",
            [
                f"No sync of {self._who()} has succeeded in the last {hours:g} hours.",
                f"Last success: {last}",
                "Next step: check that the nightly run is scheduled and runs (`systemctl list-timers "
                "dsobridge.timer`, the cron log), and `dsobridge history` for failed or refused runs.",
                "Not alerted again until a run succeeds.",
            ],
            "warning",
        )

    def _resolved_alert(self, run_id: int | None, closed: list[Incident]) -> Alert:
        run = f"run {run_id}" if run_id is not None else "a run"
        lines = [f"The sync of {self._who()} succeeded again ({run}). Resolved:"]
        for incident in closed:
            since = f"since run {incident.run_id}, " if incident.run_id is not None else "since "
            lines.append(f"- {incident.kind} ({since}{_local(incident.opened_at)}): {incident.summary}")
        return self._alert("resolved", f"resolved, {run} succeeded", lines, "success")


def _as_explanation(status: str, cause: Explanation | str | None) -> Explanation:
    if isinstance(cause, Explanation):
        return cause
    if status == "refused":
        return explain_refusal(cause or "a safety guard refused the run")
    return Explanation(
        cause or "the run failed",
        "run `dsobridge check`, then read `dsobridge show RUN` and the run's log",
        "unexpected",
    )


def _aware(moment: datetime) -> datetime:
    """A naive datetime is taken as local time."""
    return moment if moment.tzinfo is not None else moment.astimezone()


def _local(moment: datetime) -> str:
    return _aware(moment).astimezone().isoformat(timespec="seconds")
