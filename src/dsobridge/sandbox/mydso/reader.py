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
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

__all__ = ["MAX_COLUMNS", "MAX_FIELD_CHARS", "MAX_SEPARATORS", "CsvFile", "ImportFailed", "open_csv"]

MAX_COLUMNS = 1_000  # named header columns; the widest file type has 29, the rest is room for ERP extras
MAX_SEPARATORS = (
    16_384  # per line (;, , or TAB outside quotes), empty trailing fields included: Excel's width
)
MAX_FIELD_CHARS = 131_072  # the csv module's field limit (csv.field_size_limit()), kept as documented
_BOM = codecs.BOM_UTF8
_QUOTED = re.compile(r'"[^"]*"')
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
    """Decode line by line so that an error names its physical line (ASCII-compatible encodings); UTF-16/32
    go through a text wrapper, where the line of an error is the first line not yet delivered.

    Each line is checked on the way: a NUL character is refused (no CSV holds one, and it would end a value
    early in SQLite and C readers), and so is a line of more than ``MAX_SEPARATORS`` separators, before the
    parser could build a record of millions of fields (a line that long is checked closely, the others pass
    on their length)."""
    number = 1  # the line being decoded
    text = None
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")  # type: ignore[arg-type]
        source: Iterator[str] = iter(text)
    else:
        decode = _decoder(encoding).decode
        source = itertools.chain(map(decode, stream), _tail(decode))
    try:
        for line in source:
            if "\x00" in line:
                raise ImportFailed("CSV_BAD_SYNTAX", f"line {number}: a NUL character{_nul_hint(line)}")
            if len(line) > MAX_SEPARATORS and _separators(line) > MAX_SEPARATORS:
                raise ImportFailed(
                    "CSV_BAD_SYNTAX", f"line {number}: more than {MAX_SEPARATORS:,} fields on one line"
                )
            yield line
            number += 1
    except UnicodeError as exc:
        raise ImportFailed(
            "BAD_ENCODING", f"line {number}: {_decoding_problem(exc)} for {encoding}"
        ) from None
    finally:
        if text is not None:
            text.detach()


def _tail(decode: Callable[..., str]) -> Iterator[str]:
    tail = decode(b"", final=True)
    if tail:
        yield tail


def _separators(line: str) -> int:
    """The separators (any of the three) outside quotes; only called for lines longer than the limit."""
    if max(line.count(";"), line.count(","), line.count("\t")) <= MAX_SEPARATORS:
        return 0
    outside = _QUOTED.sub("", line)
    return max(outside.count(";"), outside.count(","), outside.count("\t"))


def _decoding_problem(error: UnicodeError) -> str:
    # utf-16/utf-32 without a byte order mark: a UnicodeError "UTF-16 stream does not start with BOM" up to
    # Python 3.12, a UnicodeDecodeError whose reason is "Stream does not start with BOM" from 3.13
    text = error.reason if isinstance(error, UnicodeDecodeError) else str(error)
    if "BOM" in text:
        return "no byte order mark (BOM): add one, or name the byte order (e.g. utf-16-le)"
    return text


def _nul_hint(line: str) -> str:
    if line.count("\x00") * 3 < len(line):
        return ""
    return " (every other character: is the file UTF-16? then declare that encoding)"


class CsvFile:
    """``header`` (lower-cased names, in file order) and ``rows()`` yielding ``(line, fields)``."""

    def __init__(self, lines: Iterator[str], first_line: str, skipped: int) -> None:
        self.delimiter = _sniff_delimiter(first_line)
        self._reader = csv.reader(itertools.chain([first_line], lines), delimiter=self.delimiter, strict=True)
        self._skipped = skipped
        try:
            raw = next(self._reader)
        except csv.Error as exc:
            raise ImportFailed("CSV_BAD_SYNTAX", f"line {skipped + 1}: header: {_csv_problem(exc)}") from None
        names = [name.strip().lower() for name in raw]
        # a trailing separator (Protheus) or trailing empty columns (Excel saves the used range, so a sheet
        # with formatted blank columns gives ``a;b;;``): nameless columns at the end are dropped
        self.trailing_separator = len(names) > 1 and names[-1] == ""
        while len(names) > 1 and names[-1] == "":
            names.pop()
        if len(names) > MAX_COLUMNS:
            raise ImportFailed("CSV_BAD_SYNTAX", f"header: {len(names):,} columns, at most {MAX_COLUMNS:,}")
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
            raise ImportFailed(
                "CSV_BAD_SYNTAX", f"line {previous + 1 + skipped}: {_csv_problem(exc)}"
            ) from None


def _csv_problem(error: csv.Error) -> str:
    if "field limit" in str(error):
        return f"a field longer than {MAX_FIELD_CHARS:,} characters"
    return str(error)


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
