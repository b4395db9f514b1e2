"""The key the server refuses to see twice in one file (spec §3), and the table the writer remembers keys in.

Keys are compared as written, except the item type (upper-cased), the year of issue (read from a date or
from a date given as text) and the contact e-mail and user names (stripped, lower-cased).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from datetime import date
from typing import Any

from dsobridge.mydso.errors import RowError

__all__ = ["KEYS", "KEY_COLUMNS", "KeyTable", "duplicate_error"]


def _issue_year(issue: Any) -> Any:
    """The year of issue, the same for ``date(2025, 3, 13)`` and ``"13/03/2025"`` (the server parses the date
    first); text that is no date the server reads is keyed as it is."""
    if isinstance(issue, date):
        return issue.year
    from dsobridge.mydso.check import parse_date  # check imports the writer

    try:
        return parse_date(str(issue)).year
    except ValueError:
        return str(issue)


def _folded(value: Any) -> str:
    return "" if value is None else str(value).strip().lower()


def item_key(unique: Any, client: Any, item_type: Any, number: Any, issue: Any) -> tuple[Any, ...]:
    """``(item_unique_key,)`` when given, else ``(client_code, ITEM_TYPE, item_number, year of issue)``."""
    if unique:
        return (unique,)
    kind = item_type.upper() if item_type.__class__ is str else item_type
    return (client, kind, number, issue.year if issue.__class__ is date else _issue_year(issue))


def client_key(code: Any) -> tuple[Any, ...]:
    return (code,)


def contact_key(code: Any, email: Any, first: Any, last: Any) -> tuple[Any, ...]:
    """``(client_code, e-mail)``, or without an e-mail ``(client_code, first name, last name)``."""
    folded = _folded(email)
    if folded:
        return (code, folded)
    return (code, _folded(first), _folded(last))


def user_key(email: Any, first: Any, last: Any, code: Any) -> tuple[Any, ...] | None:
    """``(user, client_code)``; the user is the e-mail, or without one the first and last name (None: a row
    without either says no user, and has no key)."""
    who = _folded(email)
    if not who:
        who = f"{str(first or '').strip()} {str(last or '').strip()}".strip().lower()
    return (who, code) if who else None


# The columns each key function reads, in its argument order. A column left out of the header reads None.
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "items": ("item_unique_key", "client_code", "item_type", "item_number", "item_date_issue"),
    "clients": ("client_code",),
    "contacts": ("client_code", "contact_email", "contact_firstname", "contact_lastname"),
    "users": ("user_email", "user_firstname", "user_lastname", "client_code"),
}
KEYS: dict[str, Callable[..., tuple[Any, ...] | None]] = {
    "items": item_key,
    "clients": client_key,
    "contacts": contact_key,
    "users": user_key,
}


def duplicate_error(kind: str, key: tuple[Any, ...], n: int) -> RowError:
    """The writer's refusal of data row ``n`` whose ``key`` appeared earlier in the file."""
    if kind == "items":
        column, what = (
            ("item_unique_key", "item_unique_key")
            if len(key) == 1
            else ("item_number", "client, type, number, year of issue")
        )
    elif kind == "clients":
        column, what = "client_code", "client_code"
    elif kind == "contacts":
        column, what = (
            ("contact_email", "client, e-mail")
            if len(key) == 2
            else ("contact_lastname", "client, first and last name")
        )
    else:
        column, what = ("client_code" if key[1] else "user_email"), "user, client_code"
    return RowError(n, column, f"duplicate key ({what}) within the file")


class KeyTable:
    """The ``hash()`` of every key seen so far, exactly, in an open-addressing table of 64-bit slots.

    Why not a ``set`` of ints: each is a 32-byte object plus a set entry (about 68 bytes a key); here a key
    costs 16 to 32 bytes (one ``array('q')``, linear probing, at most half full so that a probe rarely goes
    past a slot or two, doubled when that is reached; 48 bytes for a moment while doubling). The price: about
    0.5 µs a key against 0.15 µs for a set. 0 marks an empty slot, so the hash 0 is stored as 1 (one more
    64-bit value that may collide: harmless).
    """

    __slots__ = ("free", "mask", "table")

    def __init__(self, expected: int = 0) -> None:
        slots = 1 << 12
        while slots // 2 <= expected:
            slots *= 2
        self.table = array("q", [0]) * slots
        self.mask = slots - 1
        self.free = slots // 2

    def add(self, key_hash: int) -> bool:
        """Add ``key_hash`` (a ``hash()`` value: a signed 64-bit int); False if it was there already."""
        key_hash = key_hash or 1
        table, mask = self.table, self.mask
        i = key_hash & mask
        while slot := table[i]:
            if slot == key_hash:
                return False
            i = (i + 1) & mask
        table[i] = key_hash
        self.free -= 1
        if not self.free:
            self._grow()
        return True

    def _grow(self) -> None:
        old = self.table
        used = len(old) // 2 - self.free
        slots = len(old) * 2
        table = self.table = array("q", [0]) * slots
        mask = self.mask = slots - 1
        self.free = slots // 2 - used
        for key_hash in filter(None, old):
            i = key_hash & mask
            while table[i]:
                i = (i + 1) & mask
            table[i] = key_hash
