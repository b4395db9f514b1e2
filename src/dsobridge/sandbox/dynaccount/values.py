"""Text on the wire ⇄ values in the store, per field type (receivables-model.md "Wire conventions").

Money is kept as integer hundredths in SQLite and rendered by SQL as a JSON number with two decimals;
dates as ``YYYY-MM-DD`` text; booleans as ``YES``/``NO`` text, so where-filters compare stored values.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from dsobridge.sandbox.dynaccount.schema import BOOL, DATE, ENUM, INT, MONEY, Field

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
_MONEY = re.compile(r"^-?\d{1,13}(\.\d{1,2})?$")
_INT = re.compile(r"^-?\d{1,18}$")
_MDY = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4}|\d{2})$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CENT = Decimal("0.01")


def round_half_up(value: Decimal) -> int:
    """To a whole number, rounded half-up."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_cents(value: Decimal | int | str) -> int:
    """Hundredths, rounded half-up."""
    return round_half_up(Decimal(value) * 100)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def _year(text: str) -> int:
    """A four-digit year as is; two digits as PHP's ``y`` reads them: 70–99 → 19xx, 00–69 → 20xx."""
    year = int(text)
    if len(text) == 2:
        year += 1900 if year >= 70 else 2000
    return year


def parse_date(text: str) -> dt.date:
    """``YYYY-MM-DD``, ``m-d-Y`` (spec §4), ``m-d-y`` (``01-02-14``, the PHP library's tests) or a Unix
    timestamp read in Europe/Copenhagen."""
    text = text.strip()
    if _ISO.match(text):
        return dt.date.fromisoformat(text)
    mdy = _MDY.match(text)
    if mdy:
        return dt.date(_year(mdy.group(3)), int(mdy.group(1)), int(mdy.group(2)))
    if _INT.match(text):
        return dt.datetime.fromtimestamp(int(text), tz=COPENHAGEN).date()
    raise ValueError(DATE_MESSAGE)


DATE_MESSAGE = "Must be a date (YYYY-MM-DD, m-d-Y, m-d-y or a Unix timestamp)"


def empty_value(field: Field) -> int | str:
    """What ``''`` ("no value", as the official library sends it for every field) stores: 0, ``''`` or NO."""
    if field.type in (MONEY, INT):
        return 0
    if field.type == BOOL:
        return "NO"
    return ""


def parse_value(field: Field, text: str) -> int | str:
    """The stored value of one input text, or ValueError with the message for the client."""
    kind = field.type
    if text == "":
        return empty_value(field)
    if kind == MONEY:
        if not _MONEY.match(text.strip()):
            raise ValueError("Must be an amount with at most two decimals, like 1250.50")
        return to_cents(text.strip())
    if kind == INT:
        if not _INT.match(text.strip()):
            raise ValueError("Must be an integer")
        return int(text)
    if kind == DATE:
        try:
            return parse_date(text).isoformat()
        except (ValueError, OverflowError, OSError) as exc:
            message = str(exc) if str(exc).startswith("Must") else "Must be a valid date"
            raise ValueError(message) from None
    if kind == BOOL:
        if text not in ("YES", "NO"):
            raise ValueError("Must be YES or NO")
        return text
    if kind == ENUM:
        if text not in field.choices:
            raise ValueError(f"Must be one of {', '.join(field.choices)}")
        return text
    if len(text) > 10_000:
        raise ValueError("Text is too long (max 10000 characters)")
    return text


def default_value(field: Field) -> int | str:
    """The column default of a new row: the empty value, or the first choice of an enum without an empty
    one."""
    if field.type == ENUM and field.choices and "" not in field.choices:
        return field.choices[0]
    return empty_value(field)


def money_sql(column: str) -> str:
    """SQL rendering hundredths as a JSON number with two decimals (``-5.07``)."""
    sign = f"CASE WHEN {column}<0 THEN '-' ELSE '' END"
    return f"json(printf('%s%d.%02d', {sign}, abs({column})/100, abs({column})%100))"


def cvr_valid(cvr: str) -> bool:
    """A Danish CVR number: 8 digits, not starting with 0, mod 11 with weights 2,7,6,5,4,3,2,1."""
    if len(cvr) != 8 or not cvr.isascii() or not cvr.isdigit() or cvr[0] == "0":
        return False
    return sum(w * int(d) for w, d in zip((2, 7, 6, 5, 4, 3, 2, 1), cvr, strict=True)) % 11 == 0
