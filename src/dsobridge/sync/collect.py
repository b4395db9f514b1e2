"""Stages 1–3 of a run: extract → open-item rule → map, streamed into the run's files.

Reads Dynaccount table by table (one keep-alive connection, a page ahead), applies THE open-item rule
(``dsobridge.sync.openitems``) and the mapping, and writes each row's CSV line into its file — all of them
in a STOCK run, only the new and changed ones in a DELTA run — while the rows the state must record once a
file is accepted are staged in the state store. Memory holds per-debtor figures and compact indexes, never
a table.

What it returns (:class:`Collected`) is the input of the plan stage: the files, the debtors, what was open at
the last delivery and has not been seen again (the clearings to explain), and the facts the backstop compares.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dsobridge.receivables import add_months
from dsobridge.sync.extract import Extractor, settled_document
from dsobridge.sync.fields import select_fields
from dsobridge.sync.keyindex import KeyIndex, KeySet, MoneySums
from dsobridge.sync.linefile import LineFile
from dsobridge.sync.mapping import DebtorInfo
from dsobridge.sync.openitems import OpenItem, open_items
from dsobridge.sync.run import NoProgress, RunContext
from dsobridge.sync.scope import number_first
from dsobridge.sync.state import ItemState, StagedItem, StagedRow, digest64, pack_item_key

# the number each file's rows are staged under (also their order of delivery)
CLIENTS, CONTACTS, USERS, SETTLED, ITEMS, EXTRA = range(6)
_STAGE_BATCH = 2000
_SCAN_PAGE = 100  # rows per page when reading the documents above the marks
_FIRST_PAGE = 10  # the first run reads the newest documents only: usually the first one is accounted for
ZERO = Decimal("0.00")


@dataclass
class Counts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0


@dataclass
class Collected:
    """What the extraction found, already written into the run's files."""

    files: dict[int, LineFile]
    counts: dict[int, Counts]
    debtors: dict[str, DebtorInfo]
    skipped: dict[str, str]  # debtor number → why it could not be mapped (its items are held)
    open_index: KeyIndex  # the items open at the last delivery; unseen ones left the open set
    held: set[int]  # keys of items kept out of the files (their debtor was skipped or not read)
    sums: MoneySums  # Σ remaining per included debtor
    marks: dict[str, int] | None = None  # new high-water marks of the document series
    fresh_lines: dict[int, tuple[str, int]] = field(default_factory=dict)  # line → (table, number) sent
    facts: dict[str, Any] = field(default_factory=dict)
    debtor_matches: list[dict[str, Any]] | None = None  # a targeted run: every match of its debtors
    extractor: Extractor | None = None  # the plan stage confirms clearings with it
    settled_written: set[int] = field(default_factory=set)  # keys of settled documents already written


class _Stager:
    """Batches the rows a file's acceptance will record into the state store's staging area.

    (Staging from a thread of its own was measured: slower, the thread competes with the extraction and
    the page reads for the interpreter lock.)"""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.items: dict[int, list[StagedItem]] = {}
        self.rows: dict[int, list[StagedRow]] = {}

    def item(self, file_no: int, line: int, item: ItemState) -> None:
        batch = self.items.setdefault(file_no, [])
        batch.append(StagedItem(line, item))
        if len(batch) >= _STAGE_BATCH:
            self.state.stage_items(file_no, self.items.pop(file_no))

    def row(self, file_no: int, line: int, key: int, digest: int) -> None:
        batch = self.rows.setdefault(file_no, [])
        batch.append(StagedRow(line, key, digest))
        if len(batch) >= _STAGE_BATCH:
            self.state.stage_rows(file_no, self.rows.pop(file_no))

    def drain(self) -> None:
        """Stage what is batched (before the state is read again)."""
        for file_no in list(self.items):
            self.state.stage_items(file_no, self.items.pop(file_no))
        for file_no in list(self.rows):
            self.state.stage_rows(file_no, self.rows.pop(file_no))


