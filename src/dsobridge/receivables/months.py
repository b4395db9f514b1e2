"""Calendar helpers: month starts and ends, and the periods the DSO walks back over."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def month_start(d: date) -> date:
    return d.replace(day=1)


def month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def days_in_month(d: date) -> int:
    return calendar.monthrange(d.year, d.month)[1]


def is_month_end(d: date) -> bool:
    return d == month_end(d)


def add_months(d: date, months: int) -> date:
    """``d`` moved by ``months`` calendar months, the day clamped to the target month's length."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def previous_month_end(d: date) -> date:
    """The last day of the month before ``d``'s month."""
    return month_start(d) - timedelta(days=1)


def history_points(as_of: date, months: int) -> list[date]:
    """The dates of a monthly history of ``months`` points ending at ``as_of``, oldest first.

    The last point is ``as_of`` itself (month to date when it is not a month end); the others are the ends of
    the preceding months.
    """
    if months < 1:
        raise ValueError("months must be at least 1")
    points = [as_of]
    cursor = as_of
    for _ in range(months - 1):
        cursor = previous_month_end(cursor)
        points.append(cursor)
    return points[::-1]


def periods_back(as_of: date, earliest: date) -> list[tuple[date, date]]:
    """Calendar-month periods ``(start, end)`` walking back from ``as_of``, most recent first.

    The first period is ``as_of``'s month up to ``as_of`` (a whole month when ``as_of`` is a month end);
    the walk stops with the month holding ``earliest``.
    """
    out: list[tuple[date, date]] = []
    end = as_of
    floor = month_start(earliest)
    while end >= floor:
        out.append((month_start(end), end))
        end = previous_month_end(end)
    return out
