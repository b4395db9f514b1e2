"""Streaming extraction from Dynaccount, page by page, over the client's one keep-alive connection.

Nothing here holds a whole table: each function returns an iterator over rows. A page that fails (after the
client's retries) raises ``ExtractionError``, which marks the run's extraction as incomplete.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any, Protocol

from dsobridge.dynaccount.errors import ValidationError
from dsobridge.logs import contextual
from dsobridge.sync.openitems import OpenItem, money, order_text, to_date
from dsobridge.sync.scope import FULL, Scope

Row = Mapping[str, Any]


class RowSource(Protocol):
    """What the sync needs from ``dsobridge.dynaccount.DynaccountClient``."""

    def iter_rows(
        self,
        table: str,
        *,
        select: list[str] | None = None,
        where: dict[str, Any] | None = None,
        order: list[str] | str | None = None,
        page_size: int = 1000,
    ) -> Iterator[dict[str, Any]]: ...


class ExtractionError(Exception):
    """A table could not be read completely; the run's extraction is incomplete."""

    def __init__(self, table: str, cause: BaseException) -> None:
        # the cause's text may hold a URL (and so the API key): keep only its type
        super().__init__(f"reading {table!r} failed: {type(cause).__name__}")
        self.table = table
        self.cause = cause  # the client's own error (its text is scrubbed): dsobridge.explain reads it
        self.cause_type = type(cause).__name__