class _RowFile:
    """A clients / contacts / users file with the hashes of what was delivered: writes a row when it is new
    or changed (or always, in a STOCK run) and stages it."""

    def __init__(self, ctx: RunContext, file_no: int, kind: str, stager: _Stager) -> None:
        self.file = ctx.files.new(f"{kind}.csv", kind, ctx.csv_options(kind, ctx.mapper.columns(kind)))
        self.file_no = file_no
        self.index = KeyIndex(ctx.state.row_hashes(kind))
        self.always = ctx.stock
        self.stager = stager
        self.counts = Counts()

    def add(self, key_text: str, row: dict[str, Any]) -> None:
        key = digest64(key_text)
        written = _write_changed(self.file, self.index, self.counts, self.always, key, row)
        if written is not None:
            self.stager.row(self.file_no, written[0], key, written[1])


def _write_changed(
    file: LineFile, index: KeyIndex, counts: Counts, always: bool, key: int, row: dict[str, Any]
) -> tuple[int, int] | None:
    """Compare a row's line with what was delivered under ``key``; write it when new or changed (or
    ``always``) and count it. Returns ``(line number, hash)`` when it must be staged, else ``None``."""
    line, digest = file.line_of(row)
    previous = index.previous(key)
    if previous == digest:
        counts.unchanged += 1
        if always:
            file.write(line)
        return None
    if previous is None:
        counts.new += 1
    else:
        counts.changed += 1
    return file.write(line), digest


def collect(ctx: RunContext, *, master_ready: Callable[[Collected], None] | None = None) -> Collected:
    """Extract, apply the open-item rule, map and write the run's files (stages 1–3).

    ``master_ready`` is called with the clients, contacts and users files once they are complete, before the
    items are read (the engine sends them meanwhile: ``dsobridge.sync.deliver.MasterData``)."""
    fields = select_fields(ctx.mapper.config) if ctx.select else None
    extractor = Extractor(
        ctx.source, page_size=ctx.page_size, prefetch=ctx.prefetch, fields=fields, scope=ctx.scope
    )
    ctx.state.discard_staged()
    return _collect(ctx, extractor, _Stager(ctx.state), master_ready)


def _collect(
    ctx: RunContext,
    extractor: Extractor,
    stager: _Stager,
    master_ready: Callable[[Collected], None] | None,
) -> Collected:
    debtors, skipped, clients, contacts = _debtors_and_contacts(ctx, extractor, stager)
    stager.drain()  # the users' file reads the state
    users = _users(ctx, debtors, stager)
    files = {CLIENTS: clients.file, CONTACTS: contacts.file, USERS: users.file}
    counts = {CLIENTS: clients.counts, CONTACTS: contacts.counts, USERS: users.counts}
    collected = Collected(
        files=files,
        counts=counts,
        debtors=debtors,
        skipped=skipped,
        open_index=KeyIndex(()),
        held=set(),
        sums=MoneySums(),
    )
    if master_ready is not None:
        master_ready(collected)
    if ctx.wants("items"):
        stager.drain()  # the state is read again
        _items(ctx, extractor, collected, stager)
    stager.drain()
    for table in sorted(extractor.whole_tables):
        ctx.result.messages.append(f"{table}: Dynaccount refused the field list (select=); read whole rows")
    ctx.result.rows_read = dict(extractor.rows_read)
    ctx.result.extracted = True
    collected.facts["debtors"] = _debtors_per_currency(debtors)
    collected.extractor = extractor
    return collected


# --- debtors, contacts, users ---------------------------------------------------------------------------


