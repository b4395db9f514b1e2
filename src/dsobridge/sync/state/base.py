"""What every state store keeps, and the interface the sync's stages talk to.

A state store is the sync's memory of ONE company (a Dynaccount accounting delivering to one My DSO Manager
account): whose it is, the run lock, the runs and their import reports, what was delivered (compactly: a key,
a content hash, and for items what an explanation of a later clearing and a settlement row need), the
high-water marks, the webhook triggers waiting for a run and the open alert incidents.

Two implementations share this interface and its contract tests (``tests/sync/state_contract.py``):
``SqliteStateStore`` (the embedded default, one file per company) and the fleet's PostgreSQL store. The
engine never knows which one it has.

The state advances only through :meth:`StateStore.commit_file`: the rows of a file My DSO Manager accepted,
its report and the run's counts, in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, Protocol, runtime_checkable

from dsobridge.alerts import Incident  # re-exported: the open alert incidents a store keeps

# --- errors ----------------------------------------------------------------------------------------------


class StateError(Exception):
    """The state store cannot be used."""


class Locked(StateError):
    """Another run holds the lock."""

    def __init__(self, holder: LockHolder) -> None:
        self.holder = holder
        super().__init__(
            f"another sync run holds the lock ({holder.describe()}); wait for it to finish, "
            "or run `dsobridge unlock` if that process is gone"
        )


class StateMismatch(StateError):
    """The state store belongs to another company (exit code 2)."""

    def __init__(self, bound: Identity, wanted: Identity) -> None:
        self.bound = bound
        self.wanted = wanted
        super().__init__(
            f"this state belongs to {bound.describe()}; the configuration is for {wanted.describe()}. "
            "Point [sync] state at this company's own state file (each config has its own by default), "
            "or start a new one"
        )


# --- identity and lock --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Whose state this is: the Dynaccount accounting and the My DSO Manager account it delivers to."""

    dynaccount_api_id: int
    dynaccount_url: str
    mydso_login: str
    mydso_url: str

    def describe(self) -> str:
        return (
            f"Dynaccount accounting {self.dynaccount_api_id} ({self.dynaccount_url}) → "
            f"My DSO login {self.mydso_login} ({self.mydso_url})"
        )

    @property
    def company(self) -> str:
        """The short form used in log lines: ``592912→acme-api``."""
        return f"{self.dynaccount_api_id}→{self.mydso_login}"


@dataclass(frozen=True)
class LockHolder:
    """Who holds the run lock."""

    pid: int
    host: str
    acquired_at: datetime
    run_id: int | None = None

    def age_seconds(self, now: datetime | None = None) -> float:
        return ((now or utcnow()) - self.acquired_at).total_seconds()

    def describe(self) -> str:
        run = f", run {self.run_id}" if self.run_id else ""
        return f"pid {self.pid} on {self.host} since {self.acquired_at.isoformat(timespec='seconds')}{run}"


