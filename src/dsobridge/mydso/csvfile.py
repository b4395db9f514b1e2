"""The streaming CSV writer: rows in, encoded byte chunks out, refusing what the server would reject.

A file is ``CsvLayout.header()`` followed by ``CsvLayout.line(row, n)`` for each row (``csvlayout``: the
format and every check of a row), with the rows whose duplicate key (``csvkeys``) appeared earlier refused.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from enum import Enum
from itertools import chain, islice
from pathlib import Path
from typing import Any, BinaryIO

from dsobridge.mydso.csvencoding import transliterate
from dsobridge.mydso.csvkeys import KeyTable
from dsobridge.mydso.csvlayout import CsvLayout, CsvOptions, check_header
from dsobridge.mydso.errors import RowError
from dsobridge.mydso.rows import kind_of

__all__ = [
    "CsvLayout",
    "CsvOptions",
    "check_header",
    "file_name",
    "iter_csv",
    "row_formatter",
    "transliterate",
    "write_csv",
]

_CHUNK_ROWS = 2048
_NO_ROWS = object()


class _Duplicates:
    """Refuses a row whose key (``CsvLayout.key``) came earlier in the file (nothing if the check is off)."""

    def __init__(self, layout: CsvLayout, expected: int = 0) -> None:
        self.layout = layout
        self.seen = KeyTable(expected)

    def check(self, row: Any, n: int) -> None:
        key = self.layout.key(row)
        if key is not None and not self.seen.add(hash(key)):
            raise self.layout.duplicate_error(key, n)

    def remember(self, row: Any) -> None:
        """Count the key of a row refused for another reason: the server still sees it in the file."""
        key = self.layout.key(row)
        if key is not None:
            self.seen.add(hash(key))


def iter_csv(kind: str | Enum, rows: Iterable[Any], options: CsvOptions | None = None) -> Iterator[bytes]:
    """Yield the encoded file, header first, then the lines in chunks of 2,048 rows.

    ``rows`` are the kind's row model (``Item`` for ``"items"``...) or mappings of column name to value. A row
    the server would reject raises ``RowError`` naming the row and column before its chunk is yielded.
    """
    options = options or CsvOptions()
    # a list or tuple is already in memory: size the key table once (for a generator it grows by doubling)
    expected = len(rows) if isinstance(rows, (list, tuple)) and options.check_duplicates else 0
    source = iter(rows)
    first = next(source, _NO_ROWS)
    if options.columns is None and isinstance(first, Mapping):
        options = replace(options, columns=list(first.keys()))
    layout = CsvLayout(kind, options)
    yield layout.header()
    if first is _NO_ROWS:
        return
    source = chain((first,), source)
    line = layout.line
    # the duplicate check only when it is on: otherwise no key table, and no call per row
    check_duplicate = _Duplicates(layout, expected).check if options.check_duplicates else None
    start = 1  # the number of the chunk's first row
    while chunk := list(islice(source, _CHUNK_ROWS)):
        lines = []
        for n, row in enumerate(chunk, start):
            lines.append(line(row, n))
            if check_duplicate is not None:
                check_duplicate(row, n)
        yield b"".join(lines)
        start += len(chunk)


def row_formatter(kind: str, columns: Sequence[str], options: CsvOptions) -> Callable[[Any, int], list[str]]:
    """Return ``format_row(row, n) -> the row's cell texts``, applying every check of the writer but the
    encoding to data row ``n`` (``check.check_file`` runs the rows of an existing file through it).

    Stateful, like the writer: it refuses a row whose key it has seen before.
    """
    layout = CsvLayout(kind, replace(options, columns=columns))
    duplicates = _Duplicates(layout)

    def format_row(row: Any, n: int) -> list[str]:
        try:
            cells = layout.cells(row, n)
        except RowError:
            duplicates.remember(row)
            raise
        duplicates.check(row, n)
        return cells

    return format_row


def write_csv(
    kind: str | Enum,
    rows: Iterable[Any],
    dest: str | os.PathLike[str] | BinaryIO,
    options: CsvOptions | None = None,
) -> int:
    """Write a whole file to a path or a binary stream; return the number of data rows written.

    A path is written under a temporary name and renamed, so a reader never sees half a file and a refused
    row leaves no file behind.
    """
    counted = _Counter(rows)
    if isinstance(dest, (str, os.PathLike)):
        path = Path(dest)
        tmp = path.with_name(f".{path.name}.part")
        try:
            with open(tmp, "wb") as fh:
                for chunk in iter_csv(kind, counted, options):
                    fh.write(chunk)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    else:
        for chunk in iter_csv(kind, counted, options):
            dest.write(chunk)
    return counted.count


class _Counter:
    """Wrap an iterable and count what was taken from it."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for row in self._rows:
            self.count += 1
            yield row


def file_name(
    kind: str | Enum,
    when: date | datetime,
    *,
    stock: bool | None = None,
    encoding: str | None = None,
) -> str:
    """Name a file for the FTP drop: ``items_20261120.csv``, ``items_20261120_223015.stock.iso-8859-1.csv``.

    A ``datetime`` adds ``_HHMMSS``. ``stock=True`` (items only) adds ``.stock``; ``False``/``None`` add
    nothing (DELTA is the server default). An encoding other than UTF-8 adds ``.<encoding, lower case>``.
    """
    kind = kind_of(kind)
    stamp = when.strftime("%Y%m%d_%H%M%S") if isinstance(when, datetime) else when.strftime("%Y%m%d")
    name = f"{kind}_{stamp}"
    if stock:
        if kind != "items":
            raise ValueError("stock applies to items files only")
        name += ".stock"
    if encoding is not None:
        codecs.lookup(encoding)
        if codecs.lookup(encoding).name != "utf-8":
            if not re.fullmatch(r"[A-Za-z0-9_-]+", encoding):
                raise ValueError(f"encoding {encoding!r} cannot be written into a file name")
            name += "." + encoding.lower()
    return name + ".csv"