def _debtors_and_contacts(
    ctx: RunContext, extractor: Extractor, stager: _Stager
) -> tuple[dict[str, DebtorInfo], dict[str, str], _RowFile, _RowFile]:
    mapper, result = ctx.mapper, ctx.result
    clients = _RowFile(ctx, CLIENTS, "clients", stager)
    contacts = _RowFile(ctx, CONTACTS, "contacts", stager)
    debtors: dict[str, DebtorInfo] = {}
    skipped: dict[str, str] = {}
    by_row_id: dict[int, str] = {}
    has_collection: set[str] = set()
    contact_keys: set[str] = set()
    ctx.progress.stage("debtors")
    for debtor in extractor.debtors():
        ctx.progress.advance("debtors")
        info = mapper.debtor_info(debtor)
        by_row_id[int(debtor.get("id") or 0)] = info.number
        if info.excluded:
            result.excluded_debtors += 1
            debtors[info.number] = info
            continue
        try:
            row = mapper.client(debtor, info.client_code)
            if not row.get("client_business_name"):
                raise ValueError("no name")
        except (ValueError, KeyError, IndexError) as exc:
            skipped[info.number] = str(exc)
            result.messages.append(f"debtor {info.number} skipped: {exc}")
            continue
        debtors[info.number] = info
        if ctx.wants("clients"):
            clients.add(row["client_code"], row)
        for contact in mapper.debtor_contacts(debtor, info.client_code):
            if contact.get("contact_collection"):
                has_collection.add(info.number)
            _add_contact(ctx, contacts, contact, contact_keys)
    if ctx.wants("contacts"):
        _card_persons(ctx, extractor, debtors, by_row_id, contacts, contact_keys, has_collection)
    return debtors, skipped, clients, contacts


def _card_persons(
    ctx: RunContext,
    extractor: Extractor,
    debtors: dict[str, DebtorInfo],
    by_row_id: dict[int, str],
    contacts: _RowFile,
    contact_keys: set[str],
    has_collection: set[str],
) -> None:
    """The persons of the debtors' contact cards (``contact`` → ``contact_user``)."""
    ctx.progress.stage("contacts")
    card_debtor: dict[int, str] = {}  # contact (card) id → debtor number
    for row in extractor.contacts():
        ctx.progress.advance("contacts")
        number = str(row.get("module_id_") or "") or by_row_id.get(int(row.get("module_id") or 0), "")
        if number:
            card_debtor[int(row.get("id") or 0)] = number
    for row in extractor.contact_persons(sorted(card_debtor)):
        ctx.progress.advance("contacts")
        info = debtors.get(card_debtor.get(int(row.get("contact_id") or 0), ""))
        if info is None or info.excluded:
            continue
        contact = ctx.mapper.contact_row(row, info.client_code)
        if contact is None or ctx.mapper.contact_key(contact) in contact_keys:
            continue  # a person already sent as the debtor's attention person
        if info.number not in has_collection:
            contact["contact_collection"] = True
            has_collection.add(info.number)
        _add_contact(ctx, contacts, contact, contact_keys)


def _add_contact(ctx: RunContext, contacts: _RowFile, contact: dict[str, Any], keys: set[str]) -> None:
    key = ctx.mapper.contact_key(contact)
    if key in keys:
        return  # one row per contact key in a file
    keys.add(key)
    if ctx.wants("contacts"):
        contacts.add(key, contact)


def _users(ctx: RunContext, debtors: dict[str, DebtorInfo], stager: _Stager) -> _RowFile:
    users = _RowFile(ctx, USERS, "users", stager)
    if ctx.wants("users") and ctx.scope.full:  # a targeted run does not know every debtor's portfolio
        for row in ctx.mapper.user_rows(debtors):
            users.add(ctx.mapper.user_key(row), row)
    return users


def _debtors_per_currency(debtors: dict[str, DebtorInfo]) -> dict[str, int]:
    out: dict[str, int] = {}
    for info in debtors.values():
        out[info.currency] = out.get(info.currency, 0) + 1
    return out


# --- items ------------------------------------------------------------------------------------------------


def item_key(item: OpenItem) -> int:
    """The state's key of an item: its kind and number (a payment: its posting id), packed."""
    return pack_item_key(item.kind, item.source_id if item.kind == "PAYMENT" else item.number)


def item_state(item: OpenItem, info: DebtorInfo, key: int, digest: int, currency: str | None) -> ItemState:
    return ItemState(
        key=key,
        hash=digest,
        debtor=item.debtor,
        client=info.client_code,
        number=item.number,
        currency=currency or "",
        initial=item.initial,
        remaining=item.remaining,
        issued=item.issue_date,
        due=item.due_date,
        open=item.payment_date is None,
        paid=item.payment_date,
        reason=None if item.payment_date is None else "matched",
    )


