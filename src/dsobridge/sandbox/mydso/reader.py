"""The tolerant, streaming reader for the files real exporters send (spec §4).

It decodes a binary stream incrementally in the declared encoding (a UTF-8 BOM wins over the declaration),
guesses the separator from the header line (``;``, else TAB, else ``,``), accepts quoted or bare fields, CRLF
or LF and a trailing separator on every line, and never holds more than one row in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["CsvFile", "ImportFailed", "open_csv"]

_BOM = codecs.BOM_UTF8
_C1_FALLBACK = "dsobridge-latin1-fallback"


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error(_C1_FALLBACK, _latin1_fallback)


def _decoder(encoding: str) -> codecs.IncrementalDecoder:
    """A declared ISO-8859-1 is read as Windows-1252 (as browsers do, WHATWG Encoding Standard): the files
    come from Excel on Windows, whose ``€`` (0x80) or ``–`` (0x96) would otherwise become C1 controls.
    The five bytes Windows-1252 leaves undefined keep their ISO-8859-1 meaning, so nothing is rejected."""
    if codecs.lookup(encoding).name == "iso8859-1":
        return codecs.getincrementaldecoder("cp1252")(errors=_C1_FALLBACK)
    return codecs.getincrementaldecoder(encoding)(errors="strict")


class ImportFailed(Exception):
    """A file-level error: the import changes nothing and the response carries ``code``."""

    def __init__(self, code: str, message: str, *, status: int = 400, column: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.column = column


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def _sniff_delimiter(header_line: str) -> str:
    for candidate in (";", "\t", ","):
        if _count_outside_quotes(header_line, candidate):
            return candidate
    return ";"


def _decoded_lines(stream: BinaryIO, encoding: str) -> Iterator[str]:
    """Decode line by line so that an encoding error names its physical line (ASCII-compatible encodings);
    UTF-16/32 go through a text wrapper, where the line of an error is the first line not yet delivered."""
    number = 1  # the line being decoded
    try:
        if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
            text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")  # type: ignore[arg-type]
            try:
                for line in text:
                    yield line
                    number += 1
            finally:
                text.detach()
            return
        decode = _decoder(encoding).decode
        for raw in stream:
            yield decode(raw)
            number += 1
        tail = decode(b"", final=True)
        if tail:
            yield tail
    except UnicodeDecodeError as exc:
        line = number
        raise ImportFailed("BAD_ENCODING", f"line {line}: {exc.reason} for {encoding}") from None


class CsvFile:
    """``header`` (lower-cased names, in file order) and ``rows()`` yielding ``(line, fields)``."""

    def __init__(self, lines: Iterator[str], first_line: str, skipped: int) -> None:
        self.delimiter = _sniff_delimiter(first_line)
        self._reader = csv.reader(itertools.chain([first_line], lines), delimiter=self.delimiter, strict=True)
        self._skipped = skipped
        try:
            raw = next(self._reader)
        except csv.Error as exc:
            raise ImportFailed("CSV_BAD_SYNTAX", f"line {skipped + 1}: header: {exc}") from None
        names = [name.strip().lower() for name in raw]
        # a trailing separator (Protheus) or trailing empty columns (Excel saves the used range, so a sheet
        # with formatted blank columns gives ``a;b;;``): nameless columns at the end are dropped
        self.trailing_separator = len(names) > 1 and names[-1] == ""
        while len(names) > 1 and names[-1] == "":
            names.pop()
        seen: set[str] = set()
        for position, name in enumerate(names, start=1):
            if not name:
                raise ImportFailed("CSV_BAD_SYNTAX", f"header: column {position} has no name")
            if name in seen:
                raise ImportFailed(
                    "CSV_BAD_SYNTAX", f"header: duplicate column {name!r} (column {position})", column=name
                )
            seen.add(name)
        self.header = names

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Data rows with the physical line where each starts (the header is line 1 when nothing precedes it).

        Blank lines are skipped. Empty fields beyond the header's width (a trailing separator) are dropped;
        a row may be shorter or longer than the header: the importer decides.
        """
        reader = self._reader
        skipped = self._skipped
        width = len(self.header)
        previous = reader.line_num
        try:
            for fields in reader:
                line = previous + 1 + skipped
                previous = reader.line_num
                if len(fields) > width and not any(fields[width:]):
                    del fields[width:]
                if not any(fields):
                    continue
                yield line, fields
        except csv.Error as exc:
            raise ImportFailed("CSV_BAD_SYNTAX", f"line {previous + 1 + skipped}: {exc}") from None


def open_csv(stream: BinaryIO, encoding: str) -> CsvFile:
    """Read the header of ``stream`` (seekable, binary) and return the file ready to stream its rows."""
    head = stream.read(3)
    if head == _BOM:
        encoding = "utf-8"
    else:
        stream.seek(0)
    lines = _decoded_lines(stream, encoding)
    for skipped, line in enumerate(lines):
        if line.strip():
            return CsvFile(lines, line, skipped)
    raise ImportFailed("CSV_EMPTY", "the file is empty")
