"""The receivables measures (aging, DSO) of a list of items as terminal tables and as JSON.

What ``dsobridge report`` and ``dsobridge demo`` print; the figures themselves come from
:mod:`dsobridge.receivables` (pure), the items from :mod:`dsobridge.sync.measures`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from dsobridge.receivables import BUCKET_LABELS, BUCKETS, Item, aging, dso
from dsobridge.terminal import AMOUNT, COUNT, FIGURE, Column, Grid

__all__ = ["aging_table", "dso_table", "measures_json"]


def _currencies(items: list[Item], currencies: Iterable[str] | None) -> list[str]:
    from dsobridge.sync.measures import currencies as of_items

    return list(currencies) if currencies is not None else of_items(items)


def aging_table(
    items: list[Item],
    as_of: date,
    *,
    client: str | None = None,
    title: str = "",
    currencies: Iterable[str] | None = None,
) -> Grid:
    """One row per currency with open items: the buckets, unallocated credits, total, overdue %, items."""
    columns = [Column("currency")]
    columns += [Column(BUCKET_LABELS[b], AMOUNT) for b in BUCKETS]
    columns += [
        Column("unallocated credits", AMOUNT),
        Column("total", AMOUNT),
        Column("overdue %", FIGURE, drop=2),
        Column("items", COUNT, drop=1),
    ]
    table = Grid(title or f"aging by due date as of {as_of}", columns)
    for currency in _currencies(items, currencies):
        ag = aging(items, as_of, currency, client_code=client)
        if not ag.items:
            continue
        pct = "" if ag.overdue_pct is None else f"{ag.overdue_pct}"
        table.add_row(
            currency, *(ag.buckets[b] for b in BUCKETS), ag.unallocated_credits, ag.total, pct, ag.items
        )
    return table


def dso_table(
    items: list[Item],
    as_of: date,
    *,
    client: str | None = None,
    title: str = "",
    currencies: Iterable[str] | None = None,
) -> Grid:
    """One row per currency with receivables or sales: countback DSO (≥ when the history ran out), best
    possible DSO, ADD, the 3-month standard DSO and overdue %."""
    columns = [
        Column("currency"),
        Column("receivables", AMOUNT),
        Column("not yet due", AMOUNT, drop=4),
        Column("countback DSO", FIGURE),
        Column("best possible", FIGURE, drop=3),
        Column("ADD", FIGURE, drop=2),
        Column("standard DSO (3 m)", FIGURE, drop=1),
        Column("overdue %", FIGURE, drop=5),
    ]
    table = Grid(title or f"DSO as of {as_of}", columns)
    for currency in _currencies(items, currencies):
        fig = dso(items, as_of, currency, client_code=client)
        if fig.receivables == 0 and fig.standard_sales == 0:
            continue
        bound = "≥ " if fig.countback.lower_bound else ""
        table.add_row(
            currency,
            fig.receivables,
            fig.current_receivables,
            f"{bound}{fig.countback.days} d",
            f"{fig.best_countback.days} d",
            f"{fig.add_countback} d",
            "" if fig.standard is None else f"{fig.standard} d",
            "" if fig.overdue_pct is None else str(fig.overdue_pct),
        )
    return table


def measures_json(
    items: list[Item], what: str, as_of: date, client: str | None, currencies: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    out = []
    for currency in _currencies(items, currencies):
        if what == "aging":
            ag = aging(items, as_of, currency, client_code=client)
            out.append(
                {
                    "currency": currency,
                    "as_of": as_of.isoformat(),
                    "buckets": {k: str(v) for k, v in ag.buckets.items()},
                    "unallocated_credits": str(ag.unallocated_credits),
                    "total": str(ag.total),
                    "items": ag.items,
                }
            )
        else:
            fig = dso(items, as_of, currency, client_code=client)
            out.append(
                {
                    "currency": currency,
                    "as_of": as_of.isoformat(),
                    "receivables": str(fig.receivables),
                    "current_receivables": str(fig.current_receivables),
                    "countback_days": str(fig.countback.days),
                    "countback_lower_bound": fig.countback.lower_bound,
                    "best_countback_days": str(fig.best_countback.days),
                    "add_days": str(fig.add_countback),
                    "standard_days": None if fig.standard is None else str(fig.standard),
                }
            )
    return out
