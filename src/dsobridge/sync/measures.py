"""Receivables measures straight from Dynaccount: build ``dsobridge.receivables.Item`` s with dated events.

Each invoice, credit note and payment posting becomes an item (signed, incl. VAT, in its own currency); each
match that touches it becomes a dated event lowering its remaining amount; the match that brings it to zero
is its clearing (payment date). Used by ``dsobridge report`` and the demo.

The items are streamed (``iter_receivable_items``): what stays in memory is the debtors and the matches (a
date and an amount each), never the documents. ``measure_input`` keeps, in the same single pass, only what a
measure as of one date needs (``fold_for``), so a report over years of history holds about the open set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dsobridge.receivables import MEMO_TYPES, Event, Item, open_amount
from dsobridge.sync.extract import Extractor, Row, RowSource
from dsobridge.sync.fields import select_fields
from dsobridge.sync.mapping import DebtorInfo, Mapper
from dsobridge.sync.openitems import match_targets, money, to_date

ZERO = Decimal("0.00")
#: ``progress(label, rows)``: ``rows`` read so far of the read named ``label`` (called every page or so).
Progress = Callable[[str, int], None]
#: The document reads, in order: (kind, table, filter). Each is made as two queries, ``is_matched=NO`` then
#: ``YES`` (booleans are YES/NO, spec dynaccount-api): the same rows as the one filter, but a query on both
#: fields is the one the sync makes and is served in ``id`` order from an index; one filter with ``order=id``
#: makes the sandbox (and any SQL store without that index) sort every matching row for every page.
DOCUMENT_READS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("INVOICE", "debtor_invoice", {"is_booked": "YES"}),
    ("CREDITNOTE", "debtor_creditnote", {"is_booked": "YES"}),
    ("PAYMENT", "debtor_accounting_module", {"type": "PAYMENT"}),
)
MATCH_STATES = ("NO", "YES")
#: The fields a report reads: the sync's base lists (no override fields: nothing here renders a template).
REPORT_FIELDS: Mapping[str, tuple[str, ...]] = select_fields()
_PROGRESS_EVERY = 1000

Allocations = dict[str, dict[int, tuple[tuple[date, Decimal], ...]]]


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


def _rows(
    source: RowSource,
    table: str,
    label: str,
    where: dict[str, str] | None,
    page_size: int,
    progress: Progress | None,
) -> Iterator[Row]:
    rows = Extractor(source, page_size=page_size, fields=REPORT_FIELDS).stream(table, where=where)
    if progress is None:
        yield from rows
        return
    count = 0
    progress(label, count)
    for row in rows:
        yield row
        count += 1
        if count % _PROGRESS_EVERY == 0:
            progress(label, count)
    progress(label, count)


def allocations(matches: Iterable[Row]) -> Allocations:
    """Kind → document key → its dated allocations: invoices by ``invoice_id_``, credit notes by
    ``creditnote_id_`` (``is_creditnote=YES``), payment postings by ``payment_id``. Undated matches count
    for nothing.

    This is what a report holds for the whole ledger, so it is kept small: a tuple per document (most have
    one match), one (date, amount) pair per match shared by both its documents, one date object per day.
    """
    out: Allocations = {kind: {} for kind, _, _ in DOCUMENT_READS}
    invoices, notes, payments = out["INVOICE"], out["CREDITNOTE"], out["PAYMENT"]
    for m in matches:
        when = to_date(m.get("time"))
        if when is None:
            continue
        pair = (when, money(m.get("amount")))
        for allocated, key in zip((invoices, notes, payments), match_targets(m), strict=True):
            if key:
                allocated[key] = (*allocated.get(key, ()), pair)
    return out


def document_item(
    kind: str,
    row: Row,
    debtors: Mapping[str, DebtorInfo],
    allocated: Mapping[int, tuple[tuple[date, Decimal], ...]],
    item_types: Mapping[str, str],
) -> Item | None:
    """The item of one document row (``kind``: INVOICE, CREDITNOTE, PAYMENT), or None when it is not one: a
    debtor not read or excluded, no date, or a payment allocated on its own date (never on account)."""
    info = debtors.get(str(row.get("module_id_")))
    issue = to_date(row.get("time"))
    if info is None or info.excluded or issue is None:
        return None
    if kind == "PAYMENT":
        number, key = int(row.get("enc_id_") or 0), int(row.get("id") or 0)
        initial = abs(money(row.get("currency_amount")))
    else:
        number = key = int(row.get("invoice_id_") or 0)
        initial = abs(money(row.get("total_amount")))
    events, paid = _events(issue, initial, allocated.get(key, ()))
    if kind == "PAYMENT" and paid == issue:
        return None
    sign = 1 if kind == "INVOICE" else -1
    due = to_date(row.get("time_due")) if kind == "INVOICE" else None
    return Item(
        key=f"{kind}-{key}",
        client_code=info.client_code,
        item_type=item_types.get(kind, kind),
        issue_date=issue,
        due_date=due or issue,
        currency=str(row.get("currency_name") or info.currency),
        amount_initial=sign * initial,
        group=info.group or None,
        item_number=str(number),
        payment_date=paid,
        events=_signed(events, sign),
    )


def iter_receivable_items(
    source: RowSource,
    *,
    mapper: Mapper | None = None,
    page_size: int = 1000,
    progress: Progress | None = None,
) -> Iterator[Item]:
    """Every invoice, credit note and payment on account of the included debtors, with its history, one at a
    time: the debtors, then every match, then the documents (booked invoices, booked credit notes, payment
    postings), each read once."""
    mapper = mapper or Mapper()
    debtor_rows = _rows(source, "debtor", "debtors", None, page_size, progress)
    debtors = {info.number: info for info in map(mapper.debtor_info, debtor_rows)}
    match_rows = _rows(source, "debtor_invoice_match", "matches", None, page_size, progress)
    allocated = allocations(match_rows)
    types = mapper.config.item_types
    for kind, table, where in DOCUMENT_READS:
        for state in MATCH_STATES:
            label = f"{table} ({'open' if state == 'NO' else 'settled'})"
            for row in _rows(source, table, label, {**where, "is_matched": state}, page_size, progress):
                item = document_item(kind, row, debtors, allocated[kind], types)
                if item is not None:
                    yield item


def receivable_items(source: RowSource, *, mapper: Mapper | None = None, page_size: int = 1000) -> list[Item]:
    """Every invoice, credit note and payment on account of the included debtors, with its history."""
    return list(iter_receivable_items(source, mapper=mapper, page_size=page_size))


def fold_for(items: Iterable[Item], as_of: date) -> list[Item]:
    """The items the measures as of ``as_of`` need, gathered in one pass; memo items are left out.

    An item open for a non-zero amount at the end of ``as_of`` is kept as it is. The others add nothing to
    an aging or a balance that day; a DSO reads from them only their issue date and (sales types) initial
    amount. So they are folded into one item per (currency, item type, issue date), of the summed initial
    amount and paid on its issue date (open for 0 on every date): ``aging`` and ``dso`` as of ``as_of``
    give the same figures from the folded list as from all the items (tests/sync/test_measures.py).
    A folded item has no client and no group: filter by client before folding.
    """
    kept: list[Item] = []
    folded: dict[tuple[str, str, date], Decimal] = {}
    for item in items:
        if item.item_type in MEMO_TYPES:
            continue
        if open_amount(item, as_of) != 0:
            kept.append(item)
            continue
        key = (item.currency, item.item_type, item.issue_date)
        folded[key] = folded.get(key, ZERO) + item.amount_initial
    for (currency, item_type, day), amount in sorted(folded.items()):
        kept.append(
            Item(
                key=f"{item_type}-{currency}-{day.isoformat()}-folded",
                client_code="",
                item_type=item_type,
                issue_date=day,
                due_date=day,
                currency=currency,
                amount_initial=amount,
                payment_date=day,
            )
        )
    return kept


@dataclass(frozen=True)
class MeasureInput:
    """What a report as of ``as_of`` needs: ``items`` (``fold_for``, of one client when asked), the
    currencies of every document read (of every client), and how many of the documents were the client's."""

    as_of: date
    items: list[Item]
    currencies: list[str]
    documents: int


def measure_input(
    source: RowSource,
    as_of: date,
    *,
    client: str | None = None,
    mapper: Mapper | None = None,
    page_size: int = 1000,
    progress: Progress | None = None,
) -> MeasureInput:
    """Read Dynaccount once and keep what the measures as of ``as_of`` (of ``client``, or all) need."""
    seen: set[str] = set()
    documents = 0

    def scoped(items: Iterable[Item]) -> Iterator[Item]:
        nonlocal documents
        for item in items:
            seen.add(item.currency)
            if client is None or item.client_code == client:
                documents += 1
                yield item

    stream = iter_receivable_items(source, mapper=mapper, page_size=page_size, progress=progress)
    items = fold_for(scoped(stream), as_of)
    return MeasureInput(as_of=as_of, items=items, currencies=sorted(seen), documents=documents)


def currencies(items: Iterable[Item]) -> list[str]:
    return sorted({i.currency for i in items})
