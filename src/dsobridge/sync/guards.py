"""Safety guards: the checks that stop a run before anything is sent (exit code 3).

A STOCK items file clears, at My DSO Manager, every open item it does not hold. So it is never sent after
an incomplete extraction (a failed page fails the run before delivery; a skipped client refuses it here), nor
when the number or the total of open items drops by more than ``max_drop`` from the last successful STOCK run.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


class GuardRefusal(Exception):
    """A safety guard refused the run; nothing was sent."""


def check_stock_complete(skipped_clients: Sequence[str], *, force: bool = False) -> None:
    """Refuse a STOCK items file when any client (and so its items) was skipped."""
    if skipped_clients and not force:
        shown = ", ".join(skipped_clients[:20]) + (" …" if len(skipped_clients) > 20 else "")
        raise GuardRefusal(
            f"{len(skipped_clients)} client(s) skipped ({shown}): "
            "a STOCK items file would clear their items; "
            "refused (fix the debtors, or use --force)"
        )


def drop_share(previous: Decimal | int, current: Decimal | int) -> Decimal:
    """The share by which ``current`` is below ``previous`` (0 when it did not drop)."""
    previous, current = Decimal(previous), Decimal(current)
    if previous <= 0 or current >= previous:
        return Decimal(0)
    return (previous - current) / previous


def check_drop(
    previous_count: int,
    previous_total: Decimal,
    count: int,
    total: Decimal,
    *,
    max_drop: Decimal = Decimal("0.30"),
    force: bool = False,
) -> None:
    """Refuse when the number or the total (Σ |remaining|) of open items fell by more than ``max_drop``."""
    if force:
        return
    by_count = drop_share(previous_count, count)
    by_total = drop_share(previous_total, total)
    problems = []
    if by_count > max_drop:
        problems.append(f"open items {previous_count} → {count} (−{by_count:.0%})")
    if by_total > max_drop:
        problems.append(f"open total {previous_total} → {total} (−{by_total:.0%})")
    if problems:
        raise GuardRefusal(
            "open items dropped by more than "
            f"{max_drop:.0%} since the last successful STOCK run: {'; '.join(problems)}. "
            "A STOCK file would clear "
            "them at My DSO Manager; refused (check Dynaccount, or use --force)"
        )
