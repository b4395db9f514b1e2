"""A temporary on-disk list of mapped rows: written once while extracting, read back for delivery and for the
state commit (and again if a file has to be re-sent). Keeps the sync's memory flat as the ledger grows.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

_BATCH = 1000


class Spool:
    """Append ``(row, key, hash, is_open)`` entries; iterate the rows (re-iterable) or the entries.

    Reading is positional (``os.pread``), so two threads may read the same spool at once (the upload thread
    sending a file while the engine stages its state rows).
    """

    def __init__(self) -> None:
        self._fh = tempfile.TemporaryFile(buffering=0)  # noqa: SIM115 - lives as long as the spool
        self._batch: list[tuple[dict[str, Any], str, str, bool]] = []
        self._chunks: list[tuple[int, int]] = []  # (offset, length) of each pickled batch
        self._end = 0
        self._lock = threading.Lock()
        self.count = 0

    def add(self, row: dict[str, Any], key: str, hash_: str, is_open: bool = True) -> None:
        """Add one entry; ``hash_`` may be ``""`` when it is to be computed later (by the reader)."""
        self._batch.append((row, key, hash_, is_open))
        self.count += 1
        if len(self._batch) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        with self._lock:  # two readers may both flush the last batch
            if not self._batch:
                return
            data = pickle.dumps(self._batch, protocol=pickle.HIGHEST_PROTOCOL)
            os.pwrite(self._fh.fileno(), data, self._end)
            self._chunks.append((self._end, len(data)))
            self._end += len(data)
            self._batch = []

    def entries(self) -> Iterator[tuple[dict[str, Any], str, str, bool]]:
        self._flush()
        fd = self._fh.fileno()
        for offset, length in list(self._chunks):
            yield from pickle.loads(os.pread(fd, length, offset))  # noqa: S301 - our own temporary file

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row, *_ in self.entries():
            yield row

    def __len__(self) -> int:
        return self.count

    def close(self) -> None:
        self._fh.close()
