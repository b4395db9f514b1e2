"""Receivables measures straight from Dynaccount: build ``dsobridge.receivables.Item`` s with dated events.

Each invoice, credit note and payment posting becomes an item (signed, incl. VAT, in its own currency); each
match that touches it becomes a dated event lowering its remaining amount; the match that brings it to zero
is its clearing (payment date). Used by ``dsobridge report`` and the demo. Unlike the sync, this holds the
ledger in memory: it is a report over the whole history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from dsobridge.receivables import Event, Item
from dsobridge.sync.extract import RowSource
from dsobridge.sync.mapping import Mapper
from dsobridge.sync.openitems import money, to_date

ZERO = Decimal("0.00")


def _events(
    issue: date, initial: Decimal, matches: Iterable[tuple[date, Decimal]]
) -> tuple[tuple[Event, ...], date | None]:
    """Events from the (date, amount) allocations of a document of ``initial`` (absolute) amount."""
    remaining = initial
    events = [Event(issue, initial, kind="created")]
    paid: date | None = None
    for when, amount in sorted(matches):
        remaining -= amount
        if remaining <= 0:
            paid = max(when, issue)
            events.append(Event(paid, ZERO, payment_date=paid, kind="cleared"))
            break
        events.append(Event(max(when, issue), remaining))
    return tuple(events), paid


def _signed(events: tuple[Event, ...], sign: int) -> tuple[Event, ...]:
    if sign > 0:
        return events
    return tuple(Event(e.effective_date, -e.amount_remaining, e.payment_date, e.kind) for e in events)


def receivable_items(source: RowSource, *, mapper: Mapper | None = None, page_size: int = 1000) -> list[Item]:
    """Every invoice, credit note and payment on account of the included debtors, with its history."""
    mapper = mapper or Mapper()
    debtors = {}
    for row in source.iter_rows("debtor", order="id", page_size=page_size):
        info = mapper.debtor_info(row)
        debtors[info.number] = info
    by_invoice: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    by_note: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    by_payment: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    for m in source.iter_rows("debtor_invoice_match", order="id", page_size=page_size):
        when = to_date(m.get("time"))
        if when is None:
            continue
        amount = money(m.get("amount"))
        by_invoice[int(m.get("invoice_id_") or 0)].append((when, amount))
        if str(m.get("is_creditnote")).upper() == "YES":
            by_note[int(m.get("creditnote_id_") or 0)].append((when, amount))
        elif int(m.get("payment_id") or 0):
            by_payment[int(m.get("payment_id") or 0)].append((when, amount))

    items: list[Item] = []
    types = mapper.config.item_types

    def add(
        kind: str, row: dict[str, Any], number: int, key: str, due: date | None, allocations: list
    ) -> None:
        info = debtors.get(str(row.get("module_id_")))
        issue = to_date(row.get("time"))
        if info is None or info.excluded or issue is None:
            return
        sign = 1 if kind == "INVOICE" else -1
        initial = abs(money(row.get("total_amount") if kind != "PAYMENT" else row.get("currency_amount")))
        events, paid = _events(issue, initial, allocations)
        if kind == "PAYMENT" and paid == issue:
            return  # allocated on its own date: never a payment on account
        items.append(
            Item(
                key=key,
                client_code=info.client_code,
                item_type=types.get(kind, kind),
                issue_date=issue,
                due_date=due or issue,
                currency=str(row.get("currency_name") or info.currency),
                amount_initial=sign * initial,
                group=info.group or None,
                item_number=str(number),
                payment_date=paid,
                events=_signed(events, sign),
            )
        )

    for row in source.iter_rows(
        "debtor_invoice", where={"is_booked": "YES"}, order="id", page_size=page_size
    ):
        number = int(row.get("invoice_id_") or 0)
        add(
            "INVOICE",
            row,
            number,
            f"INVOICE-{number}",
            to_date(row.get("time_due")),
            by_invoice.get(number, []),
        )
    for row in source.iter_rows(
        "debtor_creditnote", where={"is_booked": "YES"}, order="id", page_size=page_size
    ):
        number = int(row.get("invoice_id_") or 0)
        add("CREDITNOTE", row, number, f"CREDITNOTE-{number}", None, by_note.get(number, []))
    for row in source.iter_rows(
        "debtor_accounting_module", where={"type": "PAYMENT"}, order="id", page_size=page_size
    ):
        posting = int(row.get("id") or 0)
        add(
            "PAYMENT",
            row,
            int(row.get("enc_id_") or 0),
            f"PAYMENT-{posting}",
            None,
            by_payment.get(posting, []),
        )
    return items


def currencies(items: Iterable[Item]) -> list[str]:
    return sorted({i.currency for i in items})
