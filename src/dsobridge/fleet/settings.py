"""The fleet's settings: where its PostgreSQL is, the encryption keys and the nightly window.

Every setting comes from an environment variable (the same for the worker, the serve process and the CLI on
every machine); the per-service request limits live in the database instead (``dsobridge fleet limits``), so
that every worker of the fleet obeys the same figures.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_DATABASE_URL = "DSOBRIDGE_FLEET_DATABASE_URL"
ENV_SCHEMA = "DSOBRIDGE_FLEET_SCHEMA"
ENV_KEYS = "DSOBRIDGE_FLEET_KEYS"
ENV_NIGHTLY_START = "DSOBRIDGE_FLEET_NIGHTLY_START"
ENV_NIGHTLY_WINDOW = "DSOBRIDGE_FLEET_NIGHTLY_WINDOW_MINUTES"
ENV_TIMEZONE = "DSOBRIDGE_FLEET_TIMEZONE"
ENV_STALLED_AFTER = "DSOBRIDGE_FLEET_STALLED_AFTER"
ENV_HEARTBEAT = "DSOBRIDGE_FLEET_HEARTBEAT"

DEFAULT_SCHEMA = "dsobridge"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class FleetConfigError(Exception):
    """A fleet setting is missing or invalid (exit code 2)."""


@dataclass(frozen=True)
class FleetSettings:
    database_url: str
    schema: str = DEFAULT_SCHEMA
    nightly_start: time = time(1, 0)  # local time of ``timezone`` at which the nightly STOCK window opens
    nightly_window_minutes: int = 240  # the STOCK runs of all tenants are spread over this many minutes
    timezone: str = "Europe/Copenhagen"
    stalled_after: float = 30.0  # seconds without a worker heartbeat before its running jobs are retried
    heartbeat: float = 10.0  # seconds between a worker's heartbeats

    def __post_init__(self) -> None:
        check_schema_name(self.schema)
        if not 1 <= self.nightly_window_minutes <= 24 * 60:
            raise FleetConfigError(f"${ENV_NIGHTLY_WINDOW} must be between 1 and 1440 minutes")
        if self.heartbeat <= 0 or self.stalled_after <= self.heartbeat:
            raise FleetConfigError(f"${ENV_STALLED_AFTER} must be longer than ${ENV_HEARTBEAT} (> 0)")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise FleetConfigError(f"${ENV_TIMEZONE}: unknown time zone {self.timezone!r}") from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def __repr__(self) -> str:  # the URL may hold a password: never shown
        return f"FleetSettings(schema={self.schema!r}, nightly_start={self.nightly_start}, ...)"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> FleetSettings:
        """Read the settings from the environment; ``overrides`` (e.g. a ``--database-url``) win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "database_url": env.get(ENV_DATABASE_URL, ""),
            "schema": env.get(ENV_SCHEMA, DEFAULT_SCHEMA),
        }
        if ENV_NIGHTLY_START in env:
            values["nightly_start"] = _clock(env[ENV_NIGHTLY_START])
        for name, var, kind in (
            ("nightly_window_minutes", ENV_NIGHTLY_WINDOW, int),
            ("stalled_after", ENV_STALLED_AFTER, float),
            ("heartbeat", ENV_HEARTBEAT, float),
        ):
            if var in env:
                try:
                    values[name] = kind(env[var])
                except ValueError:
                    raise FleetConfigError(f"${var} must be a number, not {env[var]!r}") from None
        if ENV_TIMEZONE in env:
            values["timezone"] = env[ENV_TIMEZONE]
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values["database_url"]:
            raise FleetConfigError(
                f"no fleet database: set ${ENV_DATABASE_URL} (e.g. postgresql://dsobridge@db-host/dsobridge)"
            )
        return cls(**values)  # type: ignore[arg-type]


def check_schema_name(name: str) -> str:
    """A PostgreSQL schema name we can put in ``search_path`` as is: lower-case letters, digits, ``_``."""
    if not _IDENTIFIER.fullmatch(name):
        raise FleetConfigError(f"schema name {name!r}: use lower-case letters, digits and _ (at most 63)")
    return name


def _clock(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise FleetConfigError(f"${ENV_NIGHTLY_START} must be a time like 01:00, not {text!r}") from None
