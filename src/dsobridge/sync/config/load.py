"""``load_config`` (TOML file + environment) and ``config_from_data`` (a dict + secrets): one validation.

Every problem found is reported at once, each naming where it is (``ConfigError.problems``).
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from dsobridge.sync.config.environment import Overlay, merge, read_environment, variable
from dsobridge.sync.config.errors import ConfigError
from dsobridge.sync.config.locate import KeyLines
from dsobridge.sync.config.messages import Loc, Origin, explain, explain_secrets
from dsobridge.sync.config.runtime import DynaccountConfig, MappingConfig, MyDsoConfig, SyncConfig
from dsobridge.sync.config.schema import DsobridgeSettings
from dsobridge.sync.config.secrets import (
    ENV_SECRETS_FILE,
    SECRET_ENV,
    SecretValues,
    read_secrets_file,
    secrets_from_environment,
)

DEFAULT_CONFIG_NAME = "dsobridge.toml"
Model = TypeVar("Model", bound=BaseModel)


def default_state_path(config_path: str | Path) -> Path:
    """``/etc/dsobridge/acme.toml`` → ``/etc/dsobridge/acme-state.sqlite3``: one state per config file."""
    path = Path(config_path).resolve()
    return path.parent / f"{path.stem}-state.sqlite3"


def _validate(
    model: type[Model],
    data: dict[str, Any],
    problems: list[str],
    describe: Callable[[list[ErrorDetails]], list[str]],
) -> Model | None:
    """The validated model, or ``None`` with ``describe(errors)`` added to ``problems``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    # outside the except block: the ConfigError raised later must not chain pydantic's error (it holds values)
    problems.extend(describe(errors))
    return None


