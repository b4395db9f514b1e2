"""Fault injection: latency, server errors, 429 with Retry-After, broken JSON, dropped connections,
failed webhook deliveries. Settable as attributes (``sb.faults.error_rate = 1``) or over HTTP.

Matching calls are those on ``tables`` (table, action, document or report names; all when None). The first
``after`` matching calls pass untouched; then up to ``count`` calls are faulted (forever when None).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any

NONE, ERROR, RATE_LIMIT, BROKEN_JSON, DROP = "none", "error", "rate_limit", "broken_json", "drop"
_RATES = ("drop_rate", "error_rate", "rate_limit_rate", "broken_json_rate", "webhook_fail_rate")


@dataclass
class Faults:
    latency_ms: float = 0
    error_rate: float = 0.0
    error_status: int = 503
    rate_limit_rate: float = 0.0
    retry_after: float = 1
    broken_json_rate: float = 0.0
    drop_rate: float = 0.0
    webhook_fail_rate: float = 0.0
    tables: list[str] | None = None
    after: int = 0
    count: int | None = None
    seed: int = 0
    seen: int = field(default=0, init=False)
    injected: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)

    def update(self, settings: dict[str, Any]) -> None:
        """Apply JSON settings (ValueError on an unknown key or a bad value); counters restart."""
        known = {f.name for f in fields(self) if f.init}
        checked = {}
        for key, value in settings.items():
            if key not in known:
                raise ValueError(f"Unknown fault setting '{key}'")
            checked[key] = _check(key, value)
        for key, value in checked.items():  # all or nothing
            setattr(self, key, value)
        with self._lock:
            self.seen = 0
            self.injected = 0
            self._rng = random.Random(self.seed)

    def reset(self) -> None:
        self.update({f.name: f.default for f in fields(self) if f.init})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def matches(self, target: str) -> bool:
        return self.tables is None or target in self.tables

    def decide(self, target: str) -> tuple[str, float]:
        """(fault kind, latency seconds) for one API call on ``target``."""
        if not self.matches(target):
            return NONE, 0.0
        latency = self.latency_ms / 1000
        with self._lock:
            self.seen += 1
            if self.seen <= self.after or (self.count is not None and self.injected >= self.count):
                return NONE, latency
            for kind, rate in (
                (DROP, self.drop_rate),
                (ERROR, self.error_rate),
                (RATE_LIMIT, self.rate_limit_rate),
                (BROKEN_JSON, self.broken_json_rate),
            ):
                if rate and self._rng.random() < rate:
                    self.injected += 1
                    return kind, latency
        return NONE, latency

    def webhook_fails(self) -> bool:
        with self._lock:
            return bool(self.webhook_fail_rate) and self._rng.random() < self.webhook_fail_rate


def _check(key: str, value: Any) -> Any:
    if isinstance(value, Decimal):  # JSON parsed with parse_float=Decimal
        value = int(value) if value == value.to_integral_value() and key not in _RATES else float(value)
    if key in ("latency_ms", "retry_after") and isinstance(value, float) and value >= 0:
        return value
    if key in _RATES:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError(f"{key} must be a number between 0 and 1")
        return float(value)
    if key == "error_status":
        if isinstance(value, bool) or not isinstance(value, int) or not 500 <= value <= 599:
            raise ValueError("error_status must be a 5xx status code")
        return value
    if key == "tables":
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("tables must be a list of names or null")
        return list(value)
    if key == "count" and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a non-negative integer")
    return value
