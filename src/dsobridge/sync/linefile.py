"""The files of a run, built line by line on disk: the header, then one encoded CSV line per row.

The file IS the body that is sent (HTTP, ``/apiPutFiles/``, FTP) or exported: nothing is rendered twice and
no row is kept in memory or pickled. Each line is hashed once (the state's content hash) when it is added.
A run's files live in one private temporary directory (mode 700) that the run deletes when it ends, also on
Ctrl-C or SIGTERM — the files hold names, e-mail addresses and phone numbers.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from dsobridge.mydso.csvlayout import CsvLayout, CsvOptions
from dsobridge.sync.state import digest64

_BUFFER = 1 << 20


class LineFile:
    """One CSV file being written: ``add(row)`` formats, encodes, writes and hashes one row."""

    def __init__(self, path: Path, kind: str, options: CsvOptions, *, label: str | None = None) -> None:
        self.path = path
        self.kind = kind
        self.label = label or kind
        self.options = options
        self.layout = CsvLayout(kind, options)
        self.rows = 0
        self._fh: BinaryIO | None = open(path, "wb", buffering=_BUFFER)  # noqa: SIM115 - closed by finish
        self._fh.write(self.layout.header())

    def add(self, row: Mapping[str, Any]) -> tuple[int, int]:
        """Write one row; return its line number in the file (the header is line 1) and its hash."""
        line = self.layout.line(row, self.rows + 2)
        assert self._fh is not None, f"{self.label}: file already finished"
        self._fh.write(line)
        self.rows += 1
        return self.rows + 1, digest64(line)

    def line_of(self, row: Mapping[str, Any]) -> tuple[bytes, int]:
        """The encoded line of a row and its hash, without writing it (to compare with the state first)."""
        line = self.layout.line(row, self.rows + 2)
        return line, digest64(line)

    def write(self, line: bytes) -> int:
        """Write a line made by :meth:`line_of`; return its line number."""
        assert self._fh is not None, f"{self.label}: file already finished"
        self._fh.write(line)
        self.rows += 1
        return self.rows + 1

    def finish(self) -> Path:
        """Close the file for writing (idempotent) and return its path."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        return self.path

    def __len__(self) -> int:
        return self.rows


class RunFiles:
    """The private temporary directory of one run's files; ``close()`` deletes it and everything in it."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="dsobridge-run-"))  # mode 700
        self.files: list[LineFile] = []

    def new(self, name: str, kind: str, options: CsvOptions, *, label: str | None = None) -> LineFile:
        file = LineFile(self.directory / name, kind, options, label=label)
        self.files.append(file)
        return file

    def close(self) -> None:
        for file in self.files:
            file.finish()
        shutil.rmtree(self.directory, ignore_errors=True)
