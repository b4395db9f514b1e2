"""One sync run: extract → open-item rule → map → guards → deliver → record.

Order of a run:

1. take the run lock (a second run is refused);
2. extract, streaming, into on-disk spools: debtors (clients, debtor contacts), contact persons, users from
   the config, then the open items (matches first, then invoices, credit notes, payments); also the items
   open at the last delivery and now settled, with their payment date; the invoices and credit notes
   issued and settled since the last run (numbered above the state's high-water marks); with ``history``,
   the items settled in the last N months;
3. check the balance invariant and the guards; nothing has been sent yet, so a refusal changes nothing;
4. deliver clients → contacts → users → items; after each accepted file, record its rows, its report and
   the run's counts in ONE state transaction (with the last items file: the new high-water marks).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from dsobridge.sync.config import FILE_KINDS
from dsobridge.sync.extract import ExtractionError, Extractor, RowSource, settled_document
from dsobridge.sync.fields import select_fields
from dsobridge.sync.guards import GuardRefusal, check_drop, check_stock_complete
from dsobridge.sync.mapping import DebtorInfo, Mapper, row_hash
from dsobridge.sync.openitems import Mismatch, check_balances, open_items, to_date
from dsobridge.sync.spool import Spool
from dsobridge.sync.state import Delivered, Locked, StateStore

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_REFUSED = 3


class Sink(Protocol):
    """Where files go: ``dsobridge.sync.delivery.MyDsoSink`` or a test double. Returns an import report
    (``success, added, updated, unchanged, cleared, rejected, rows, raw``); raises on refusal."""

    def deliver(
        self,
        kind: str,
        rows: Iterable[dict[str, Any]],
        *,
        columns: tuple[str, ...],
        stock: bool | None = None,
        replace_users_association: bool | None = None,
    ) -> Any: ...


class Progress(Protocol):
    def stage(self, name: str) -> None: ...
    def advance(self, name: str, n: int = 1) -> None: ...


class _NoProgress:
    def stage(self, name: str) -> None:
        pass

    def advance(self, name: str, n: int = 1) -> None:
        pass


@dataclass
class SyncOptions:
    mode: str = "stock"  # stock | delta
    only: frozenset[str] = frozenset(FILE_KINDS)
    dry_run: bool = False
    force: bool = False
    allow_mismatch: bool = False
    history_months: int = 0
    export_dir: Path | None = None  # write the files there instead of sending them (implies a dry run)


@dataclass
class FileResult:
    """One delivered (or, in a dry run, planned) file."""

    label: str  # clients, contacts, users, items, items (settled), items (history)
    kind: str
    mode: str  # STOCK | DELTA | "" (not items)
    rows: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    cleared: int = 0
    rejected: int = 0
    sent: bool = False
    path: str | None = None
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunResult:
    run_id: int | None
    mode: str
    status: str  # success | failed | refused | dry-run
    exit_code: int
    files: list[FileResult] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    balance_checked: int = 0
    open_count: int = 0
    open_total: Decimal = Decimal("0.00")
    skipped_clients: list[str] = field(default_factory=list)
    excluded_debtors: int = 0
    rows_read: dict[str, int] = field(default_factory=dict)
    requests: int | None = None
    duration: float = 0.0
    error: str | None = None
    messages: list[str] = field(default_factory=list)

    @property
    def balance_ok(self) -> bool:
        return not self.mismatches

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "status": self.status,
            "exit_code": self.exit_code,
            "files": [vars(f) for f in self.files],
            "balance": {
                "ok": self.balance_ok,
                "debtors_checked": self.balance_checked,
                "mismatches": [
                    {"debtor": m.debtor, "balance": str(m.balance), "open_items": str(m.open_items)}
                    for m in self.mismatches
                ],
            },
            "open_items": {"count": self.open_count, "total": str(self.open_total)},
            "skipped_clients": self.skipped_clients,
            "excluded_debtors": self.excluded_debtors,
            "rows_read": self.rows_read,
            "requests": self.requests,
            "duration_s": round(self.duration, 3),
            "error": self.error,
            "messages": self.messages,
        }


@dataclass
class _Planned:
    label: str
    kind: str
    spool: Spool
    stock: bool | None = None
    replace_users: bool | None = None
    close_missing: bool = False

    @property
    def mode(self) -> str:
        if self.kind != "items":
            return ""
        return "STOCK" if self.stock else "DELTA"


def _counted(rows: Iterable[Any], progress: Progress) -> Iterator[Any]:
    for r in rows:
        progress.advance("items")
        yield r


def _months_back(day: date, months: int) -> date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _row_json(row: dict[str, Any]) -> str:
    return json.dumps(row, default=str, separators=(",", ":"), sort_keys=True)


_AMOUNT_COLUMNS = (
    "item_amount_initial_inc_tax",
    "item_amount_initial",
    "item_amount_remaining_inc_tax",
    "item_amount_remaining",
)


def _row_from_json(text: str) -> dict[str, Any]:
    row = json.loads(text)
    for c in _AMOUNT_COLUMNS:
        if row.get(c) not in (None, ""):
            row[c] = Decimal(str(row[c]))
    for c in ("item_date_issue", "item_date_due", "item_date_payment"):
        value = row.get(c)
        if isinstance(value, str) and len(value) == 10 and value[4] == "-":
            with contextlib.suppress(ValueError):
                row[c] = date.fromisoformat(value)
    return row


class SyncEngine:
    """Runs syncs from a row source (the Dynaccount client) to a sink (My DSO Manager), with a state store."""

    def __init__(
        self,
        source: RowSource,
        sink: Sink,
        state: StateStore,
        *,
        mapper: Mapper | None = None,
        page_size: int = 1000,
        max_drop: Decimal = Decimal("0.30"),
        today: date | None = None,
        progress: Progress | None = None,
        lock_timeout: float = 0.0,
        after_delivery: Callable[[str], None] | None = None,
        prefetch: bool = True,
        select: bool = True,
    ) -> None:
        self.source = source
        self.sink = sink
        self.state = state
        self.mapper = mapper or Mapper()
        self.page_size = page_size
        self.max_drop = max_drop
        self.today = today
        self.progress = progress or _NoProgress()
        self.lock_timeout = lock_timeout
        self.after_delivery = after_delivery  # test hook: called after a file is accepted, before its commit
        self.prefetch = prefetch  # read Dynaccount pages a little ahead in a background thread
        self.select = select  # ask Dynaccount only for the fields the mapping reads (select=)

    # ------------------------------------------------------------------------------------------------------
    def run(self, options: SyncOptions | None = None) -> RunResult:
        options = options or SyncOptions()
        started = time.monotonic()
        mode = options.mode.lower()
        if mode not in ("stock", "delta"):
            raise ValueError(f"mode must be 'stock' or 'delta', not {options.mode!r}")
        result = RunResult(run_id=None, mode=mode, status="failed", exit_code=EXIT_FAILED)
        try:
            self.state.acquire_lock(timeout=self.lock_timeout)
        except Locked as exc:
            result.status, result.exit_code, result.error = "refused", EXIT_REFUSED, str(exc)
            return result
        spools: list[Any] = []  # anything with close(): spools and prepared bodies
        try:
            result.run_id = self.state.start_run(
                mode,
                dry_run=options.dry_run or options.export_dir is not None,
                history_months=options.history_months,
            )
            try:
                self._run(options, mode, result, spools)
            except ExtractionError as exc:
                result.status, result.exit_code = "failed", EXIT_FAILED
                result.error = f"extraction incomplete, nothing sent: {exc}"
            except GuardRefusal as exc:
                result.status, result.exit_code, result.error = "refused", EXIT_REFUSED, str(exc)
            except Exception as exc:
                result.status, result.exit_code = "failed", EXIT_FAILED
                result.error = _describe(exc)
            result.duration = time.monotonic() - started
            result.requests = getattr(self.source, "requests_sent", None)
            self.state.finish_run(
                result.run_id,
                status=result.status,
                exit_code=result.exit_code,
                error=result.error,
                open_count=result.open_count,
                open_total=result.open_total,
                balance_ok=result.balance_ok,
                mismatches=[[m.debtor, str(m.balance), str(m.open_items)] for m in result.mismatches],
            )
        finally:
            for spool in spools:
                spool.close()
            self.state.release_lock()
        return result

    # ------------------------------------------------------------------------------------------------------
    def _run(self, options: SyncOptions, mode: str, result: RunResult, spools: list[Any]) -> None:
        today = self.today or date.today()
        mapper = self.mapper
        fields = select_fields(mapper.config) if self.select else None
        extractor = Extractor(self.source, page_size=self.page_size, prefetch=self.prefetch, fields=fields)
        stock = mode == "stock"
        only = options.only

        def spool() -> Spool:
            s = Spool()
            spools.append(s)
            return s

        # --- clients and debtor contacts ---------------------------------------------------------------
        client_hashes = self.state.hashes("clients")
        contact_hashes = self.state.hashes("contacts")
        clients, contacts = spool(), spool()
        debtors: dict[str, DebtorInfo] = {}
        debtor_by_id: dict[int, str] = {}
        has_collection: set[str] = set()
        contact_keys: set[str] = set()
        skipped: list[str] = []
        skipped_info: dict[str, DebtorInfo] = {}  # debtors that could not be mapped: their items are held
        self.progress.stage("debtors")
        for debtor in extractor.debtors():
            self.progress.advance("debtors")
            info = mapper.debtor_info(debtor)
            debtor_by_id[int(debtor.get("id") or 0)] = info.number
            if info.excluded:
                result.excluded_debtors += 1
                debtors[info.number] = info
                continue
            try:
                row = mapper.client(debtor, info.client_code)
                if not row.get("client_business_name"):
                    raise ValueError("no name")
            except (ValueError, KeyError, IndexError) as exc:
                skipped.append(info.number)
                skipped_info[info.number] = info
                result.messages.append(f"debtor {info.number} skipped: {exc}")
                continue
            debtors[info.number] = info
            key = row["client_code"]
            if stock:  # sent anyway: the hash is computed while the file is imported
                clients.add(row, key, "")
            elif client_hashes.get(key) != (digest := row_hash(row)):
                clients.add(row, key, digest)
            for contact in mapper.debtor_contacts(debtor, info.client_code):
                if contact.get("contact_collection"):
                    has_collection.add(info.number)
                self._add_contact(contacts, contact, contact_hashes, stock, contact_keys)

        self.progress.stage("contacts")
        card_debtor: dict[int, str] = {}  # contact (card) id → debtor number
        for row in extractor.contacts():
            self.progress.advance("contacts")
            number = str(row.get("module_id_") or "") or debtor_by_id.get(int(row.get("module_id") or 0), "")
            if number:
                card_debtor[int(row.get("id") or 0)] = number
        for row in extractor.contact_persons():
            self.progress.advance("contacts")
            number = card_debtor.get(int(row.get("contact_id") or 0), "")
            info = debtors.get(number)
            if info is None or info.excluded:
                continue
            contact = mapper.contact_row(row, info.client_code)
            if contact is None or mapper.contact_key(contact) in contact_keys:
                continue  # a person already sent as the debtor's attention person
            if number not in has_collection:
                contact["contact_collection"] = True
                has_collection.add(number)
            self._add_contact(contacts, contact, contact_hashes, stock, contact_keys)
        del card_debtor, contact_keys
        del debtor_by_id

        users = spool()
        user_hashes = self.state.hashes("users")
        for row in mapper.user_rows(debtors):
            key, digest = mapper.user_key(row), row_hash(row)
            if stock or user_hashes.get(key) != digest:
                users.add(row, key, digest)

        # a sink that can prepare files starts rendering these three now, while the items are extracted
        # (the items' pages keep this thread waiting now and then); discarded if a guard refuses the run
        prepare = getattr(self.sink, "prepare", None)
        early: dict[str, Any] = {}
        if callable(prepare) and not options.dry_run and options.export_dir is None:
            for kind, done in (("clients", clients), ("contacts", contacts), ("users", users)):
                if kind in only and done.count and (kind != "users" or mapper.users):
                    early[kind] = prepare(kind, done, columns=mapper.columns(kind))
                    spools.insert(0, early[kind])  # closed (before the spools they read) at the end

        # --- open items ------------------------------------------------------------------------------------
        open_hashes = self.state.open_item_hashes()  # key → hash of the items open at the destination
        items = spool()
        sums: dict[str, Decimal] = {}
        seen: set[str] = set()
        unknown_debtors: set[str] = set()
        open_total = Decimal("0.00")
        self.progress.stage("items")

        def counted(rows: Iterable[Any]) -> Iterable[Any]:
            if isinstance(self.progress, _NoProgress):
                return rows
            return _counted(rows, self.progress)

        for item in open_items(
            matches=counted(extractor.open_matches()),
            invoices=counted(extractor.open_invoices()),
            creditnotes=counted(extractor.open_creditnotes()),
            payments=counted(extractor.open_payments()),
        ):
            info = debtors.get(item.debtor)
            if info is None:
                # held: neither sent nor taken for settled (a DELTA run would zero a real open item)
                held = skipped_info.get(item.debtor)
                seen.add(mapper.item_key(mapper.item(item, held)) if held else item.unique_key)
                unknown_debtors.add(item.debtor)
                continue
            if info.excluded:
                continue
            sums[item.debtor] = sums.get(item.debtor, Decimal("0.00")) + item.remaining
            row = mapper.item(item, info)
            key = mapper.item_key(row)
            seen.add(key)
            result.open_count += 1
            open_total += abs(item.remaining)
            if stock:
                items.add(row, key, "", True)
            elif open_hashes.get(key) != (digest := row_hash(row)):
                items.add(row, key, digest, True)
        result.open_total = open_total
        for number in sorted(unknown_debtors):
            if number not in skipped:
                skipped.append(number)
                result.messages.append(f"open items of debtor {number}, which was not read, skipped")
        result.skipped_clients = skipped

        # --- settled since the last delivery (payment date = latest match time) --------------------------
        settled_keys = [k for k in open_hashes if k not in seen]
        del open_hashes
        settled = spool()
        if settled_keys and "items" in only:
            self.progress.stage("settled")
            dates = self._payment_dates(extractor, settled_keys)
            for key in settled_keys:
                last = self.state.delivered_row("items", key)
                if last is None:
                    continue
                row = _row_from_json(_row_json(last))
                row["item_amount_remaining_inc_tax"] = Decimal("0.00")
                if row.get("item_amount_remaining") not in (None, ""):
                    row["item_amount_remaining"] = Decimal("0.00")
                paid = dates.get(key)
                if paid is None:
                    result.messages.append(f"{key}: no match found; payment date set to the run date")
                    paid = today
                row["item_date_payment"] = mapper._date(paid)
                settled.add(row, key, row_hash(row), False)

        # --- issued and settled since the last run (never open at a sync) ---------------------------------
        done = set(settled_keys)
        marks: dict[str, int] | None = None
        fresh: dict[str, tuple[str, int]] = {}  # key → (table, number) of the documents sent by this scan
        if "items" in only:
            self.progress.stage("settled")
            marks = self._fresh_settled(extractor, debtors, seen, done, settled, fresh, result, today)

        # --- history ----------------------------------------------------------------------------------------
        history = spool()
        if options.history_months and "items" in only:
            self.progress.stage("history")
            since = _months_back(today, options.history_months)
            for item in extractor.settled_items(since):
                self.progress.advance("history")
                info = debtors.get(item.debtor)
                if info is None or info.excluded:
                    continue
                row = mapper.item(item, info)
                key, digest = mapper.item_key(row), row_hash(row)
                if key in done or key in seen or self.state.delivered_hash("items", key) == digest:
                    continue
                history.add(row, key, digest, False)
        result.rows_read = dict(extractor.rows_read)
        for table in sorted(extractor.whole_tables):
            result.messages.append(f"{table}: Dynaccount refused the field list (select=); read whole rows")

        # --- checks (nothing has been sent yet) -------------------------------------------------------------
        balances = {n: d.balance for n, d in debtors.items() if not d.excluded}
        result.balance_checked = len(balances)
        result.mismatches = check_balances(sums, balances)
        if result.mismatches and not options.allow_mismatch:
            listed = ", ".join(
                f"{m.debtor} (balance {m.balance}, open items {m.open_items})" for m in result.mismatches[:20]
            )
            more = f" and {len(result.mismatches) - 20} more" if len(result.mismatches) > 20 else ""
            raise GuardRefusal(
                "balance check failed: Σ open items ≠ debtor balance for "
                f"{len(result.mismatches)} debtor(s): {listed}{more}; "
                "nothing sent (use --allow-mismatch to send anyway)"
            )

        plan: list[_Planned] = []
        if "clients" in only:
            plan.append(_Planned("clients", "clients", clients))
        if "contacts" in only:
            plan.append(_Planned("contacts", "contacts", contacts))
        if "users" in only and self.mapper.users:
            plan.append(_Planned("users", "users", users, replace_users=stock))
        if "items" in only:
            if stock:
                plan.append(_Planned("items (settled)", "items", settled, stock=False))
                plan.append(_Planned("items", "items", items, stock=True, close_missing=True))
            else:
                for entry in settled.entries():
                    items.add(*entry)
                plan.append(_Planned("items", "items", items, stock=False))
            plan.append(_Planned("items (history)", "items", history, stock=False))

        if stock and "items" in only:
            check_stock_complete(skipped, force=options.force)
            previous_run = self.state.last_stock_run()
            if previous_run is not None and previous_run.open_count is not None:
                check_drop(
                    previous_run.open_count,
                    previous_run.open_total or Decimal(0),
                    result.open_count,
                    result.open_total,
                    max_drop=self.max_drop,
                    force=options.force,
                )
            if result.open_count == 0 and not options.force:
                raise GuardRefusal(
                    "no open item was extracted: a STOCK items file would clear every item at "
                    "My DSO Manager; "
                    "refused (use --force if the ledger really is empty)"
                )

        result.files = [_FileOf(p) for p in plan]
        if options.export_dir is not None:
            self._export(plan, result.files, options.export_dir, today)
            result.status, result.exit_code = "exported", EXIT_OK
            return
        if options.dry_run:
            result.status, result.exit_code = "dry-run", EXIT_OK
            return

        # --- deliver ----------------------------------------------------------------------------------------
        counts: dict[str, Any] = {}
        # a sink that can prepare files renders them ahead, in order, while the previous one is imported
        bodies: dict[int, Any] = {}
        if callable(prepare):
            for i, planned in enumerate(plan):
                if planned.label in early:
                    bodies[i] = early[planned.label]
                elif planned.spool.count:
                    bodies[i] = prepare(planned.kind, planned.spool, columns=mapper.columns(planned.kind))
                    spools.insert(0, bodies[i])  # closed (before the spools they read) at the end
        uploader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dsobridge-upload")
        spools.append(_Shutdown(uploader))
        self.state.discard_staged()
        stager = _Stager(self.state, plan)
        spools.append(stager)
        # an empty file says nothing (and an empty STOCK file would clear everything): not sent
        todo = [i for i, planned in enumerate(plan) if planned.spool.count]
        # the marks advance with the last items file: once it is recorded, every file that carries items
        # numbered up to them is (rejected rows lower them first); no items file at all: at the end
        marks_file = max((i for i in todo if plan[i].kind == "items"), default=None)

        def send(i: int) -> Future[Any]:
            planned = plan[i]
            if planned.close_missing and counts.get("clients", {}).get("rejected") and not options.force:
                raise GuardRefusal(
                    f"My DSO Manager rejected {counts['clients']['rejected']} client row(s): "
                    "the STOCK items file "
                    "would clear those clients' items; refused (see the clients report, or use --force)"
                )
            self.progress.stage(f"send {planned.label}")
            rendered = getattr(bodies.get(i), "path", None)
            if callable(rendered):
                rendered()  # wait here, idle, rather than slow the render down by staging beside it
            return uploader.submit(
                self.sink.deliver,
                planned.kind,
                bodies.get(i, planned.spool),
                columns=mapper.columns(planned.kind),
                stock=planned.stock,
                replace_users_association=planned.replace_users,
            )

        # one upload at a time, in order, in a thread; meanwhile this thread stages the state rows (hashes,
        # row JSON) of the file being sent and then of the next ones in a temporary table, and records the
        # previous file (accepted) while the next one is being sent: only a short SQL copy per file
        upload = send(todo[0]) if todo else None
        try:
            for n, i in enumerate(todo):
                planned, file_result = plan[i], result.files[i]
                current, upload = upload, None
                assert current is not None
                try:
                    stager.finish(i)
                    stager.ahead(current)
                finally:
                    report = current.result()  # also when staging failed: never leave an upload running
                _fill(file_result, report)
                counts[planned.label] = {
                    k: getattr(file_result, k)
                    for k in ("rows", "added", "updated", "unchanged", "cleared", "rejected")
                }
                if self.after_delivery is not None:
                    self.after_delivery(planned.label)
                refused: Exception | None = None
                if n + 1 < len(todo):
                    try:
                        upload = send(todo[n + 1])  # an accepted file need not wait for its record
                    except Exception as exc:  # a guard, a render error: after this file is recorded
                        refused = exc
                rejected_lines = {r.get("line") for r in file_result.rejected_rows if r.get("line")}
                if marks and fresh and planned.kind == "items" and rejected_lines:
                    _lower_marks(marks, planned.spool, rejected_lines, fresh)
                self.state.commit_file(
                    result.run_id or 0,
                    planned.kind,
                    None,  # the staged rows
                    report=_report_json(report),
                    mode=planned.mode or "-",
                    counts=counts,
                    close_missing_items=planned.close_missing,
                    staged_file=i,
                    skip_lines=rejected_lines,
                    marks=marks if i == marks_file else None,
                )
                if refused is not None:
                    raise refused
        finally:
            if upload is not None:  # a failure while an upload is under way: let it end first
                with contextlib.suppress(Exception):
                    upload.result()
        if marks and marks_file is None:
            self.state.set_marks(marks, result.run_id or 0)
        result.status, result.exit_code = "success", EXIT_OK

    def _export(self, plan: list[_Planned], files: list[FileResult], directory: Path, today: date) -> None:
        from dsobridge.mydso.csvfile import write_csv

        directory.mkdir(parents=True, exist_ok=True)
        for planned, file_result in zip(plan, files, strict=True):
            if planned.spool.count == 0:
                continue
            suffix = planned.label.replace("items (", "").rstrip(")") if "(" in planned.label else ""
            name = f"{planned.kind}{'-' + suffix if suffix else ''}_{today:%Y%m%d}"
            name += ".stock.csv" if planned.stock else ".csv"
            path = directory / name
            write_csv(planned.kind, planned.spool, path, self.export_options(planned.kind))
            file_result.path = str(path)

    def export_options(self, kind: str) -> Any:
        options = getattr(self.sink, "options", None)
        if callable(options):
            return options(self.mapper.columns(kind))
        from dsobridge.mydso.csvfile import CsvOptions

        return CsvOptions(columns=self.mapper.columns(kind))

    # ------------------------------------------------------------------------------------------------------
    def _add_contact(
        self, spool: Spool, contact: dict[str, Any], hashes: dict[str, str], stock: bool, keys: set[str]
    ) -> None:
        key = self.mapper.contact_key(contact)
        if key in keys:
            return  # one row per contact key in a file
        keys.add(key)
        if stock:
            spool.add(contact, key, "")
        elif hashes.get(key) != (digest := row_hash(contact)):
            spool.add(contact, key, digest)

    def _fresh_settled(
        self,
        extractor: Extractor,
        debtors: dict[str, DebtorInfo],
        seen: set[str],
        done: set[str],
        settled: Spool,
        fresh: dict[str, tuple[str, int]],
        result: RunResult,
        today: date,
    ) -> dict[str, int]:
        """Invoices and credit notes booked since the last run and already settled, never delivered: added to
        ``settled`` with their payment date. Returns the new high-water marks (document numbers).

        Each table is probed with one row (nothing booked since the mark: done), then read
        ``order=invoice_id_ desc`` until a number at or below the last run's mark: a few small pages. A
        document the run could not account for — open but not in this run's open set (booked after the open
        set was read), of a debtor not read or skipped — keeps the mark below its number, so the next run
        looks at it again. Without a mark (the first run) only the newest documents are read,
        down to the first one accounted for: the first run's settled documents are ``--history``'s job.
        """
        known = self.state.marks()
        scan_page = min(self.page_size, _SCAN_PAGE)
        marks: dict[str, int] = {}
        sent = 0
        for table, kind in (("debtor_invoice", "INVOICE"), ("debtor_creditnote", "CREDITNOTE")):
            mark = known.get(table)
            if mark is None:
                mark = self.state.max_item_number(kind)  # a state written before the marks existed
            first = mark is None
            top = mark or 0
            cap: int | None = None
            rows = extractor.issued_after(
                table,
                top,
                page_size=_FIRST_PAGE if first else scan_page,
                probe=not first,
                dates=not first,
            )
            with contextlib.closing(rows):  # type: ignore[type-var]  # a generator: closing stops its paging
                for doc, paid in rows:
                    self.progress.advance("settled")
                    number = int(doc.get("invoice_id_") or 0)
                    top = max(top, number)
                    key = f"{kind}-{number}"
                    info = debtors.get(str(doc.get("module_id_")))
                    if info is not None and info.excluded:
                        continue
                    is_open = str(doc.get("is_matched")).upper() != "YES"
                    if info is None or (is_open and key not in seen):
                        cap = number - 1 if cap is None else min(cap, number - 1)  # look again next run
                        continue
                    if first:
                        break  # the newest document accounted for: nothing booked after the open set was read
                    if is_open or key in seen or key in done:
                        continue
                    if paid is None:
                        result.messages.append(f"{key}: no match found; payment date set to the run date")
                        paid = today
                    item = settled_document(doc, kind, paid)
                    if item is None:
                        continue
                    row = self.mapper.item(item, info)
                    key, digest = self.mapper.item_key(row), row_hash(row)
                    done.add(key)
                    if self.state.delivered_hash("items", key) == digest:
                        continue  # delivered by a run that ended before it recorded its marks
                    settled.add(row, key, digest, False)
                    fresh[key] = (table, number)
                    sent += 1
            marks[table] = top if cap is None else min(top, cap)
        if sent:
            result.messages.append(
                f"{sent} invoice(s) and credit note(s) issued and settled since the last run: sent as settled"
            )
        return marks

    def _payment_dates(self, extractor: Extractor, keys: list[str]) -> dict[str, date]:
        wanted = {"INVOICE": set(), "CREDITNOTE": set(), "PAYMENT": set()}
        for key in keys:
            kind, _, number = key.partition("-")
            if kind in wanted and number.isdigit():
                wanted[kind].add(int(number))
        if not any(wanted.values()):
            return {}
        found: dict[str, date] = {}

        def note(key: str, when: date | None) -> None:
            if when is not None and (key not in found or when > found[key]):
                found[key] = when

        for match in extractor.all_matches():
            self.progress.advance("settled")
            when = to_date(match.get("time"))
            invoice = int(match.get("invoice_id_") or 0)
            if invoice in wanted["INVOICE"]:
                note(f"INVOICE-{invoice}", when)
            if str(match.get("is_creditnote")).upper() == "YES":
                note_number = int(match.get("creditnote_id_") or 0)
                if note_number in wanted["CREDITNOTE"]:
                    note(f"CREDITNOTE-{note_number}", when)
            else:
                payment = int(match.get("payment_id") or 0)
                if payment in wanted["PAYMENT"]:
                    note(f"PAYMENT-{payment}", when)
        return found


_SCAN_PAGE = 100  # rows per page when reading the documents above the marks
_FIRST_PAGE = 10  # the first run reads the newest documents only: usually the first one is accounted for


def _lower_marks(
    marks: dict[str, int], spool: Spool, lines: set[Any], fresh: dict[str, tuple[str, int]]
) -> None:
    """Keep the marks below the documents of ``fresh`` whose rows My DSO Manager rejected (lines of the file,
    from 2), so the next run sends them again."""
    for line, (_, key, _, _) in enumerate(spool.entries(), start=2):
        if line in lines and key in fresh:
            table, number = fresh[key]
            marks[table] = min(marks.get(table, number - 1), number - 1)


class _Shutdown:
    """Closes (shuts down) an executor with the run's other resources."""

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.executor = executor

    def close(self) -> None:
        self.executor.shutdown(wait=True)