def _parse_toml(text: str, label: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return tomllib.loads(text), None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
    where = f"{label}:{found.group(1)}" if found else label
    column = f" at column {found.group(2)}" if found else ""
    return None, f"{where}: not valid TOML: {reason}{column}"


def _resolve(value: str, base: Path) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else base / path


def _file_origin(label: str, lines: KeyLines, overlay: Overlay) -> Callable[[Loc], Origin]:
    def where(loc: Loc) -> Origin:
        name = overlay.origin(loc)
        if name:
            return Origin(f"${name}", variable)
        number = lines.line(loc)
        return Origin(f"{label}:{number}" if number else label, line=number or 0)

    return where


# --- from a file --------------------------------------------------------------------------------------------
def _read_text(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(f"config file {path} not found (create one with `dsobridge init`)")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None


def _file_secrets(path: Path, problems: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The values of a secrets file and the line of each (as ``file:line``)."""
    label = str(path)
    try:
        text = read_secrets_file(path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return {}, {}
    data, error = _parse_toml(text, label)
    if data is None:
        problems.append(str(error))
        return {}, {}
    lines = KeyLines(text)
    return data, {name: f"{label}:{lines.line((name,))}" for name in data}


def load_config(path: str | Path | None = None, *, env: Mapping[str, str] | None = None) -> SyncConfig:
    """Read and validate a config file, the ``DSOBRIDGE_…`` environment over it, and the secrets.

    ``env`` defaults to ``os.environ``. Raises ``ConfigError`` listing every problem.
    """
    env = dict(os.environ if env is None else env)
    path = Path(path or DEFAULT_CONFIG_NAME)
    label = str(path)
    text = _read_text(path)
    data, error = _parse_toml(text, label)
    if data is None:
        raise ConfigError(str(error))
    overlay = read_environment(env)
    merged = copy.deepcopy(data)
    merge(merged, overlay.data)
    problems = list(overlay.problems)
    where = _file_origin(label, KeyLines(text), overlay)
    settings = _validate(
        DsobridgeSettings, merged, problems, lambda errors: explain(DsobridgeSettings, errors, merged, where)
    )

    base = path.resolve().parent
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    secrets_file = env.get(ENV_SECRETS_FILE) or (settings.secrets.file if settings else None)
    unread = len(problems)
    if secrets_file:
        values, origins = _file_secrets(_resolve(secrets_file, base), problems)
    from_env = secrets_from_environment(env)
    values.update(from_env)
    origins.update({name: f"${SECRET_ENV[name]}" for name in from_env})
    hint = "set ${var} (or put {name} in a secrets file)"
    secrets = None
    if len(problems) == unread:  # a secrets file that cannot be read says so, not "every secret is missing"
        secrets = _validate(
            SecretValues, values, problems, lambda errors: explain_secrets(errors, origins, label, hint)
        )
    problems += _missing_files(settings, base, where)
    if settings is None or secrets is None or problems:
        raise ConfigError(*problems)
    state = _resolve(settings.sync.state, base) if settings.sync.state else default_state_path(path)
    return _build(settings, secrets, state_path=state, base=base, source=path, where=where)


# --- from data ----------------------------------------------------------------------------------------------
def config_from_data(
    data: Mapping[str, Any],
    *,
    secrets: Mapping[str, str],
    state_path: Path | None = None,
    source: str = "<tenant>",
) -> SyncConfig:
    """A configuration without a file (e.g. a tenant's settings kept in a database), validated like a file.

    ``data`` has the file's shape (``SyncConfig.to_data()`` gives it); ``secrets`` maps the secret names
    (``dynaccount_api_key``, ``dynaccount_api_secret``, ``mydso_password``, optional ``mydso_ftp_password``
    and ``alert_urls``) to their values. Neither the environment nor any file is read. The state path is
    ``state_path``, else ``[sync] state`` of the data (relative to the working directory).
    """
    problems: list[str] = []
    plain = copy.deepcopy(dict(data))
    if "secrets" in plain:
        problems.append(f"{source}: [secrets] is for config files; pass the secrets as `secrets`")
        del plain["secrets"]

    def where(loc: Loc) -> Origin:
        return Origin(source)  # data has no lines

    settings = _validate(
        DsobridgeSettings, plain, problems, lambda errors: explain(DsobridgeSettings, errors, plain, where)
    )
    hint = "give it in the secrets (as {name})"
    origins = dict.fromkeys(secrets, f"{source} secrets")
    values = _validate(
        SecretValues, dict(secrets), problems, lambda errors: explain_secrets(errors, origins, source, hint)
    )
    if settings is not None and state_path is None and settings.sync.state is None:
        problems.append(f"{source}: [sync] state is required without a config file (or pass state_path)")
    base = Path.cwd()
    problems += _missing_files(settings, base, where)
    if settings is None or values is None or problems:
        raise ConfigError(*problems)
    state = state_path or _resolve(str(settings.sync.state), base)
    return _build(settings, values, state_path=state, base=base, source=source, where=where)


# --- the resolved configuration -----------------------------------------------------------------------------
def _missing_files(
    settings: DsobridgeSettings | None, base: Path, where: Callable[[Loc], Origin]
) -> list[str]:
    cafile = settings.mydso.ftp_cafile if settings else None
    if not cafile or _resolve(cafile, base).is_file():
        return []
    return [
        f"{where(('mydso', 'ftp_cafile')).text}: [mydso] ftp_cafile: no such file {_resolve(cafile, base)}"
    ]


def _build(
    settings: DsobridgeSettings,
    secrets: SecretValues,
    *,
    state_path: Path,
    base: Path,
    source: Path | str,
    where: Callable[[Loc], Origin],
) -> SyncConfig:
    """Paths made absolute, derived defaults filled in, the secrets attached (``_missing_files`` passed)."""
    md = settings.mydso
    cafile = _resolve(md.ftp_cafile, base) if md.ftp_cafile else None
    settings = settings.model_copy(
        update={
            "sync": settings.sync.model_copy(update={"state": str(state_path)}),
            "mydso": md.model_copy(update={"ftp_cafile": str(cafile) if cafile else None}),
        }
    )
    alerts = settings.alerts
    if secrets.alert_urls is not None:
        alerts = alerts.model_copy(update={"urls": secrets.alert_urls})
    return SyncConfig(
        dynaccount=DynaccountConfig(
            **settings.dynaccount.model_dump(),
            api_key=secrets.dynaccount_api_key,
            api_secret=secrets.dynaccount_api_secret,
        ),
        mydso=MyDsoConfig(
            **md.model_dump(exclude={"ftp_host", "ftp_login", "ftp_cafile"}),
            password=secrets.mydso_password,
            ftp_host=md.ftp_host or str(urlsplit(md.base_url).hostname),
            ftp_login=md.ftp_login or md.login,
            ftp_cafile=cafile,
            ftp_password=secrets.mydso_ftp_password or secrets.mydso_password,
        ),
        state_path=state_path,
        mapping=MappingConfig.from_settings(settings),
        format=settings.format,
        users=settings.users,
        max_drop=settings.sync.max_drop,
        history_months=settings.sync.history_months,
        lock_timeout=settings.sync.lock_timeout,
        webhook=settings.webhook,
        alerts=alerts,
        logging=settings.logging,
        source=source,
        settings=settings,
    )
