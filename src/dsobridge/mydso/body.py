"""Turn what the caller hands us (bytes, a path, rows) into an upload body that may or may not be resent."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from dsobridge.mydso.csvfile import CsvOptions, iter_csv
from dsobridge.mydso.rows import kind_of

__all__ = ["Body", "make_body", "retryable_kind"]

_READ_SIZE = 1 << 16


@dataclass(frozen=True, slots=True)
class Body:
    """``open()`` gives the bytes or a fresh chunk iterator; ``replayable``: a second ``open()`` works."""

    open: Callable[[], bytes | Iterator[bytes]]
    replayable: bool
    encoding: str


def _read_path(path: str | os.PathLike[str]) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(_READ_SIZE):
            yield chunk


def resolve_encoding(encoding: str | None, options: CsvOptions | None) -> tuple[str, CsvOptions | None]:
    """One encoding for the writer and the ``encoding`` option; refuse two that disagree."""
    if options is None:
        return encoding or "UTF-8", None if encoding is None else CsvOptions(encoding=encoding)
    if encoding is not None and encoding.lower() != options.encoding.lower():
        raise ValueError(f"encoding={encoding!r} disagrees with options.encoding={options.encoding!r}")
    return options.encoding, options


def make_body(kind: str | Enum, data: Any, encoding: str | None, options: CsvOptions | None) -> Body:
    """Bytes and paths are sent as they are (declared ``encoding``); rows are written with ``iter_csv``.

    A ``str`` is a path, never CSV text (pass CSV text as bytes). Rows in a collection (list, tuple, a
    re-iterable object) can be written again for a retry; a generator cannot.
    """
    kind = kind_of(kind)
    if isinstance(data, (bytes, bytearray, memoryview)):
        payload = bytes(data)
        if options is not None:
            raise ValueError("options apply to rows, not to ready-made bytes")
        return Body(lambda: payload, True, encoding or "UTF-8")
    if isinstance(data, (str, os.PathLike)):
        if not os.path.isfile(data):
            raise FileNotFoundError(f"no such file: {os.fspath(data)}")
        return Body(lambda: _read_path(data), True, encoding or "UTF-8")
    if not isinstance(data, Iterable):
        raise TypeError(f"data must be bytes, a path or an iterable of rows, not {type(data).__name__}")
    enc, opts = resolve_encoding(encoding, options)
    opts = opts or CsvOptions()
    if opts.encoding != enc:
        opts = replace(opts, encoding=enc)
    replayable = iter(data) is not data
    return Body(lambda: iter_csv(kind, data, opts), replayable, enc)


def retryable_kind(kind: str, stock: bool | None) -> bool:
    """Only files whose re-import changes nothing are resent automatically: STOCK items and clients."""
    return kind == "clients" or (kind == "items" and stock is True)