def _FileOf(planned: _Planned) -> FileResult:
    return FileResult(label=planned.label, kind=planned.kind, mode=planned.mode, rows=planned.spool.count)


def _fill(result: FileResult, report: Any) -> None:
    result.sent = True
    for name in ("rows", "added", "updated", "unchanged", "cleared", "rejected"):
        value = getattr(report, name, None)
        if isinstance(value, int):
            setattr(result, name, value)
    result.rejected_rows = [
        {
            "line": getattr(r, "line", None),
            "column": getattr(r, "column", None),
            "reason": getattr(r, "reason", None),
        }
        for r in getattr(report, "rejected_rows", []) or []
    ]


def _report_json(report: Any) -> dict[str, Any]:
    raw = getattr(report, "raw", None)
    if isinstance(raw, dict) and raw:
        return raw
    return (
        {k: v for k, v in vars(report).items() if not k.startswith("_")}
        if hasattr(report, "__dict__")
        else {}
    )


def _delivered(planned: _Planned) -> Iterator[Delivered]:
    """The state rows of a file, in file order (line 2 onwards); a hash left out while spooling (STOCK: every
    row is sent anyway) is computed here, while files are being imported."""
    keep_row = planned.kind == "items"
    for row, key, digest, is_open in planned.spool.entries():
        if keep_row or not digest:
            computed, text = _hash_and_json(row, keep_row)
            yield Delivered(key, digest or computed, is_open, text)
        else:
            yield Delivered(key, digest, is_open, None)