def _items(ctx: RunContext, extractor: Extractor, collected: Collected, stager: _Stager) -> None:
    """The open items (every one in a STOCK file; new and changed ones in a DELTA file), then the documents
    issued and settled since the last run, then, with ``--history``, the settled ones of the last months."""
    mapper, result = ctx.mapper, ctx.result
    debtors = collected.debtors
    columns = mapper.columns("items")
    items = ctx.files.new("items.csv", "items", ctx.csv_options("items", columns), label="items")
    collected.files[ITEMS] = items
    counts = collected.counts[ITEMS] = Counts()
    index = collected.open_index = KeyIndex(ctx.state.open_items(_scope_debtors(ctx)))
    marks = ctx.state.marks() if ctx.scope.full else {}
    recent = KeySet()  # open document keys above the marks (what the fresh scan asks about): all, at first
    unread: set[str] = set()
    ctx.progress.stage("items")
    matches: Iterable[dict[str, Any]]
    if ctx.scope.full:
        matches = extractor.open_matches()
    else:
        collected.debtor_matches = list(extractor.debtor_matches())
        matches = [m for m in collected.debtor_matches if str(m.get("is_matched")).upper() != "YES"]
    for item in open_items(
        matches=_counted(ctx, matches),
        invoices=_counted(ctx, extractor.open_invoices()),
        creditnotes=_counted(ctx, extractor.open_creditnotes()),
        payments=_counted(ctx, extractor.open_payments()),
    ):
        key = item_key(item)
        info = debtors.get(item.debtor)
        if info is None or info.excluded:
            if info is None:  # held: neither sent nor taken for settled (a missing row is not a payment)
                index.previous(key)
                collected.held.add(key)
                if item.debtor not in collected.skipped:
                    unread.add(item.debtor)
            continue
        collected.sums.add(item.debtor, item.remaining)
        result.open_count += 1
        result.open_total += abs(item.remaining)
        currency = item.currency or info.currency
        result.open_by_currency[currency] = result.open_by_currency.get(currency, ZERO) + abs(item.remaining)
        if item.kind != "PAYMENT" and item.number > marks.get(_DOC_TABLE[item.kind], -1):
            recent.add(key)
        row = mapper.item(item, info)
        written = _write_changed(items, index, counts, ctx.stock, key, row)
        if written is not None:
            line_no, digest = written
            stager.item(ITEMS, line_no, item_state(item, info, key, digest, row.get("item_currency")))
    for number in sorted(unread):
        collected.skipped[number] = "not read (its open items were found, the debtor was not)"
        result.messages.append(f"open items of debtor {number}, which was not read, skipped")
    result.skipped_clients = sorted(collected.skipped, key=number_first)
    extra = items
    if ctx.stock:
        extra = ctx.files.new("items-settled.csv", "items", ctx.csv_options("items", columns), label="extra")
    collected.files[EXTRA] = extra
    collected.counts.setdefault(EXTRA, Counts())
    file_no = EXTRA if ctx.stock else ITEMS
    stager.drain()  # the fresh scan and the history read the state
    if ctx.scope.full:
        ctx.progress.stage("settled")
        collected.marks = _fresh_settled(ctx, extractor, collected, marks, recent, extra, file_no, stager)
    if ctx.options.history_months and ctx.scope.full:
        ctx.progress.stage("history")
        _history(ctx, extractor, collected, extra, file_no, stager)


_DOC_TABLE = {"INVOICE": "debtor_invoice", "CREDITNOTE": "debtor_creditnote"}


def _scope_debtors(ctx: RunContext) -> list[str] | None:
    return None if ctx.scope.debtors is None else list(ctx.scope.debtors)


def _counted(ctx: RunContext, rows: Iterable[Any]) -> Iterable[Any]:
    if isinstance(ctx.progress, NoProgress):
        return rows
    return _advance(ctx, rows)


def _advance(ctx: RunContext, rows: Iterable[Any]) -> Iterator[Any]:
    for row in rows:
        ctx.progress.advance("items")
        yield row


# --- settled documents: issued and settled since the last run, and history --------------------------------


