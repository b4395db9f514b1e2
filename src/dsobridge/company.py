"""``CompanyRef``: which company a log line, an error message or an alert is about — never a secret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["CompanyRef"]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ftps": 21}


@dataclass(frozen=True)
class CompanyRef:
    """The Dynaccount accounting (``api_id``) and the My DSO Manager login it is delivered to.

    The base URLs and the state file are optional: error messages name them in the next step to take
    (``check the host and port in [dynaccount] base_url (https://api.dynaccount.com)``).
    """

    api_id: int | str
    mydso_login: str = ""
    dynaccount_url: str = ""
    mydso_url: str = ""
    state_path: str = ""

    @property
    def label(self) -> str:
        """``592912→acme-api`` (just the API_ID when the login is not known)."""
        return f"{self.api_id}→{self.mydso_login}" if self.mydso_login else str(self.api_id)

    def __str__(self) -> str:
        return self.label

    @classmethod
    def from_config(cls, config: Any) -> CompanyRef:
        """From a ``dsobridge.sync.config.SyncConfig`` (read by attribute: no import of the sync package)."""
        dyn, md = config.dynaccount, config.mydso
        return cls(
            api_id=dyn.api_id,
            mydso_login=md.login,
            dynaccount_url=dyn.base_url,
            mydso_url=md.base_url,
            state_path=str(getattr(config, "state_path", "") or ""),
        )


def host_port(url: str) -> str:
    """``https://api.dynaccount.com/x`` → ``api.dynaccount.com:443``; ``""`` when ``url`` has no host."""
    parts = urlsplit(url)
    if not parts.hostname:
        return ""
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a port that is not a number
        port = None
    return f"{parts.hostname}:{port}" if port else parts.hostname
