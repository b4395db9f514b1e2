"""The data of one run: its options, its result, and the context its stages share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from dsobridge.sync.config import FILE_KINDS
from dsobridge.sync.openitems import Mismatch
from dsobridge.sync.scope import FULL, Scope

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_REFUSED = 3
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT)
EXIT_TERMINATED = 143  # SIGTERM (what systemd sends)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C (see ``dsobridge.commands._serving``)."""

    code = EXIT_TERMINATED


class Progress(Protocol):
    def stage(self, name: str) -> None: ...
    def advance(self, name: str, n: int = 1) -> None: ...


class NoProgress:
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
    plan: bool = False  # compute what would be sent and why each item clears; send nothing
    scope: Scope = FULL  # a targeted delta covers only some debtors

    @property
    def sends(self) -> bool:
        return not (self.dry_run or self.plan or self.export_dir is not None)


@dataclass
class FileResult:
    """One delivered (or, in a dry run, planned) file."""

    label: str  # clients, contacts, users, items, items (settled), items (history)
    kind: str
    mode: str  # STOCK | DELTA | "" (not items)
    rows: int
    new: int = 0  # rows the state has never seen (planned)
    changed: int = 0  # rows whose content changed since they were delivered (planned)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    cleared: int = 0
    rejected: int = 0
    sent: bool = False
    path: str | None = None
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ClearingInfo:
    """An item that leaves the open set, and why (or why not: ``reason`` None, ``why`` says what is wrong)."""

    key: str  # item_unique_key
    client: str
    debtor: str
    currency: str
    remaining: Decimal  # at the last delivery
    reason: str | None  # matched | excluded | debtor_deleted | forced | None (unexplained)
    why: str
    paid: date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "client": self.client,
            "debtor": self.debtor,
            "currency": self.currency,
            "remaining": str(self.remaining),
            "reason": self.reason,
            "why": self.why,
            "paid": None if self.paid is None else self.paid.isoformat(),
        }


@dataclass
class RunResult:
    run_id: int | None
    mode: str
    status: str  # success | failed | refused | interrupted | dry-run | plan | exported
    exit_code: int
    scope: str = "full"
    files: list[FileResult] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    balance_checked: int = 0
    open_count: int = 0
    open_total: Decimal = Decimal("0.00")
    open_by_currency: dict[str, Decimal] = field(default_factory=dict)  # Σ |remaining| per currency
    clearings: list[ClearingInfo] = field(default_factory=list)
    unexplained: list[ClearingInfo] = field(default_factory=list)
    skipped_clients: list[str] = field(default_factory=list)
    excluded_debtors: int = 0
    rows_read: dict[str, int] = field(default_factory=dict)
    requests: int | None = None
    duration: float = 0.0
    error: str | None = None
    error_kind: str | None = None  # a stable code for alerts and messages (dsobridge.explain)
    messages: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    extracted: bool = False  # the extraction ran to its end (counts are meaningful)
    exception: BaseException | None = field(default=None, repr=False, compare=False)  # what failed the run

    @property
    def balance_ok(self) -> bool:
        return not self.mismatches

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "scope": self.scope,
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
            "open_items": {
                "count": self.open_count,
                "total": str(self.open_total),
                "by_currency": {c: str(v) for c, v in sorted(self.open_by_currency.items())},
            }
            if self.extracted
            else None,
            "clearings": [c.to_json() for c in self.clearings],
            "unexplained": [c.to_json() for c in self.unexplained],
            "skipped_clients": self.skipped_clients,
            "excluded_debtors": self.excluded_debtors,
            "rows_read": self.rows_read,
            "requests": self.requests,
            "duration_s": round(self.duration, 3),
            "error": self.error,
            "error_kind": self.error_kind,
            "messages": self.messages,
        }


CsvOptionsFor = Callable[[str, tuple[str, ...]], Any]  # (kind, columns) → CsvOptions


@dataclass
class RunContext:
    """What the stages of one run share (built by ``SyncEngine.run``)."""

    source: Any  # RowSource
    state: Any  # StateStore
    mapper: Any  # Mapper
    options: SyncOptions
    today: date
    run_id: int
    result: RunResult
    progress: Progress
    files: Any  # RunFiles
    csv_options: CsvOptionsFor
    page_size: int = 1000
    prefetch: bool = True
    select: bool = True
    max_drop: Decimal = Decimal("0.30")

    @property
    def stock(self) -> bool:
        return self.options.mode == "stock"

    @property
    def scope(self) -> Scope:
        return self.options.scope

    def wants(self, kind: str) -> bool:
        return kind in self.options.only
