"""The secrets: from the environment, or an owner-only secrets file; never from the config file.

A secret is held as ``dsobridge.secret.Secret`` from the moment it is validated. Validation messages never
repeat a value (``dsobridge.sync.config.messages`` builds them from the error type, not the input).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator

from dsobridge.secret import Secret
from dsobridge.sync.config.errors import ConfigError

# secret name (also its key in a secrets file and in ``config_from_data(secrets=…)``) → environment variable
SECRET_ENV = {
    "dynaccount_api_key": "DSOBRIDGE_DYNACCOUNT_API_KEY",
    "dynaccount_api_secret": "DSOBRIDGE_DYNACCOUNT_API_SECRET",
    "mydso_password": "DSOBRIDGE_MYDSO_PASSWORD",
    "mydso_ftp_password": "DSOBRIDGE_MYDSO_FTP_PASSWORD",
    "alert_urls": "DSOBRIDGE_ALERT_URLS",
}
ENV_SECRETS_FILE = "DSOBRIDGE_SECRETS_FILE"
# secrets someone may put in the config file: (section, key) → secret name
MISPLACED = {
    ("dynaccount", "api_key"): "dynaccount_api_key",
    ("dynaccount", "api_secret"): "dynaccount_api_secret",
    ("mydso", "password"): "mydso_password",
    ("mydso", "ftp_password"): "mydso_ftp_password",
}

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")


class AlertUrl(Secret):
    """An apprise URL: it may carry a token or a password, so only its scheme ever shows."""

    __slots__ = ()

    @property
    def scheme(self) -> str:
        return self.reveal().split("://", 1)[0].lower()

    def __repr__(self) -> str:
        return f"AlertUrl('{self.scheme}://***')"

    __str__ = __repr__


def _secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a text")
    if not value:
        raise ValueError("is empty")
    if value != value.strip() or any(ord(c) < 32 for c in value):
        raise ValueError("has spaces around it or a control character (a line break?) in it")
    return Secret(value)


def _alert_urls(value: Any) -> tuple[AlertUrl, ...]:
    """A list of URLs, or one text of URLs separated by commas or spaces (as ``DSOBRIDGE_ALERT_URLS``)."""
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,]+", value) if v]
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list of URLs")
    urls = []
    for n, url in enumerate(value, 1):
        if isinstance(url, Secret):
            url = url.reveal()
        if not isinstance(url, str) or not _URL.fullmatch(url):
            raise ValueError(f"URL #{n} is not of the form scheme://…")
        urls.append(AlertUrl(url))
    return tuple(urls)


def _masked(value: Secret) -> str:
    return repr(value)


SecretValue = Annotated[Secret, PlainValidator(_secret), PlainSerializer(_masked)]
AlertUrls = Annotated[
    tuple[AlertUrl, ...],
    PlainValidator(_alert_urls),
    PlainSerializer(lambda urls: [_masked(u) for u in urls]),
]


class SecretValues(BaseModel):
    """The secrets of one configuration. ``mydso_ftp_password`` defaults to ``mydso_password``;
    ``alert_urls`` is ``None`` when not given (then ``[alerts] urls`` of the file apply)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dynaccount_api_key: SecretValue
    dynaccount_api_secret: SecretValue
    mydso_password: SecretValue
    mydso_ftp_password: SecretValue | None = None
    alert_urls: AlertUrls | None = None


def _check_private(path: Path) -> None:
    info = path.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ConfigError(f"secrets file {path} is not owned by the current user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigError(f"secrets file {path} must be readable by its owner only (chmod 600 {path})")


def read_secrets_file(path: Path) -> str:
    """The text of an owner-only secrets file (``ConfigError`` if missing or readable by others)."""
    if not path.is_file():
        raise ConfigError(f"secrets file {path} does not exist")
    _check_private(path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"secrets file {path} is not UTF-8 text") from None


def secrets_from_environment(env: dict[str, str]) -> dict[str, str]:
    """The secrets set (non-empty) in the environment, by secret name."""
    return {name: env[var] for name, var in SECRET_ENV.items() if env.get(var)}