def holder_alive(holder: LockHolder) -> bool | None:
    """Whether the lock holder's process still runs: known on this host, ``None`` (unknown) on another."""
    import os
    import socket

    if holder.host != socket.gethostname():
        return None
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- runs ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    id: int
    started_at: str
    ended_at: str | None
    mode: str
    status: str
    dry_run: bool
    history_months: int
    counts: dict[str, Any]
    open_count: int | None
    open_total: Decimal | None
    stock_delivered: bool
    balance_ok: bool | None
    mismatches: list[Any]
    error: str | None
    exit_code: int | None
    scope: str = "full"  # "full", or the debtor numbers of a targeted run ("debtors:10001,10002")
    facts: dict[str, Any] = field(default_factory=dict)  # what the next run's backstop compares with


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended, written by :meth:`StateStore.finish_run`."""

    status: str  # success | failed | refused | interrupted | dry-run | exported
    exit_code: int
    error: str | None = None
    open_count: int | None = None
    open_total: Decimal | None = None
    balance_ok: bool | None = None
    mismatches: list[Any] | None = None
    facts: dict[str, Any] | None = None  # e.g. {"debtors": {"DKK": 4310, "EUR": 12}, "clearings": {...}}


# --- delivered state ----------------------------------------------------------------------------------------

ITEM_KINDS = ("INVOICE", "CREDITNOTE", "PAYMENT")
_KIND_CODE = {kind: code for code, kind in enumerate(ITEM_KINDS, start=1)}
_NUMBER_BITS = 48


def pack_item_key(kind: str, number: int) -> int:
    """``("INVOICE", 1001)`` → one 64-bit integer: the compact form of ``item_unique_key`` in the state."""
    if not 0 <= number < 1 << _NUMBER_BITS:
        raise ValueError(f"item number out of range: {number}")
    return _KIND_CODE[kind] << _NUMBER_BITS | number


def unpack_item_key(key: int) -> tuple[str, int]:
    return ITEM_KINDS[(key >> _NUMBER_BITS) - 1], key & ((1 << _NUMBER_BITS) - 1)


def item_key_text(key: int) -> str:
    """The ``item_unique_key`` of a packed key: ``INVOICE-1001``, ``PAYMENT-<posting id>``."""
    kind, number = unpack_item_key(key)
    return f"{kind}-{number}"


def parse_item_key(text: str) -> int:
    kind, _, number = text.partition("-")
    return pack_item_key(kind, int(number))


class ItemState(NamedTuple):
    """What the state keeps of a delivered item: enough to compare, to explain a clearing and to send the
    settlement row (the required columns; the rest of the row stays as it is at My DSO Manager).

    A named tuple, not a dataclass: one is built per extracted item on the hot path (``_replace`` changes it).
    """

    key: int  # pack_item_key(kind, number)
    hash: int  # 64-bit hash of the delivered CSV line
    debtor: str  # the Dynaccount debtor number
    client: str  # the client_code it was delivered under
    number: int  # the item_number before formatting: the document number, a payment's voucher number
    currency: str
    initial: Decimal  # signed, incl. VAT
    remaining: Decimal  # signed; 0 once settled
    issued: date
    due: date
    open: bool = True
    reason: str | None = None  # why it was settled (closed items): see dsobridge.sync.clearing
    paid: date | None = None  # the payment date sent (closed items)

    @property
    def kind(self) -> str:
        return unpack_item_key(self.key)[0]

    @property
    def unique_key(self) -> str:
        return item_key_text(self.key)


class StagedItem(NamedTuple):
    """One item row of a file being sent, with its line in the file (line 1 is the header)."""

    line: int
    state: ItemState


class StagedRow(NamedTuple):
    """One clients / contacts / users row of a file being sent: its key (a 64-bit hash of the row's key
    text) and the hash of its line."""

    line: int
    key: int
    hash: int


@dataclass
class AcceptedFile:
    """A file My DSO Manager accepted, as :meth:`StateStore.commit_file` records it."""

    file_no: int  # the number the file's rows were staged under
    kind: str  # clients | contacts | users | items
    label: str  # clients, contacts, users, items, items (settled), items (history)
    mode: str  # STOCK | DELTA | "-"
    report: dict[str, Any]
    counts: dict[str, Any]  # the run's counts so far, per file label
    rejected_lines: Collection[int] = ()  # lines the service rejected: not recorded, sent again next run
    stock: bool = False  # a STOCK items file (the run then counts as having delivered a STOCK)
    close: Collection[ItemState] = ()  # items to record as settled beside the file (forced STOCK)
    marks: dict[str, int] | None = None  # high-water marks that advance with this file


# --- webhook triggers and incidents ----------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """A verified webhook call waiting for (or taken by) a run."""

    id: int
    received_at: datetime
    table: str
    method: str
    debtors: tuple[str, ...] | None  # None: the change cannot be scoped (a full DELTA)
    status: str = "pending"  # pending | running | done | failed
    run_id: int | None = None
    attempts: int = 0
    error: str | None = None


# --- the interface ----------------------------------------------------------------------------------------


@runtime_checkable
class StateStore(Protocol):
    """The state of one company, as the sync's stages, the CLI and the fleet see it."""

    # identity: a state store belongs to one company
    def identity(self) -> Identity | None: ...
    def bind(self, identity: Identity) -> None:
        """Record whose state this is (first use); raise :class:`StateMismatch` if it is another's."""
        ...

    # the run lock
    def acquire_lock(self, *, timeout: float = 0.0) -> None: ...
    def release_lock(self) -> None: ...
    def lock_holder(self) -> LockHolder | None: ...
    def break_lock(self, holder: LockHolder) -> bool:
        """Remove the lock if it is still exactly ``holder``'s (``dsobridge unlock``)."""
        ...

    # runs
    def start_run(
        self, mode: str, *, scope: str = "full", dry_run: bool = False, history_months: int = 0
    ) -> int: ...
    def finish_run(self, run_id: int, outcome: RunOutcome) -> None: ...
    def runs(self, limit: int = 20) -> list[RunRecord]: ...
    def run(self, run_id: int) -> RunRecord | None: ...
    def reports(self, run_id: int) -> list[dict[str, Any]]: ...
    def last_success(self, *, full_scope: bool = True) -> RunRecord | None: ...

    # delivered state (read)
    def open_items(self, debtors: Collection[str] | None = None) -> Iterator[tuple[int, int]]:
        """``(key, hash)`` of the items open at the destination, by key ascending (all, or those debtors')."""
        ...

    def item_states(self, keys: Iterable[int]) -> Iterator[ItemState]: ...
    def item_hash(self, key: int) -> int | None: ...
    def row_hashes(self, kind: str) -> Iterator[tuple[int, int]]:
        """``(key, hash)`` of every delivered clients / contacts / users row, by key ascending."""
        ...

    def count(self, kind: str, *, open_only: bool = False) -> int: ...
    def marks(self) -> dict[str, int]: ...

    # delivered state (write): staged while files are built and sent, recorded on acceptance
    def stage_items(self, file_no: int, rows: Iterable[StagedItem]) -> None: ...
    def stage_rows(self, file_no: int, rows: Iterable[StagedRow]) -> None: ...
    def discard_staged(self) -> None: ...
    def commit_file(self, run_id: int, accepted: AcceptedFile) -> int: ...
    def set_marks(self, marks: dict[str, int], run_id: int) -> None: ...

    # webhook triggers
    def add_trigger(self, table: str, method: str, debtors: Collection[str] | None) -> int: ...
    def pending_triggers(self) -> list[Trigger]: ...
    def claim_triggers(self) -> list[Trigger]:
        """Take every pending trigger for one run (status ``running``)."""
        ...

    def finish_triggers(
        self, ids: Collection[int], *, run_id: int | None, status: str, error: str | None = None
    ) -> None:
        """``status``: ``done``, ``pending`` (to be retried) or ``failed`` (given up)."""
        ...

    def last_trigger_failure(self) -> Trigger | None: ...
    def requeue_triggers(self) -> int:
        """Put triggers left ``running`` by a process that died back to ``pending`` (on start)."""
        ...

    def trigger_counts(self) -> dict[str, int]: ...

    # alert incidents (dsobridge.alerts)
    def open_incident(self, kind: str, summary: str, run_id: int | None) -> bool: ...
    def resolve_incidents(self, run_id: int | None) -> list[str]: ...
    def open_incidents(self) -> list[Incident]: ...

    def close(self) -> None: ...


# --- shared helpers ---------------------------------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_now() -> str:
    return utcnow().isoformat(timespec="seconds")


def digest64(data: bytes | str) -> int:
    """A 64-bit signed integer digest (BLAKE2b): the state's compact form of a row key or a delivered line."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


def money_to_db(value: Decimal) -> int | str:
    """Whole hundredths as an integer (compact in both databases), anything finer as text."""
    cents = value * 100
    if cents == cents.to_integral_value():
        return int(cents)
    return str(value)


def money_from_db(value: int | str) -> Decimal:
    if isinstance(value, int):
        return Decimal(value).scaleb(-2)
    return Decimal(value)


__all__ = [
    "ITEM_KINDS",
    "AcceptedFile",
    "Identity",
    "Incident",
    "ItemState",
    "LockHolder",
    "Locked",
    "RunOutcome",
    "RunRecord",
    "StagedItem",
    "StagedRow",
    "StateError",
    "StateMismatch",
    "StateStore",
    "Trigger",
    "digest64",
    "holder_alive",
    "iso_now",
    "item_key_text",
    "money_from_db",
    "money_to_db",
    "pack_item_key",
    "parse_item_key",
    "unpack_item_key",
    "utcnow",
]