class Extractor:
    """Typed, streaming views of the receivables tables.

    ``fields`` (table → field names, see ``dsobridge.sync.fields.select_fields``) asks each listed table only
    for those fields (``select=``). If Dynaccount refuses a table's select (a field it does not have, e.g. one
    named by an override) before any row was read, that table is read whole for the rest of the run
    (``whole_tables``): a field is never silently dropped.
    """

    def __init__(
        self,
        source: RowSource,
        *,
        page_size: int = 1000,
        prefetch: bool = True,
        fields: Mapping[str, Sequence[str]] | None = None,
        scope: Scope = FULL,
    ) -> None:
        self.source = source
        self.page_size = page_size
        self.prefetch = prefetch
        self.fields = {table: list(names) for table, names in (fields or {}).items() if names}
        self.scope = scope
        self.whole_tables: set[str] = set()
        self.rows_read: dict[str, int] = {}
        self.newest: dict[str, int] = {}  # the newest booked document number a probe saw, per table

    def stream(
        self,
        table: str,
        *,
        where: dict[str, Any] | None = None,
        order: str = "id",
        prefetch: bool = True,
        page_size: int | None = None,
    ) -> Iterator[Row]:
        """One table's rows (``where`` equality filters, ``order``), page by page, a page ahead in a thread
        (``prefetch``); a page that fails raises :class:`ExtractionError` after the rows before it."""
        count = 0
        select = None if table in self.whole_tables else self.fields.get(table)
        try:
            while True:
                rows = self.source.iter_rows(
                    table, select=select, where=where, order=order, page_size=page_size or self.page_size
                )
                try:
                    for row in _prefetched(rows) if prefetch and self.prefetch else rows:
                        count += 1
                        yield row
                    return
                except ValidationError:
                    if select is None or count:
                        raise
                    self.whole_tables.add(table)  # the select was refused: read the table whole
                    select = None
        except Exception as exc:
            if isinstance(exc, ExtractionError):
                raise
            raise ExtractionError(table, exc) from None
        finally:
            self.rows_read[table] = self.rows_read.get(table, 0) + count

    def _scoped(self, table: str, where: dict[str, Any] | None = None) -> Iterator[Row]:
        """The whole table (a full run), or its rows of each debtor in scope (``module_id_=N``, one read per
        debtor: a targeted delta touches a few)."""
        if self.scope.debtors is None:
            yield from self.stream(table, where=where)
            return
        for debtor in sorted(self.scope.debtors):
            yield from self.stream(table, where={**(where or {}), "module_id_": debtor}, prefetch=False)

    def debtors(self) -> Iterator[Row]:
        return self._scoped("debtor")

    def contacts(self) -> Iterator[Row]:
        """Contact cards (``contact``): linked to a debtor by ``module_id`` / ``module_id_``."""
        return self._scoped("contact")

    def contact_persons(self, cards: Sequence[int] | None = None) -> Iterator[Row]:
        """The persons of the contact cards (``contact_user``: name, position, phone, email): all of them, or
        those of the given cards (``contact_id=N``)."""
        if cards is None or self.scope.debtors is None:
            yield from self.stream("contact_user")
            return
        for card in cards:
            yield from self.stream("contact_user", where={"contact_id": card}, prefetch=False)

    def open_invoices(self) -> Iterator[Row]:
        return self._scoped("debtor_invoice", {"is_booked": "YES", "is_matched": "NO"})

    def open_creditnotes(self) -> Iterator[Row]:
        return self._scoped("debtor_creditnote", {"is_booked": "YES", "is_matched": "NO"})

    def open_payments(self) -> Iterator[Row]:
        return self._scoped("debtor_accounting_module", {"type": "PAYMENT", "is_matched": "NO"})

    def open_matches(self) -> Iterator[Row]:
        return self._scoped("debtor_invoice_match", {"is_matched": "NO"})

    def debtor_matches(self) -> Iterator[Row]:
        """Every match (open or not) of the debtors in scope: a targeted run's evidence for clearings."""
        return self._scoped("debtor_invoice_match")

    def all_matches(self) -> Iterator[Row]:
        return self.stream("debtor_invoice_match")

    def newest_id(self, table: str) -> int:
        """The highest row id of a table (one row, ``order=id desc``); 0 when it is empty."""
        head = self.stream(table, order="id desc", prefetch=False, page_size=1)
        try:
            row = next(head, None)
        finally:
            head.close()  # type: ignore[attr-defined]
        return int(row.get("id") or 0) if row else 0

    def matches_since(self, mark: int) -> Iterator[Row]:
        """The matches with a row id above ``mark`` — those booked since the run that recorded it — newest
        first (``order=id desc``), stopping at the mark: a few pages a day."""
        rows = self.stream("debtor_invoice_match", order="id desc", prefetch=False)
        try:
            for row in rows:
                if int(row.get("id") or 0) <= mark:
                    return
                yield row
        finally:
            rows.close()  # type: ignore[attr-defined]

    def find(self, table: str, where: dict[str, Any]) -> list[Row]:
        """A lookup by a key (``invoice_id_=N``, ``id=N``, ``module_id_=N``, …): every row that matches."""
        return list(self.stream(table, where=where, prefetch=False, page_size=100))

    def settled_items(self, since: date) -> Iterator[OpenItem]:
        """Invoices and credit notes settled on or after ``since``, with their payment date (history).

        A streaming merge: ``debtor_invoice`` (``is_matched=YES``) ordered by number beside its matches
        ordered by ``invoice_id_``; then ``debtor_creditnote`` likewise beside the credit-note matches
        ordered by ``creditnote_id_``. Memory holds one document's matches at a time.
        """
        invoices = self.stream(
            "debtor_invoice",
            where={"is_booked": "YES", "is_matched": "YES"},
            order="invoice_id_",
            prefetch=False,
        )
        matches = self.stream("debtor_invoice_match", order="invoice_id_", prefetch=False)
        yield from _merge(invoices, matches, "invoice_id_", "INVOICE", since)
        notes = self.stream(
            "debtor_creditnote",
            where={"is_booked": "YES", "is_matched": "YES"},
            order="invoice_id_",
            prefetch=False,
        )
        note_matches = self.stream(
            "debtor_invoice_match", where={"is_creditnote": "YES"}, order="creditnote_id_", prefetch=False
        )
        yield from _merge(notes, note_matches, "creditnote_id_", "CREDITNOTE", since)

    def issued_after(
        self, table: str, mark: int, *, page_size: int, probe: bool = True, dates: bool = True
    ) -> Iterator[tuple[Row, date | None]]:
        """Booked documents of ``table`` (``debtor_invoice``, ``debtor_creditnote``) numbered above ``mark``,
        newest number first (``order=invoice_id_ desc``, stopping at the first number ≤ ``mark``), each with
        its payment date when it is settled (``is_matched=YES``): the latest ``time`` of its matches.

        The matches are read only when a settled document needs them, ordered by the document number
        descending beside the documents (a streaming merge, like ``settled_items``): one document's
        matches in memory at a time, and only the matches of documents above the mark are read.
        With ``probe``, one row is read first (``limit=0,1``): when the newest number is at or below the mark
        (nothing booked since), that is all. ``dates=False`` reads no match at all.
        """
        if table == "debtor_invoice":
            match_key, match_where = "invoice_id_", None
        elif table == "debtor_creditnote":
            match_key, match_where = "creditnote_id_", {"is_creditnote": "YES"}
        else:
            raise ValueError(f"not a document table: {table!r}")
        where = {"is_booked": "YES"}
        if probe:
            head = self.stream(table, where=where, order="invoice_id_ desc", prefetch=False, page_size=1)
            try:
                newest = next(head, None)
            finally:
                head.close()  # type: ignore[attr-defined]
            self.newest[table] = int(newest.get("invoice_id_") or 0) if newest else 0
            if newest is None or self.newest[table] <= mark:
                return
        docs = self.stream(table, where=where, order="invoice_id_ desc", prefetch=False, page_size=page_size)
        matches: Iterator[Row] | None = None
        pending: Row | None = None
        try:
            for doc in docs:
                number = int(doc.get("invoice_id_") or 0)
                if number <= mark:
                    return
                if not dates or str(doc.get("is_matched")).upper() != "YES":
                    yield doc, None
                    continue
                if matches is None:
                    matches = self.stream(
                        "debtor_invoice_match",
                        where=match_where,
                        order=f"{match_key} desc",
                        prefetch=False,
                        page_size=page_size,
                    )
                    pending = next(matches, None)
                latest: date | None = None
                while pending is not None and int(pending.get(match_key) or 0) >= number:
                    if int(pending.get(match_key) or 0) == number:
                        when = to_date(pending.get("time"))
                        if when is not None and (latest is None or when > latest):
                            latest = when
                    pending = next(matches, None)
                yield doc, latest
        finally:
            docs.close()  # type: ignore[attr-defined]  # stops paging: no request beyond the mark
            if matches is not None:
                matches.close()  # type: ignore[attr-defined]


