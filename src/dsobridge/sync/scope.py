"""What a run covers: every debtor (a full run) or a few debtors (a targeted delta after a webhook)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """``Scope()`` is the whole company; ``Scope.of(["10001"])`` the debtors a webhook named."""

    debtors: frozenset[str] | None = None

    @classmethod
    def of(cls, debtors: Iterable[str]) -> Scope:
        return cls(frozenset(str(d) for d in debtors))

    @property
    def full(self) -> bool:
        return self.debtors is None

    def covers(self, debtor: str) -> bool:
        return self.debtors is None or debtor in self.debtors

    def describe(self) -> str:
        """``full`` or ``debtors:10001,10002`` (as recorded with the run)."""
        if self.debtors is None:
            return "full"
        return "debtors:" + ",".join(sorted(self.debtors, key=number_first))


FULL = Scope()


def number_first(text: str) -> tuple[int, str]:
    """Sort key of debtor numbers: numeric ones by value, then the others by text."""
    return (int(text), "") if text.isdigit() else (1 << 62, text)
