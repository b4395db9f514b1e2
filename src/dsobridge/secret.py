"""``Secret``: a credential that never shows itself in a repr, str, log line or traceback dump.

Every value ever revealed is remembered (``revealed_values``), so the log handlers of ``dsobridge.logs`` can
mask it should it ever reach a log line, whichever code wrote it.
"""

from __future__ import annotations

import hmac

_revealed: set[str] = set()


def remember(value: str) -> None:
    """Mark ``value`` as secret for the log redaction (idempotent); ``Secret.reveal`` calls it."""
    if value:
        _revealed.add(value)


def revealed_values() -> tuple[str, ...]:
    """Every secret value revealed (or remembered) so far in this process."""
    return tuple(_revealed)


class Secret:
    """Holds an API key, API secret or password; ``reveal()`` is the only way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        remember(self._value)
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)
