"""Check an existing CSV file locally with the writer's rules, collecting every rejection.

The reader accepts what spec §4 says the server accepts (``;``, ``,`` or TAB, a trailing separator, CRLF or
LF, a UTF-8 BOM, the listed amount and date spellings); each row then goes through the writer's checks.
"""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from dsobridge.mydso.csvfile import CsvOptions, check_header, row_formatter
from dsobridge.mydso.errors import HeaderError, RowError
from dsobridge.mydso.rows import COLUMNS, column_kinds, kind_of

__all__ = ["check_file", "parse_amount", "parse_date"]

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%Y%m%d", "%d-%b-%y")
_SPACES = str.maketrans("", "", " \u00a0\u202f")


def parse_amount(text: str) -> Decimal:
    """``1200``, ``1200.00123``, ``1 200,00``, ``6 580,10``, ``-100``, ``1.234,56`` -> Decimal, no float."""
    s = text.strip().translate(_SPACES)
    if "," in s and "." in s:
        s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
    elif "," in s:
        if s.count(",") != 1:
            raise ValueError(f"not an amount: {text!r}")
        s = s.replace(",", ".")
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    return value


def parse_date(text: str) -> date:
    """``YYYY-MM-DD``, ``YYYY/MM/DD``, ``DD/MM/YYYY``, ``YYYYMMDD`` or ``DD-MON-YY`` -> date."""
    s = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r}")


def _decode(data: bytes, encoding: str) -> str:
    if codecs.lookup(encoding).name == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RowError(line - 1, None, f"bytes invalid in {encoding} at offset {exc.start}") from None


def check_file(
    kind: str | Enum, data: bytes, *, encoding: str = "UTF-8", options: CsvOptions | None = None
) -> list[RowError]:
    """Return every rejection the writer's rules find in ``data`` (empty list: the file is clean).

    Unknown columns are reported and ignored (as the server does); a duplicate or missing required column
    stops the check, since the server refuses the whole file then.
    """
    kind = kind_of(kind)
    try:
        text = _decode(data, encoding)
    except RowError as exc:
        return [exc]
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line else "," if "," in first_line else "\t"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        return [HeaderError(None, "empty file")]
    while header and header[-1].strip() == "":
        header.pop()  # a trailing separator on every line
    header = [h.strip() for h in header]
    problems: list[RowError] = []
    keep = [i for i, h in enumerate(header) if h in COLUMNS[kind]]
    for h in header:
        if h not in COLUMNS[kind]:
            problems.append(HeaderError(h, f"unknown column for a {kind} file (ignored by the server)"))
    columns = [header[i] for i in keep]
    try:
        check_header(kind, columns)
    except HeaderError as exc:
        return [*problems, exc]
    base = options or CsvOptions()
    opts = CsvOptions(
        encoding=base.encoding,
        decimal_style=base.decimal_style,
        check_signs=base.check_signs,
        check_duplicates=base.check_duplicates,
        columns=columns,
    )
    format_row = row_formatter(kind, columns, opts)
    types = column_kinds(kind)
    n = 0
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        n += 1
        row: dict[str, Any] = {}
        bad: RowError | None = None
        for i, column in zip(keep, columns, strict=True):
            value: Any = cells[i] if i < len(cells) else ""
            if value == "":
                row[column] = None
                continue
            try:
                if types[column] == "date":
                    value = parse_date(value)
                elif types[column] == "amount":
                    value = parse_amount(value)
                elif types[column] == "flag" and value.strip() not in ("0", "1"):
                    raise ValueError(f"expected 1 or 0, not {value!r}")
            except ValueError as exc:
                bad = bad or RowError(n, column, str(exc))
            row[column] = value
        if bad is not None:
            problems.append(bad)
            continue
        try:
            format_row(row, n)
        except RowError as exc:
            problems.append(exc)
    if n == 0:
        problems.append(RowError(0, None, "no data row (the server answers CSV_EMPTY)"))
    return problems
