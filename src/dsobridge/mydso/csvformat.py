"""How one value becomes the text of one CSV cell (spec §4): dates, amounts, flags, numbers and text.

Each ``format_*`` function takes a value that is neither ``None`` nor a ``str`` (those are written as they
are: ``None`` as an empty cell, a ``str`` verbatim, already formatted by the caller) and returns its text, or
raises ``CellError`` saying why the value cannot be written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "CellError",
    "cell_formats",
    "format_amount_point",
    "format_amount_space_comma",
    "format_date",
    "format_flag",
    "format_number",
    "neutralise_formula",
    "text_cell",
]


class CellError(Exception):
    """A value its column cannot hold; the caller turns it into a ``RowError`` naming the row and column."""


def format_amount_point(value: Any) -> str:
    """``Decimal``/``int`` -> ``6580.10``: two decimals or more, never rounded; ``-0.00`` -> ``0.00``."""
    cls = value.__class__
    if cls is Decimal:  # the usual amount already has two decimals: str() is the answer (no exponent then)
        text = str(value)
        if text[-3:-2] == "." and text != "-0.00":
            return text
    elif cls is int:
        return f"{value}.00"
    else:
        raise CellError(f"amount must be Decimal, int or str, not {cls.__name__}")
    if not value.is_finite():
        raise CellError(f"amount must be finite, not {value}")
    text = format(value, "f")
    dot = text.find(".")
    if dot < 0:
        text += ".00"
    elif len(text) - dot == 2:
        text += "0"
    if text[0] == "-" and not value:
        text = text[1:]
    return text


def format_amount_space_comma(value: Any) -> str:
    """``Decimal``/``int`` -> ``6 580,10``: the point format, thousands grouped by a space, comma decimal."""
    head, _, tail = format_amount_point(value).partition(".")
    sign = "-" if head[0] == "-" else ""
    grouped = format(int(head.lstrip("-")), ",").replace(",", " ")
    return f"{sign}{grouped},{tail}"


_ISO_DATES: dict[date, str] = {}
_ISO_DATES_KEPT = 4096


def format_date(value: Any) -> str:
    """``date`` -> ``2025-03-13``. A ``datetime`` is refused: which day it falls on is the caller's call."""
    if value.__class__ is date:
        # a file holds a few hundred distinct dates, and isoformat() costs three times a dict lookup
        text = _ISO_DATES.get(value)
        if text is None:
            if len(_ISO_DATES) >= _ISO_DATES_KEPT:
                _ISO_DATES.clear()
            text = _ISO_DATES[value] = value.isoformat()
        return text
    if isinstance(value, datetime):
        raise CellError("expected a date, got a datetime (pass .date() explicitly)")
    if isinstance(value, date):
        return date.isoformat(value)
    raise CellError(f"expected a date, not {value.__class__.__name__}")


def format_flag(value: Any) -> str:
    """``True``/``False`` (or ``1``/``0``) -> ``1``/``0``."""
    if value is True or value is False or (value.__class__ is int and value in (0, 1)):
        return "1" if value else "0"
    raise CellError(f"expected a bool (1/0), not {value!r}")


def format_number(value: Any) -> str:
    """``int`` or finite ``Decimal`` -> plain digits (``30``, ``7.5``)."""
    cls = value.__class__
    if cls is int:
        return str(value)
    if cls is Decimal and value.is_finite():
        return format(value, "f")
    raise CellError(f"expected an int or Decimal, not {cls.__name__}")


def text_cell(value: Any) -> str:
    """A text cell: a ``str`` subclass is its own text (whatever its ``__str__`` says), the rest ``str()``."""
    return value if isinstance(value, str) else str(value)


def cell_formats(decimal_style: str) -> dict[str, Callable[[Any], str]]:
    """Column type (``rows.column_kinds``) -> the formatter of its values."""
    amount = format_amount_point if decimal_style == "point" else format_amount_space_comma
    return {
        "text": text_cell,
        "date": format_date,
        "amount": amount,
        "flag": format_flag,
        "number": format_number,
    }


_NUMBER_TEXT = re.compile(r"[+-]?[0-9][0-9 \u00a0.,]*")
_FORMULA_START = ("=", "+", "-", "@")


def neutralise_formula(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would run as a formula (starting ``= + - @``, and not a number)."""
    if text.startswith(_FORMULA_START) and not _NUMBER_TEXT.fullmatch(text):
        return "'" + text
    return text
