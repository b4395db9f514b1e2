"""Explicit rounding: money per currency precision, days and percentages, always half-up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: ISO 4217 minor units that are not 2. Anything not listed has 2 decimals.
MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
    "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip

DAYS_PLACES = 2
PERCENT_PLACES = 1


def minor_units(currency: str) -> int:
    """Decimals of ``currency`` (2 unless ISO 4217 says otherwise)."""
    return MINOR_UNITS.get(currency.upper(), 2)


def _quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the precision of ``currency``: ``round_money(Decimal("2.345"), "DKK")``
    is ``Decimal("2.35")``."""
    return _quantize(amount, minor_units(currency))


def round_days(days: Decimal) -> Decimal:
    """A number of days to 2 decimals, half-up."""
    return _quantize(days, DAYS_PLACES)


def round_percent(pct: Decimal) -> Decimal:
    """A percentage to 1 decimal, half-up."""
    return _quantize(pct, PERCENT_PLACES)
