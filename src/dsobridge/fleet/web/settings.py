"""What ``dsobridge fleet serve`` needs beyond the fleet's own settings, from the environment.

- ``DSOBRIDGE_FLEET_SESSION_KEY`` (required): signs the dashboard's session cookies. At least 32 characters;
  the same on every serve process behind one address; changing it logs everybody out.
- ``DSOBRIDGE_FLEET_PUBLIC_URL``: the address Dynaccount and the browsers reach this server at, e.g.
  ``https://dsobridge.example.dk`` (behind a TLS proxy). The webhook URLs shown per tenant are built on it,
  X-Hash is verified over them, and an ``https`` address makes the cookies ``Secure``. Without it the URL of
  the request as received is used (fine on a bare port; wrong behind a proxy that rewrites the host).
- ``DSOBRIDGE_FLEET_METRICS_TOKEN``: when set, ``/metrics`` wants ``Authorization: Bearer <token>``; when
  not, it answers loopback clients only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dsobridge.fleet.settings import FleetConfigError
from dsobridge.secret import Secret

ENV_SESSION_KEY = "DSOBRIDGE_FLEET_SESSION_KEY"
ENV_PUBLIC_URL = "DSOBRIDGE_FLEET_PUBLIC_URL"
ENV_METRICS_TOKEN = "DSOBRIDGE_FLEET_METRICS_TOKEN"  # noqa: S105 - the variable's name
ENV_ADMIN_PASSWORD = "DSOBRIDGE_FLEET_ADMIN_PASSWORD"  # noqa: S105 - the variable's name

MIN_SESSION_KEY = 32
WEBHOOK_MAX_BODY = 1 << 20  # the single-company receiver's defaults ([webhook] max_body, max_depth)
WEBHOOK_MAX_DEPTH = 32


@dataclass(frozen=True)
class ServeSettings:
    session_key: Secret = field(repr=False)
    public_url: str | None = None  # scheme://host[:port][/prefix], no trailing slash
    metrics_token: Secret | None = field(default=None, repr=False)
    session_hours: float = 12.0  # a login lasts this long, then the user logs in again
    max_body: int = WEBHOOK_MAX_BODY
    max_depth: int = WEBHOOK_MAX_DEPTH
    tenant_cache_seconds: float = 30.0  # a tenant's decrypted webhook secret is reused this long

    def __post_init__(self) -> None:
        if len(self.session_key.reveal()) < MIN_SESSION_KEY:
            raise FleetConfigError(
                f"${ENV_SESSION_KEY} must be at least {MIN_SESSION_KEY} characters "
                "(make one with `dsobridge fleet new-session-key`)"
            )
        if self.public_url is not None:
            object.__setattr__(self, "public_url", check_public_url(self.public_url))

    @property
    def secure_cookies(self) -> bool:
        return self.public_url is not None and self.public_url.startswith("https://")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ServeSettings:
        env = os.environ if env is None else env
        key = env.get(ENV_SESSION_KEY, "")
        if not key:
            raise FleetConfigError(
                f"set ${ENV_SESSION_KEY} to sign the dashboard's sessions "
                "(make one with `dsobridge fleet new-session-key`)"
            )
        token = env.get(ENV_METRICS_TOKEN, "")
        values: dict[str, object] = {
            "session_key": Secret(key),
            "public_url": env.get(ENV_PUBLIC_URL) or None,
            "metrics_token": Secret(token) if token else None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def check_public_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise FleetConfigError(
            f"${ENV_PUBLIC_URL} must be an address like https://dsobridge.example.dk, not {url!r}"
        )
    return url.rstrip("/")
