"""Settings from environment variables: ``DSOBRIDGE_<SECTION>__<KEY>`` (and ``DSOBRIDGE_<SECTION>`` as JSON).

The variables are read by pydantic-settings' own ``EnvSettingsSource`` (nested names, JSON for lists and
tables), one variable at a time so that every value knows the variable it came from: an error in it names
that variable, and a variable whose section does not exist is refused like an unknown section of the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic_settings import EnvSettingsSource, SettingsError

from dsobridge.sync.config.errors import suggest
from dsobridge.sync.config.schema import ENV_NESTED, ENV_PREFIX, DsobridgeSettings
from dsobridge.sync.config.secrets import SECRET_ENV

Path = tuple[str | int, ...]
# settings that have their own variable, outside the DSOBRIDGE_<SECTION>__<KEY> scheme (they are secrets)
OWN_VARIABLE = {("alerts", "urls"): SECRET_ENV["alert_urls"]}


def variable(path: Path) -> str:
    """``("sync", "max_drop")`` → ``DSOBRIDGE_SYNC__MAX_DROP``."""
    return OWN_VARIABLE.get(path) or ENV_PREFIX + ENV_NESTED.join(str(p).upper() for p in path)


def _tables(model: type[BaseModel], path: Path) -> list[Path]:
    paths: list[Path] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += _tables(annotation, (*path, name))
        else:
            paths.append((*path, name))
    return paths


def setting_variables() -> dict[str, str]:
    """Every setting (``"sync.max_drop"``; lists and tables such as ``"users"`` whole, as JSON) → its
    environment variable. ``[secrets] file`` also answers to its older name ``DSOBRIDGE_SECRETS_FILE``."""
    return {".".join(map(str, path)): variable(path) for path in _tables(DsobridgeSettings, ())}


@dataclass
class Overlay:
    """The settings found in the environment: nested ``data``, the variable of every value, the problems."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[Path, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def origin(self, loc: Path) -> str | None:
        """The variable that set ``loc`` (or the table holding it), if one did."""
        folded = _fold(loc)
        for end in range(len(folded), 0, -1):
            name = self.origins.get(folded[:end])
            if name:
                return name
        return None


def _is_setting_variable(name: str) -> bool:
    upper = name.upper()
    if not upper.startswith(ENV_PREFIX):
        return False
    rest = upper[len(ENV_PREFIX) :]
    return ENV_NESTED in rest or rest.lower() in DsobridgeSettings.model_fields


def _read_one(name: str, value: str) -> dict[str, Any]:
    source = EnvSettingsSource(DsobridgeSettings)
    source.env_vars = {name.lower(): value}
    return source()


def _record(overlay: Overlay, path: Path, value: Any, name: str) -> None:
    """Every leaf of ``value`` (the tables of a JSON value are merged key by key into the file's)."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _record(overlay, (*path, key), item, name)
    else:
        overlay.origins[_fold(path)] = name


def _fold(path: Path) -> Path:
    return tuple(p.casefold() if isinstance(p, str) else p for p in path)


def merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    """Deep-merge ``data`` into ``into``: tables key by key, anything else replaced."""
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


def _has(data: dict[str, Any], path: Path) -> bool:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True


def read_environment(env: Mapping[str, str]) -> Overlay:
    """The ``DSOBRIDGE_…`` settings of ``env``; section JSON first, then the single keys over it."""
    overlay = Overlay()
    names = [n for n, v in env.items() if v and _is_setting_variable(n)]
    sections = list(DsobridgeSettings.model_fields)
    for name in sorted(names, key=lambda n: (n.count(ENV_NESTED), n)):
        try:
            data = _read_one(name, env[name])
        except SettingsError:
            overlay.problems.append(
                f'${name}: not valid JSON (lists and tables are written as JSON, e.g. ["Koncern", "Intern"])'
            )
            continue
        if not data:
            section = name[len(ENV_PREFIX) :].split(ENV_NESTED)[0].lower()
            hint = suggest(section, sections, show=lambda s: f"${ENV_PREFIX}{s.upper()}{ENV_NESTED}…")
            overlay.problems.append(f"${name}: unknown section [{section}]{hint}")
            continue
        own = [v for path, v in OWN_VARIABLE.items() if _has(data, path)]
        if own:
            overlay.problems.append(f"${name}: set ${own[0]} instead (the setting is a secret)")
            continue
        _record(overlay, (), data, name)
        merge(overlay.data, data)
    return overlay
