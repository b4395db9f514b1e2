"""Amount and date values as real exporters write them (spec §4), parsed without ever going through float.

Each parser returns the canonical stored text (amount ``"-1250.00"``, date ``"2025-03-13"``) or ``None`` when
the value cannot be read. The fast paths cover what our own client writes; the slow paths cover the rest.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

__all__ = [
    "EARLIEST_DATE",
    "LATEST_AS_OF",
    "as_of_in_range",
    "canonical_amount",
    "parse_amount",
    "parse_date",
]

# No receivable is dated before 1900, and month arithmetic breaks near year 1: earlier dates are refused.
EARLIEST_DATE = date(1900, 1, 1)
# The latest "as of" date and sandbox clock: the DSO walks back month by month from it, so a date centuries
# ahead would make one request take minutes. Item dates may go further (9999-12-31 as "no due date").
LATEST_AS_OF = date(2100, 12, 31)
_EARLIEST_ISO = EARLIEST_DATE.isoformat()

_PLAIN_2DP = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9][0-9]")
_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)")  # Oracle writes 0.5 as ".5"
_GROUPED_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
_ORACLE = re.compile(r"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{2}|[0-9]{4})")
_DMY = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})")
_YMD_SLASH = re.compile(r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})")
_COMPACT = re.compile(r"[0-9]{8}")


def canonical_amount(value: Decimal) -> str:
    """Two decimals at least, more only when they carry digits; never ``-0.00``."""
    if value == 0:
        return "0.00"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return f"{value:.2f}"
    text = f"{value.normalize():f}"
    decimals = len(text) - text.index(".") - 1 if "." in text else 0
    if decimals < 2:
        return f"{value:.2f}"
    return text


def parse_amount(text: str) -> str | None:
    """``1200``, ``1200.00123``, ``1 200,00``, ``6 580,10``, ``-100``, ``1.234,56``, ``1,234.56``, ``100-``,
    ``.5`` / ``-.5`` (Oracle's implicit number-to-text drops the leading zero).

    The rightmost of ``.``/``,`` is the decimal mark when both appear; a lone ``,`` is a decimal comma;
    several of the same mark are thousands separators. Spaces, no-break spaces and apostrophes group
    thousands.
    """
    if _PLAIN_2DP.fullmatch(text):
        return "0.00" if text == "-0.00" else text
    s = text.strip().translate(_GROUPED_SPACES)
    if not s:
        return None
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    elif s.endswith("-") and not s.startswith(("-", "+")):
        negative, s = True, s[:-1]
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        if s.rfind(",") > s.rfind("."):
            if dots and s.rfind(".") > s.find(","):
                return None
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif commas == 1:
        s = s.replace(",", ".")
    elif commas > 1:
        s = s.replace(",", "")
    elif dots > 1:
        s = s.replace(".", "")
    if not _PLAIN.fullmatch(s):
        return None
    try:
        value = Decimal(s)
    except InvalidOperation:  # pragma: no cover - the regex above admits only valid literals
        return None
    return canonical_amount(-value if negative else value)


def parse_date(text: str) -> str | None:
    """``YYYY-MM-DD``, ``YYYY/MM/DD``, ``DD/MM/YYYY`` (also ``.``/``-``), ``YYYYMMDD``, ``DD-MON-YY(YY)``;
    from ``EARLIEST_DATE`` on."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        try:
            date.fromisoformat(text)
        except ValueError:
            return None
        return text if text >= _EARLIEST_ISO else None
    iso = _parse_other_date(text)
    return iso if iso is not None and iso >= _EARLIEST_ISO else None


def as_of_in_range(day: date) -> bool:
    return EARLIEST_DATE <= day <= LATEST_AS_OF


def _parse_other_date(text: str) -> str | None:
    s = text.strip()
    try:
        if _COMPACT.fullmatch(s):
            return date(int(s[:4]), int(s[4:6]), int(s[6:])).isoformat()
        if m := _YMD_SLASH.fullmatch(s):
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        if m := _DMY.fullmatch(s):
            return date(int(m[3]), int(m[2]), int(m[1])).isoformat()
        if m := _ORACLE.fullmatch(s):
            month = _MONTHS.get(m[2].upper())
            if month is None:
                return None
            year = int(m[3])
            if len(m[3]) == 2:  # Oracle's RR rule: 00-49 -> 20xx, 50-99 -> 19xx
                year += 2000 if year < 50 else 1900
            return date(year, month, int(m[1])).isoformat()
        if s != text:
            return parse_date(s)
    except ValueError:
        return None
    return None
