"""A temporary on-disk list of mapped rows: written once while extracting, read back for delivery and for the
state commit (and again if a file has to be re-sent). Keeps the sync's memory flat as the ledger grows.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import Any

_BATCH = 1000


class Spool:
    """Append ``(row, key, hash, is_open)`` entries; iterate the rows (re-iterable) or the entries."""

    def __init__(self) -> None:
        self._fh = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the spool; close() ends it
        self._batch: list[tuple[dict[str, Any], str, str, bool]] = []
        self.count = 0

    def add(self, row: dict[str, Any], key: str, hash_: str, is_open: bool = True) -> None:
        self._batch.append((row, key, hash_, is_open))
        self.count += 1
        if len(self._batch) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._fh.seek(0, 2)
            pickle.dump(self._batch, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
            self._batch = []

    def entries(self) -> Iterator[tuple[dict[str, Any], str, str, bool]]:
        self._flush()
        self._fh.seek(0)
        while True:
            try:
                batch = pickle.load(self._fh)  # noqa: S301 - our own temporary file
            except EOFError:
                return
            position = self._fh.tell()
            yield from batch
            self._fh.seek(position)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row, *_ in self.entries():
            yield row

    def __len__(self) -> int:
        return self.count

    def close(self) -> None:
        self._fh.close()
