"""Compact per-item and per-debtor structures of a run: what it holds for every item must not cost what a
Python object per item would (a million open items, a hundred thousand debtors).

:class:`KeyIndex`: a sorted, compact index of ``(key, hash)`` pairs read from the state, with a "seen" mark
per key.

A million open items take 17 bytes each (two ``array('q')`` and one ``bytearray``) instead of the hundreds of
bytes a dict of Python ints would: the run looks every extracted item up here, marks it seen, and whatever is
left unseen at the end of the extraction has left the open set — a clearing to explain.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal


class KeyIndex:
    def __init__(self, pairs: Iterable[tuple[int, int]]) -> None:
        self.keys = array("q")
        self.hashes = array("q")
        for key, digest in pairs:  # ascending keys (what the state stores return)
            self.keys.append(key)
            self.hashes.append(digest)
        self.seen = bytearray(len(self.keys))

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, key: int) -> int:
        """The position of ``key``, or -1."""
        i = bisect_left(self.keys, key)
        return i if i < len(self.keys) and self.keys[i] == key else -1

    def previous(self, key: int) -> int | None:
        """The hash recorded for ``key`` (and mark it seen), or ``None`` when it is new."""
        i = self.find(key)
        if i < 0:
            return None
        self.seen[i] = 1
        return self.hashes[i]

    def unseen(self) -> Iterator[int]:
        """The keys not looked up since the index was read."""
        start = 0
        while (i := self.seen.find(0, start)) >= 0:
            yield self.keys[i]
            start = i + 1


class KeySet:
    """An append-then-look-up set of packed keys in 8 bytes each (a Python ``set`` of a million ints holds
    about 60 MB): sorted once, at the first look-up."""

    def __init__(self) -> None:
        self._keys = array("q")
        self._sorted = True

    def add(self, key: int) -> None:
        if self._sorted and self._keys and key < self._keys[-1]:
            self._sorted = False
        self._keys.append(key)

    def __contains__(self, key: int) -> bool:
        if not self._sorted:
            self._keys = array("q", sorted(self._keys))
            self._sorted = True
        i = bisect_left(self._keys, key)
        return i < len(self._keys) and self._keys[i] == key

    def __len__(self) -> int:
        return len(self._keys)


class MoneySums(Mapping[str, Decimal]):
    """Σ of amounts per name (a debtor's open items), exact, in hundredths in one ``array('q')``.

    A ``dict`` of ``Decimal`` sums allocates a new object at every addition and keeps the last one alive,
    scattered among the pages' short-lived objects: at a million items that fragmentation held tens of MB.
    An amount with more than two decimals is summed exactly beside the array."""

    def __init__(self) -> None:
        self._slots: dict[str, int] = {}
        self._hundredths = array("q")
        self._finer: dict[str, Decimal] = {}

    def add(self, name: str, amount: Decimal) -> None:
        slot = self._slots.get(name)
        if slot is None:
            slot = self._slots[name] = len(self._hundredths)
            self._hundredths.append(0)
        if amount.as_tuple().exponent >= -2:  # type: ignore[operator]  # finite amounts only
            self._hundredths[slot] += int(amount.scaleb(2))
        else:
            self._finer[name] = self._finer.get(name, Decimal(0)) + amount

    def __getitem__(self, name: str) -> Decimal:
        total = Decimal(self._hundredths[self._slots[name]]).scaleb(-2)
        finer = self._finer.get(name)
        return total if finer is None else total + finer

    def __iter__(self) -> Iterator[str]:
        return iter(self._slots)

    def __len__(self) -> int:
        return len(self._slots)
