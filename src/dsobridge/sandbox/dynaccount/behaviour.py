"""How the seeded customers pay, shared by the seed and by ``advance``.

Each open invoice has a daily chance of being paid, by how late it is (days past due; negative = before due):
most customers pay within about a week of the due date, a slow tail pays months late, and ``DISPUTED`` of the
invoices are never paid (they age into the > 90 bucket). ``PARTIAL`` of the payments settle only part of an
invoice (the remainder follows the same model); ``CREDITED`` of the invoices get a credit note.
"""

from __future__ import annotations

import math
import random

HAZARD = ((-10, -1, 0.03), (0, 30, 0.10), (31, 90, 0.04), (91, 10_000, 0.01))
DISPUTED = 0.01
PARTIAL = 0.12
CREDITED = 0.03


def daily_payment_chance(days_late: int) -> float:
    for first, last, chance in HAZARD:
        if first <= days_late <= last:
            return chance
    return 0.0


def payment_ordinal(rng: random.Random, issued: int, due: int) -> int | None:
    """The day number (``date.toordinal``) an invoice gets paid under ``HAZARD`` (None: never).

    One geometric draw per segment: the seeder's hot path.
    """
    if rng.random() < DISPUTED:
        return None
    for first, last, chance in HAZARD:
        start = max(due + first, issued)
        end = due + last
        if start > end:
            continue
        wait = int(math.log(1.0 - rng.random()) / math.log(1.0 - chance))
        if start + wait <= end:
            return start + wait
    return None