_CANON: dict[tuple[str, ...], Callable[[dict[str, Any]], str]] = {}
_SORTED_KEYS: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}


def _canon_function(keys: tuple[str, ...]) -> Callable[[dict[str, Any]], str]:
    """A function giving the text ``row_hash`` hashes for rows with these keys, in one f-string.

    Generated once per file layout: the keys and their ``key=`` prefixes are constants of the function (never
    pasted into its source), each value is formatted exactly as ``row_hash`` formats it (``None`` → empty).
    """
    ordered = sorted(keys)
    namespace: dict[str, Any] = {}
    for i, key in enumerate(ordered):
        namespace[f"k{i}"], namespace[f"p{i}"] = key, f"{key}="
    loads = "".join(f"    v{i} = row[k{i}]\n" for i in range(len(ordered)))
    text = "\\x1f".join(f"{{p{i}}}{{'' if v{i} is None else v{i}}}" for i in range(len(ordered)))
    source = f'def canon(row):\n{loads}    return f"{text}"\n'
    exec(compile(source, "<dsobridge row canon>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace["canon"]


def _hash_and_json(row: dict[str, Any], with_json: bool) -> tuple[str, str | None]:
    """``row_hash(row)`` and, if asked, ``_row_json(row)``: exactly the results of the two functions (a test
    checks it). The hash alone: its text built by a function generated for the row's layout; with the JSON:
    in one pass over the row, each value turned into text once."""
    keys = tuple(row)
    if not with_json:
        canon = _CANON.get(keys)
        if canon is None:
            if len(_CANON) > 64:  # one entry per file layout in practice; never let it grow unbounded
                _CANON.clear()
            canon = _CANON[keys] = _canon_function(keys)
        return hashlib.sha256(canon(row).encode("utf-8")).hexdigest()[:32], None
    order = _SORTED_KEYS.get(keys)
    if order is None:
        if len(_SORTED_KEYS) > 64:
            _SORTED_KEYS.clear()
        order = _SORTED_KEYS[keys] = tuple((k, f"{k}=") for k in sorted(keys))
    parts: list[str] = []
    plain: dict[str, Any] = {}
    for k, prefix in order:
        v = row[k]
        cls = v.__class__
        if v is None:
            parts.append(prefix)
            plain[k] = None
        elif cls is str:
            parts.append(prefix + v)
            plain[k] = v
        elif cls is Decimal or cls is date:
            text = str(v)
            parts.append(prefix + text)
            plain[k] = text
        else:  # bool, int, anything else: exactly what the two reference functions do
            parts.append(f"{prefix}{v}")
            plain[k] = v
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
    return digest, json.dumps(plain, default=str, separators=(",", ":"), sort_keys=True)


_STAGE_CHUNK = 500  # rows staged between two looks at the upload


class _Stager:
    """Stages the state rows of the planned files in the state store's temporary table, a chunk at a time:
    the file being sent first (``finish``), then the next ones while the upload lasts (``ahead``)."""

    def __init__(self, state: StateStore, plan: list[_Planned], chunk: int | None = None) -> None:
        self.state = state
        self.plan = plan
        self.chunk = chunk or _STAGE_CHUNK
        self.pending = [i for i, p in enumerate(plan) if p.spool.count]
        self.done: set[int] = set()
        self._current: tuple[int, Iterator[Delivered], int] | None = None

    def step(self) -> bool:
        """Stage one chunk; ``False`` when everything is staged."""
        if self._current is None:
            if not self.pending:
                return False
            i = self.pending.pop(0)
            self._current = (i, _delivered(self.plan[i]), 2)
        i, rows, line = self._current
        chunk = list(islice(rows, self.chunk))
        if chunk:
            self.state.stage(chunk, file=i, first_line=line)
        if len(chunk) < self.chunk:
            self.done.add(i)
            self._current = None
        else:
            self._current = (i, rows, line + len(chunk))
        return True

    def finish(self, i: int) -> None:
        while i not in self.done and self.step():
            pass

    def ahead(self, upload: Future[Any]) -> None:
        while not upload.done() and self.step():
            pass

    def close(self) -> None:
        self._current = None
        with contextlib.suppress(sqlite3.Error):  # never hide the error that ended the run
            self.state.discard_staged()


def _describe(exc: BaseException) -> str:
    """An error for the run record and the terminal: type and message (clients scrub their own messages)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "FileResult",
    "RunResult",
    "Sink",
    "SyncEngine",
    "SyncOptions",
]
