"""Tenant secrets at rest: Fernet tokens under the keys of ``$DSOBRIDGE_FLEET_KEYS``.

``DSOBRIDGE_FLEET_KEYS`` holds one or more Fernet keys, comma-separated: the FIRST encrypts, every one
decrypts (``MultiFernet``). Rotation: put a new key first, keep the old ones after it, restart the processes,
run ``dsobridge fleet rotate-keys`` (re-encrypts every tenant under the first key), then drop the old keys.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from dsobridge.fleet.settings import ENV_KEYS, FleetConfigError
from dsobridge.secret import Secret

SECRET_NAMES = ("dynaccount_api_key", "dynaccount_api_secret", "mydso_password")


class SecretsUnreadable(Exception):
    """A tenant's secrets cannot be decrypted with the configured keys (the message names no secret)."""


class Keyring:
    """The fleet's encryption keys. ``repr`` never shows them."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise FleetConfigError(
                f"no encryption key: set ${ENV_KEYS} (make one with `dsobridge fleet new-key`)"
            )
        try:
            self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])
        except (ValueError, UnicodeEncodeError):
            raise FleetConfigError(
                f"${ENV_KEYS}: every key must be a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
        self.count = len(keys)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Keyring:
        env = os.environ if env is None else env
        return cls([k.strip() for k in env.get(ENV_KEYS, "").split(",") if k.strip()])

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode("ascii")

    def __repr__(self) -> str:
        return f"Keyring({self.count} key{'s' if self.count != 1 else ''})"

    def seal(self, secrets: Mapping[str, Secret]) -> bytes:
        """The three secrets of a tenant as one token, encrypted under the first key."""
        missing = [n for n in SECRET_NAMES if not secrets.get(n)]
        if missing:
            raise ValueError(f"secrets missing: {', '.join(missing)}")
        plain = json.dumps({n: secrets[n].reveal() for n in SECRET_NAMES}).encode("utf-8")
        return self._fernet.encrypt(plain)

    def open(self, token: bytes) -> dict[str, Secret]:
        try:
            plain = self._fernet.decrypt(bytes(token))
        except InvalidToken:
            raise SecretsUnreadable(
                f"a tenant's secrets do not decrypt with any key of ${ENV_KEYS} (a key dropped too soon?)"
            ) from None
        values = json.loads(plain)
        return {n: Secret(str(values[n])) for n in SECRET_NAMES}

    def rotate(self, token: bytes) -> bytes:
        """The same secrets, encrypted under the first key (``MultiFernet.rotate``)."""
        try:
            return self._fernet.rotate(bytes(token))
        except InvalidToken:
            raise SecretsUnreadable(
                f"a tenant's secrets do not decrypt with any key of ${ENV_KEYS}"
            ) from None
