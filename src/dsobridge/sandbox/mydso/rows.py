"""What every import reads and counts: the file's rows fitted to its header, the tally of outcomes, the
context (connection, account, import date) an importer works in, and the account's known client codes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

from dsobridge.sandbox.mydso.reader import CsvFile

__all__ = ["MAX_REJECTED_ROWS", "ImportContext", "KnownClients", "Tally", "fitted_rows", "plain_rows"]

MAX_REJECTED_ROWS = 1000


@dataclass
class Tally:
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    cleared: int = 0
    rejected: int = 0
    rejections: list[tuple[int, str | None, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def reject(self, line: int, column: str | None, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_REJECTED_ROWS:
            self.rejections.append((line, column, reason))


@dataclass
class ImportContext:
    conn: sqlite3.Connection
    account: str
    today: str
    import_id: int
    base_currency: str


class KnownClients(dict[str, bool]):
    """``clients[code]``: does the account have that client? Looked up once per distinct code in the file,
    so a 10-row file costs at most 10 look-ups, whatever the number of clients. Build one per import: the
    answers hold while nothing adds or removes clients (the items, contacts and users imports do not)."""

    def __init__(self, conn: sqlite3.Connection, account: str) -> None:
        super().__init__()
        self._conn = conn
        self._account = account

    def __missing__(self, code: str) -> bool:
        found = self._conn.execute(
            "SELECT 1 FROM client WHERE account = ? AND client_code = ?", (self._account, code)
        ).fetchone()
        self[code] = found is not None
        return found is not None


def fitted_rows(csv_file: CsvFile, tally: Tally) -> Iterator[tuple[int, list[str], bool]]:
    """Rows cut or padded to the header's width, with a flag set when the row had extra non-empty fields
    (rejected as ``FIELD_COUNT``; items still use its key so that STOCK does not clear that item)."""
    width = len(csv_file.header)
    for line, fields in csv_file.rows():
        tally.rows += 1
        n = len(fields)
        if n == width:
            yield line, fields, False
        elif n > width:
            yield line, fields[:width], True
        else:
            fields.extend([""] * (width - n))
            yield line, fields, False


def plain_rows(csv_file: CsvFile, tally: Tally) -> Iterator[tuple[int, list[str]]]:
    """The rows of a file whose importer has no use for a row with extra fields: those are rejected here."""
    for line, fields, extra in fitted_rows(csv_file, tally):
        if extra:
            tally.reject(line, None, "FIELD_COUNT")
        else:
            yield line, fields