def settled_document(doc: Row, kind: str, paid: date | None) -> OpenItem | None:
    """A settled invoice (``kind="INVOICE"``) or credit note (``"CREDITNOTE"``) as an item with remaining 0
    and its payment date; ``None`` for a document without a date."""
    issued = to_date(doc.get("time"))
    if issued is None:
        return None
    total = money(doc.get("total_amount"))
    vat = doc.get("vat_amount")
    sign = -1 if kind == "CREDITNOTE" else 1
    return OpenItem(
        kind=kind,
        debtor=str(doc.get("module_id_")),
        number=int(doc.get("invoice_id_") or 0),
        source_id=int(doc.get("id") or 0),
        issue_date=issued,
        due_date=(to_date(doc.get("time_due")) if kind == "INVOICE" else None) or issued,
        currency=str(doc.get("currency_name") or ""),
        initial=sign * total,
        remaining=money(0),
        vat=sign * money(vat) if vat not in (None, "") else None,
        order_number=order_text(doc.get("order_id_")) if kind == "INVOICE" else "",
        text=str(doc.get("txt") or ""),
        payment_date=paid,
        row=doc,
    )


_DONE = object()
_BATCH = 500


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _prefetched(rows: Iterator[Row], *, depth: int = 2) -> Iterator[Row]:
    """Read ``rows`` in a background thread, a few batches ahead, so the server prepares the next page while
    this thread maps the current one. Only one thread ever uses the client: the producer, while it lives."""
    out: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        batch: list[Row] = []
        try:
            for row in rows:
                batch.append(row)
                if len(batch) >= _BATCH:
                    if not put(batch):
                        return
                    batch = []
            if batch and not put(batch):
                return
            put(_DONE)
        except BaseException as exc:
            if batch and not put(batch):  # the rows read before the failed page come first
                return
            put(_Failed(exc))
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=contextual(produce), name="dsobridge-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield from item
    finally:
        stop.set()
        thread.join()


def _merge(
    docs: Iterator[Row], matches: Iterator[Row], match_key: str, kind: str, since: date
) -> Iterator[OpenItem]:
    pending: Row | None = next(matches, None)
    for doc in docs:
        number = int(doc.get("invoice_id_") or 0)
        latest: date | None = None
        while pending is not None and int(pending.get(match_key) or 0) <= number:
            if int(pending.get(match_key) or 0) == number:
                when = to_date(pending.get("time"))
                if when is not None and (latest is None or when > latest):
                    latest = when
            pending = next(matches, None)
        if latest is None or latest < since:
            continue
        item = settled_document(doc, kind, latest)
        if item is not None:
            yield item
    for _ in matches:  # drain so the stream's page failures still surface
        pass
