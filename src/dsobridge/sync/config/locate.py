"""The line of a key in a TOML text, for error messages (``tomllib`` gives values, not positions).

``KeyLines(text).line(("sync", "max_drop"))`` → the line of ``max_drop`` in ``[sync]``; array tables count:
``("users", 1, "email")`` is ``email`` in the second ``[[users]]``. A path that is not written (a missing key)
gives the line of the nearest table that is, or ``None``. This only finds lines: the values come from tomllib.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence

_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_ARRAY_TABLE = re.compile(rf"\s*\[\[\s*({_DOTTED})\s*\]\]")
_TABLE = re.compile(rf"\s*\[\s*({_DOTTED})\s*\]")
_ASSIGN = re.compile(rf"\s*({_DOTTED})\s*=")

Path = tuple[str | int, ...]


def _parts(dotted: str) -> tuple[str, ...]:
    if '"' not in dotted and "'" not in dotted:
        return tuple(p.strip() for p in dotted.split("."))
    # quoted keys: let tomllib decode them exactly
    data = tomllib.loads(f"{dotted} = 0")
    parts: list[str] = []
    while isinstance(data, dict):
        key = next(iter(data))
        parts.append(key)
        data = data[key]
    return tuple(parts)


class KeyLines:
    """Every table header and key of a TOML text with its line number (1-based)."""

    def __init__(self, text: str) -> None:
        self.entries: list[tuple[Path, int]] = []
        self._arrays: dict[tuple[str, ...], int] = {}
        table: Path = ()
        quote: str | None = None  # inside a multi-line string opened with this delimiter
        for number, line in enumerate(text.splitlines(), 1):
            if quote is not None:
                if line.count(quote) % 2:
                    quote = None
                continue
            try:
                table = self._read(line, number, table)
            except tomllib.TOMLDecodeError:
                continue
            for delimiter in ('"""', "'''"):
                if line.count(delimiter) % 2:
                    quote = delimiter

    def _read(self, line: str, number: int, table: Path) -> Path:
        if match := _ARRAY_TABLE.match(line):
            parts = _parts(match.group(1))
            self._arrays[parts] = self._arrays.get(parts, 0) + 1
            table = (*self._indexed(parts), self._arrays[parts] - 1)
            self.entries.append((table, number))
        elif match := _TABLE.match(line):
            table = self._indexed(_parts(match.group(1)))
            self.entries.append((table, number))
        elif match := _ASSIGN.match(line):
            self.entries.append(((*table, *_parts(match.group(1))), number))
        return table

    def _indexed(self, parts: tuple[str, ...]) -> Path:
        """``[users.extra]`` after ``[[users]]`` belongs to the last ``users`` element."""
        path: list[str | int] = []
        for i, part in enumerate(parts):
            path.append(part)
            count = self._arrays.get(parts[: i + 1])
            if count and i + 1 < len(parts):
                path.append(count - 1)
        return tuple(path)

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line where ``path`` is written, else where its nearest written parent table is."""
        want = tuple(_fold(p) for p in path)
        while want:
            for entry, number in self.entries:
                folded = tuple(_fold(p) for p in entry)
                if folded[: len(want)] == want:
                    return number
            want = want[:-1]
        return None


def _fold(part: str | int) -> str | int:
    return part.casefold() if isinstance(part, str) else part