def _settled_row(
    ctx: RunContext,
    collected: Collected,
    item: OpenItem,
    info: DebtorInfo,
    file: LineFile,
    file_no: int,
    stager: _Stager,
) -> int | None:
    """Write a settled document's row unless this run wrote it already or the state has it as it is (or
    open: then it is a clearing, explained and settled by the plan); return its line."""
    key = item_key(item)
    if key in collected.settled_written:
        return None
    row = ctx.mapper.item(item, info)
    line, digest = file.line_of(row)
    known = next(ctx.state.item_states([key]), None)
    if known is not None and (known.open or known.hash == digest):
        return None  # delivered as it is, or open at the destination: a clearing, explained by the plan
    number = file.write(line)
    collected.settled_written.add(key)
    stager.item(file_no, number, item_state(item, info, key, digest, row.get("item_currency")))
    return number


def _fresh_settled(
    ctx: RunContext,
    extractor: Extractor,
    collected: Collected,
    known: dict[str, int],
    recent: KeySet,
    file: LineFile,
    file_no: int,
    stager: _Stager,
) -> dict[str, int]:
    """Invoices and credit notes booked since the last run and already settled, never delivered: written
    with their payment date. Returns the new high-water marks (document numbers).

    Each table is probed with one row (nothing booked since the mark: done), then read
    ``order=invoice_id_ desc`` until a number at or below the last run's mark: a few small pages. A
    document the run could not account for — open but not in this run's open set (booked after the open
    set was read), of a debtor not read or skipped — keeps the mark below its number, so the next run
    looks at it again. Without a mark (the first run) only the newest documents are read, down to the first
    one accounted for: the first run's settled documents are ``--history``'s job.
    """
    marks: dict[str, int] = {}
    newest: dict[str, int] = {}
    sent = 0
    for table, kind in (("debtor_invoice", "INVOICE"), ("debtor_creditnote", "CREDITNOTE")):
        mark = known.get(table)
        first = mark is None
        top = mark or 0
        cap: int | None = None
        rows = extractor.issued_after(
            table,
            top,
            page_size=_FIRST_PAGE if first else min(ctx.page_size, _SCAN_PAGE),
            probe=not first,
            dates=not first,
        )
        with contextlib.closing(rows):  # type: ignore[type-var]  # a generator: closing stops its paging
            for doc, paid in rows:
                ctx.progress.advance("settled")
                number = int(doc.get("invoice_id_") or 0)
                top = max(top, number)
                info = collected.debtors.get(str(doc.get("module_id_")))
                if info is not None and info.excluded:
                    continue
                is_open = str(doc.get("is_matched")).upper() != "YES"
                if info is None or (is_open and pack_item_key(kind, number) not in recent):
                    cap = number - 1 if cap is None else min(cap, number - 1)  # look again next run
                    continue
                if first:
                    break  # the newest document accounted for: nothing booked after the open set was read
                if is_open:
                    continue
                if paid is None:
                    ctx.result.messages.append(
                        f"{kind}-{number}: no match found; payment date set to the run date"
                    )
                    paid = ctx.today
                item = settled_document(doc, kind, paid)
                if item is None:
                    continue
                line = _settled_row(ctx, collected, item, info, file, file_no, stager)
                if line is not None:
                    collected.fresh_lines[line] = (table, number)
                    collected.counts[file_no].new += 1
                    sent += 1
        marks[table] = top if cap is None else min(top, cap)
        newest[table] = extractor.newest.get(table, top)
    collected.facts["newest"] = newest
    if sent:
        ctx.result.messages.append(
            f"{sent} invoice(s) and credit note(s) issued and settled since the last run: sent as settled"
        )
    return marks


def _history(
    ctx: RunContext, extractor: Extractor, collected: Collected, file: LineFile, file_no: int, stager: _Stager
) -> None:
    """``--history N``: the invoices and credit notes settled in the last N months, with payment dates."""
    since = add_months(ctx.today, -ctx.options.history_months)
    for item in extractor.settled_items(since):
        ctx.progress.advance("history")
        info = collected.debtors.get(item.debtor)
        if info is None or info.excluded:
            continue
        if _settled_row(ctx, collected, item, info, file, file_no, stager) is not None:
            collected.counts[file_no].new += 1
