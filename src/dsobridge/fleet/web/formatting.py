"""How the dashboard writes moments, ages, durations, amounts and runs (the templates' filters)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from dsobridge.sync.report import sent_and_cleared
from dsobridge.sync.state import RunRecord
from dsobridge.terminal import format_money

# why an item left the open set (the engine's clearing reasons, dsobridge.sync.clearing)
CLEARING_REASONS = {
    "matched": "settled by payments or credit notes booked in Dynaccount",
    "excluded": "its debtor is now left out by [filters]",
    "debtor_deleted": "its debtor no longer exists in Dynaccount",
    "forced": "closed by a forced STOCK (--force)",
    "unexplained": "left the open set without an explanation: held, not cleared",
}


def moment(value: datetime | str | None) -> datetime | None:
    """A stored moment (an aware datetime, or the state's ISO text) as an aware datetime."""
    if value is None or value == "":
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def local_time(value: datetime | str | None, zone: ZoneInfo) -> str:
    """``2026-11-20 01:23:45 +01:00``: the fleet's zone, with its offset (never left to guess)."""
    when = moment(value)
    if when is None:
        return "–"
    local = when.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def span(seconds: float | None) -> str:
    """``42 s``, ``5 min 3 s``, ``3 h 12 min``, ``2 d 4 h``."""
    if seconds is None:
        return "–"
    whole = int(max(0.0, seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def duration(start: datetime | str | None, end: datetime | str | None) -> str:
    began, ended = moment(start), moment(end)
    return "–" if began is None or ended is None else span((ended - began).total_seconds())


def money(value: Decimal | None) -> str:
    """``1,234,567.50``: thousands separated, the value's own decimals (display only)."""
    return "–" if value is None else format_money(value)


def items_sent(run: RunRecord) -> int:
    """Rows of the run's item files (invoices, credit notes, payments, settlements) My DSO Manager took."""
    return sent_and_cleared(run)[0]


def cleared(run: RunRecord) -> int:
    return sent_and_cleared(run)[1]


def clearing_reasons(run: RunRecord) -> list[tuple[str, int, str]]:
    """``(reason, count, meaning)`` of the clearings the engine recorded in the run's facts."""
    counts: dict[str, Any] = dict(run.facts.get("clearings") or {})
    return [(r, int(n), CLEARING_REASONS.get(r, r)) for r, n in sorted(counts.items()) if n]


FILTERS = {"span": span, "money": money, "duration": duration}
