"""Receivables measures — pure, no I/O, ``Decimal`` only (see docs/receivables.md).

Inputs are immutable :class:`Item` s with dated :class:`Event` s. From them: the open amount as of any date,
the aging balance, standard and countback DSO, best possible DSO and ADD, CEI per month, monthly history.

>>> from datetime import date
>>> from decimal import Decimal
>>> from dsobridge.receivables import SalesPeriod, countback_dso
>>> countback_dso(Decimal(700000), [SalesPeriod(date(2025, 6, 1), date(2025, 6, 30), Decimal(500000)),
...                                 SalesPeriod(date(2025, 5, 1), date(2025, 5, 31), Decimal(350000))]).days
Decimal('47.71')
"""

from __future__ import annotations

from dsobridge.receivables.aging import (
    BUCKET_LABELS,
    BUCKETS,
    CREDITS_BY_DATE,
    CREDITS_COLUMN,
    OVERDUE_BUCKETS,
    Aging,
    aging,
    bucket_for,
    bucket_of,
)
from dsobridge.receivables.cei import CeiPeriod, cei, cei_between, cei_by_month
from dsobridge.receivables.dso import (
    Countback,
    DsoFigures,
    SalesLedger,
    SalesPeriod,
    countback_dso,
    dso,
    dso_history,
    standard_dso,
)
from dsobridge.receivables.models import ITEM_TYPES, MEMO_TYPES, SALES_TYPES, Event, Item
from dsobridge.receivables.money import minor_units, round_days, round_money, round_percent
from dsobridge.receivables.months import (
    add_months,
    days_in_month,
    history_points,
    is_month_end,
    month_end,
    month_start,
    periods_back,
    previous_month_end,
)
from dsobridge.receivables.openamount import (
    balance,
    balances_by_currency,
    cleared_on,
    days_late,
    is_open,
    open_amount,
)

__all__ = [
    "BUCKETS",
    "BUCKET_LABELS",
    "CREDITS_BY_DATE",
    "CREDITS_COLUMN",
    "ITEM_TYPES",
    "MEMO_TYPES",
    "OVERDUE_BUCKETS",
    "SALES_TYPES",
    "Aging",
    "CeiPeriod",
    "Countback",
    "DsoFigures",
    "Event",
    "Item",
    "SalesLedger",
    "SalesPeriod",
    "add_months",
    "aging",
    "balance",
    "balances_by_currency",
    "bucket_for",
    "bucket_of",
    "cei",
    "cei_between",
    "cei_by_month",
    "cleared_on",
    "countback_dso",
    "days_in_month",
    "days_late",
    "dso",
    "dso_history",
    "history_points",
    "is_month_end",
    "is_open",
    "minor_units",
    "month_end",
    "month_start",
    "open_amount",
    "periods_back",
    "previous_month_end",
    "round_days",
    "round_money",
    "round_percent",
    "standard_dso",
]
