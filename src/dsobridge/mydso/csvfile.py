"""The streaming CSV writer: rows in, encoded byte chunks out, refusing what the server would reject.

Format (spec §4): header row, ``;``, every field double-quoted with quotes doubled, CRLF, ISO dates, amounts
``6580.10`` (or ``6 580,10``), in the requested encoding. Each row is validated, formatted and joined with
``";"`` in one step; a chunk's quotes are then counted once, and only a chunk holding a cell with ``"`` has
those rows written again with quotes doubled, so the output is byte for byte what ``csv.writer`` (QUOTE_ALL)
writes from the same cells.
"""

from __future__ import annotations

import codecs
import os
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from itertools import chain, islice
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, BinaryIO, Literal

from dsobridge.mydso.errors import HeaderError, RowError
from dsobridge.mydso.rows import COLUMNS, MODELS, REQUIRED, column_kinds, kind_of

__all__ = [
    "CsvOptions",
    "check_header",
    "file_name",
    "iter_csv",
    "row_formatter",
    "transliterate",
    "write_csv",
]

_CHUNK_ROWS = 2048

# item_type -> the sign its amounts must have (spec §3: credit notes and payments carry negative amounts).
_POSITIVE_TYPES = frozenset({"FAC"})
_NEGATIVE_TYPES = frozenset({"AVO", "RGL"})
_SIGNED_TYPES = _POSITIVE_TYPES | _NEGATIVE_TYPES


@dataclass(frozen=True, slots=True)
class CsvOptions:
    """How a file is written.

    - ``encoding``: any Python codec name; it is also the ``encoding`` option sent to the server.
    - ``decimal_style``: ``"point"`` writes ``6580.10``, ``"space_comma"`` writes ``6 580,10``.
    - ``transliterate``: replace characters the encoding cannot hold (``ł`` -> ``l``, ``€`` -> ``EUR``,
      else ``?``) instead of failing.
    - ``neutralise_formulas``: prefix text cells starting with ``= + - @`` (and not a number) with ``'`` for
      spreadsheet safety. Off by default: the import must receive the exact text.
    - ``check_signs``: refuse a negative ``FAC`` or a positive ``AVO``/``RGL`` amount.
    - ``check_duplicates``: refuse an item whose key (spec §3) already appeared in the file. Costs 12 to
      24 bytes per row (a 64-bit hash in an open-addressing table); switch off for strictly flat memory
      when the source guarantees unique keys.
    - ``columns``: the header, in order. ``None``: the first row's keys for mapping rows, else every column
      of the file kind in spec order.
    """

    encoding: str = "UTF-8"
    decimal_style: Literal["point", "space_comma"] = "point"
    transliterate: bool = False
    neutralise_formulas: bool = False
    check_signs: bool = True
    check_duplicates: bool = True
    columns: Sequence[str] | None = None

    def __post_init__(self) -> None:
        codecs.lookup(self.encoding)  # LookupError early for an unknown codec
        if self.decimal_style not in ("point", "space_comma"):
            raise ValueError(f"decimal_style must be 'point' or 'space_comma', not {self.decimal_style!r}")


class _CellError(Exception):
    pass


# --- value formatting -------------------------------------------------------------------------------------


def _amount_point(v: Any) -> str:
    cls = v.__class__
    if cls is Decimal:  # fast path: two decimals already (str() never uses exponent notation then)
        s = str(v)
        if s[-3:-2] == "." and s != "-0.00":
            return s
    if cls is int:
        return f"{v}.00"
    if cls is not Decimal:
        raise _CellError(f"amount must be Decimal, int or str, not {cls.__name__}")
    if not v.is_finite():
        raise _CellError(f"amount must be finite, not {v}")
    s = format(v, "f")
    dot = s.find(".")
    if dot < 0:
        s += ".00"
    elif len(s) - dot == 2:
        s += "0"
    if s[0] == "-" and not v:
        s = s[1:]  # Decimal("-0.00") is written 0.00
    return s


def _amount_space_comma(v: Any) -> str:
    s = _amount_point(v)
    head, _, tail = s.partition(".")
    sign = "-" if head[0] == "-" else ""
    head = format(int(head.lstrip("-")), ",").replace(",", " ")
    return f"{sign}{head},{tail}"


def _amount_space_comma_or_none(v: Any) -> str | None:
    try:
        return _amount_space_comma(v)
    except _CellError:
        return None


def _date(v: Any) -> str:
    if v.__class__ is date:
        return v.isoformat()
    if isinstance(v, datetime):
        raise _CellError("expected a date, got a datetime (pass .date() explicitly)")
    if isinstance(v, date):
        return date.isoformat(v)
    raise _CellError(f"expected a date, not {v.__class__.__name__}")


def _flag(v: Any) -> str:
    if v is True or v is False or (v.__class__ is int and v in (0, 1)):
        return "1" if v else "0"
    raise _CellError(f"expected a bool (1/0), not {v!r}")


def _number(v: Any) -> str:
    cls = v.__class__
    if cls is int:
        return str(v)
    if cls is Decimal and v.is_finite():
        return format(v, "f")
    raise _CellError(f"expected an int or Decimal, not {cls.__name__}")


_NUMBER_TEXT = re.compile(r"[+-]?[0-9][0-9 \u00a0.,]*")
_FORMULA_START = ("=", "+", "-", "@")


def _neutralise(s: str) -> str:
    if s.startswith(_FORMULA_START) and not _NUMBER_TEXT.fullmatch(s):
        return "'" + s
    return s


# --- transliteration ----------------------------------------------------------------------------------------

_TRANSLIT = {
    "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "å": "a", "Å": "A", "ß": "ss", "ẞ": "SS", "œ": "oe", "Œ": "OE",
    "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i",
    "€": "EUR", "£": "GBP", "–": "-", "—": "-", "‘": "'", "’": "'", "‚": ",", "“": '"', "”": '"',
    "„": '"', "…": "...", "•": "*", "\u00a0": " ", "\u202f": " ", "™": "TM", "©": "(c)", "®": "(R)",
}  # fmt: skip


def _translit_char(ch: str, encoding: str) -> str:
    for candidate in (ch, _TRANSLIT.get(ch)):
        if candidate is None:
            continue
        try:
            candidate.encode(encoding)
            return candidate
        except UnicodeEncodeError:
            pass
    stripped = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    try:
        stripped.encode(encoding)
        return stripped or "?"
    except UnicodeEncodeError:
        return "?"


def transliterate(text: str, encoding: str) -> str:
    """Return ``text`` with every character ``encoding`` cannot hold replaced by a close ASCII spelling."""
    return "".join(_translit_char(ch, encoding) for ch in text)


def _translit_handler(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return transliterate(bad, exc.encoding), exc.end


codecs.register_error("dsobridge-transliterate", _translit_handler)


# --- the writer --------------------------------------------------------------------------------


_M64 = 0xFFFF_FFFF_FFFF_FFFF
_SIGN = 1 << 63


class _KeyTable:
    """The 64-bit key hashes seen so far, exactly, in an open-addressing table: 8 bytes a slot in one
    ``array('q')``, linear probing, at most 2/3 full, doubled when that is reached. Keys are kept as signed
    64-bit values, which is what ``hash()`` returns: the compiled fast path stores it without masking.

    Why not a ``set`` of ints: every int is a 32-byte object plus a 16-byte set entry (about 68 bytes per
    row measured); this costs 12 to 24 bytes per row (36 for a moment while doubling). 0 marks an empty slot,
    so the hash 0 is stored as 1 (one more 64-bit value that may collide: harmless). The compiled fast path
    inlines ``add_new``: keep both in step.
    """

    __slots__ = ("free", "mask", "on_grow", "table")

    def __init__(self, expected: int = 0) -> None:
        slots = 1 << 12
        while slots * 2 // 3 <= expected:
            slots *= 2
        self.table = array("q", [0]) * slots
        self.mask = slots - 1
        self.free = slots * 2 // 3
        self.on_grow: Callable[[], None] | None = None  # told when ``table`` and ``mask`` are replaced

    def add_new(self, key: int) -> bool:
        """Add ``key``; False if it was already there."""
        key = ((key & _M64) ^ _SIGN) - _SIGN or 1
        table, mask = self.table, self.mask
        i = key & mask
        k = table[i]
        while k:
            if k == key:
                return False
            i = (i + 1) & mask
            k = table[i]
        table[i] = key
        self.free -= 1
        if not self.free:
            self.grow()
        return True

    def __contains__(self, key: int) -> bool:
        key = ((key & _M64) ^ _SIGN) - _SIGN or 1
        table, mask = self.table, self.mask
        i = key & mask
        k = table[i]
        while k:
            if k == key:
                return True
            i = (i + 1) & mask
            k = table[i]
        return False

    def add(self, key: int) -> None:
        self.add_new(key)

    def reserve(self, keys: int) -> None:
        """Count ``keys`` as added (at most that many will be), growing first if they might not fit."""
        while self.free <= keys:
            self.grow()
        self.free -= keys

    def grow(self) -> None:
        old = self.table
        used = len(old) * 2 // 3 - self.free
        slots = len(old) * 2
        table = self.table = array("q", [0]) * slots
        mask = self.mask = slots - 1
        self.free = slots * 2 // 3 - used
        for key in filter(None, old):
            i = key & mask
            while table[i]:
                i = (i + 1) & mask
            table[i] = key
        if self.on_grow is not None:
            self.on_grow()


def check_header(kind: str, columns: Sequence[str]) -> tuple[str, ...]:
    """Refuse an unknown or duplicate column, or a required column left out; return the header."""
    known = COLUMNS[kind]
    seen: set[str] = set()
    for column in columns:
        if column not in known:
            raise HeaderError(column, f"unknown column for a {kind} file")
        if column in seen:
            raise HeaderError(column, "duplicate column")
        seen.add(column)
    for column in known:
        if column in REQUIRED[kind] and column not in seen:
            raise HeaderError(column, "required column missing from the header")
    if kind == "users" and "user_email" not in seen and not {"user_firstname", "user_lastname"} <= seen:
        raise HeaderError("user_email", "required column missing (user_email, or both name columns)")
    return tuple(columns)


def _text_key(value: Any) -> str:
    return "" if value is None else str(value).strip().lower()


def _issue_year(issue: Any) -> Any:
    """The year in an item's key, the same for ``date(2025, 3, 13)`` and ``"13/03/2025"`` (the server parses
    the date first); text that is no date the server reads is keyed as it is."""
    if isinstance(issue, date):
        return issue.year
    from dsobridge.mydso.check import parse_date  # check imports this module

    try:
        return parse_date(str(issue)).year
    except ValueError:
        return str(issue)


def _key_function(kind: str, index: dict[str, int]) -> Callable[[list[Any]], tuple[int, str, str]] | None:
    """The per-file key the server refuses to see twice (spec §3 [ours]), as a 64-bit hash.

    Only the hash is kept (in a ``_KeyTable``), not the key's strings.
    """
    get = index.get
    if kind == "items":
        i_client, i_type, i_number = index["client_code"], index["item_type"], index["item_number"]
        i_issue, i_unique = index["item_date_issue"], get("item_unique_key", -1)

        def item_key(vals: list[Any]) -> tuple[int, str, str]:
            unique = vals[i_unique] if i_unique >= 0 else None
            if unique:
                return hash(("U", unique)), "item_unique_key", "item_unique_key"
            year = _issue_year(vals[i_issue])
            t = vals[i_type]
            t = t.upper() if t.__class__ is str else t
            key = hash((vals[i_client], t, vals[i_number], year))
            return key, "item_number", "client, type, number, year of issue"

        return item_key
    if kind == "clients":
        i_code = index["client_code"]
        return lambda vals: (hash(vals[i_code]), "client_code", "client_code")
    if kind == "contacts":
        i_code, i_email = index["client_code"], get("contact_email", -1)
        i_first, i_last = get("contact_firstname", -1), index["contact_lastname"]

        def contact_key(vals: list[Any]) -> tuple[int, str, str]:
            email = _text_key(vals[i_email]) if i_email >= 0 else ""
            if email:
                return hash((vals[i_code], "@", email)), "contact_email", "client, e-mail"
            first = _text_key(vals[i_first]) if i_first >= 0 else ""
            name = (first, _text_key(vals[i_last]))
            return hash((vals[i_code], name)), "contact_lastname", "client, first and last name"

        return contact_key
    if kind == "users":
        i_email, i_code = get("user_email", -1), get("client_code", -1)
        i_first, i_last = get("user_firstname", -1), get("user_lastname", -1)

        def user_key(vals: list[Any]) -> tuple[int, str, str]:
            who = _text_key(vals[i_email]) if i_email >= 0 else ""
            if not who:
                first = str(vals[i_first] or "").strip() if i_first >= 0 else ""
                last = str(vals[i_last] or "").strip() if i_last >= 0 else ""
                who = f"{first} {last}".strip().lower()
            code = vals[i_code] if i_code >= 0 else None
            column = "client_code" if code else "user_email"
            return hash((who, code)), column, "user, client_code"

        return user_key
    return None


def _identity_function(kind: str, index: dict[str, int]) -> Callable[[list[Any], int], None] | None:
    """users: a row needs an e-mail or a name to say who the user is (spec §3 [ours])."""
    if kind != "users":
        return None
    spots = [index[c] for c in ("user_email", "user_firstname", "user_lastname") if c in index]

    def identity(vals: list[Any], n: int) -> None:
        if not any(vals[i] is not None and str(vals[i]).strip() for i in spots):
            raise RowError(n, "user_email", "missing required value (user_email, or the user's name)")

    return identity


def row_formatter(kind: str, columns: Sequence[str], options: CsvOptions) -> Callable[[Any, int], list[Any]]:
    """Return ``format_row(row, n) -> list of cells`` applying every check of the writer to data row ``n``.

    ``columns`` must have passed ``check_header``. Stateful: it remembers item keys to refuse duplicates.
    """
    return _row_formatter(kind, columns, options, lines=False)


def _cell_text(value: Any) -> str:
    """A cell as ``csv.writer`` writes it: ``None`` is empty, a ``str`` (or subclass) its own text."""
    if isinstance(value, str):
        return value
    return "" if value is None else str(value)


def _join_cells(cells: list[Any]) -> str:
    return '";"'.join(map(_cell_text, cells))


def _row_formatter(
    kind: str, columns: Sequence[str], options: CsvOptions, *, lines: bool, expected: int = 0
) -> Callable[[Any, int], Any]:
    model = MODELS[kind]
    index = {c: i for i, c in enumerate(columns)}
    colset = frozenset(columns)
    types = column_kinds(kind)
    amount = _amount_point if options.decimal_style == "point" else _amount_space_comma
    fmt = {"date": _date, "amount": amount, "flag": _flag, "number": _number}
    # (index, column, formatter, a class csv.writer already writes right via str(): date -> ISO 8601)
    convs = [(i, c, fmt[types[c]], date if types[c] == "date" else str) for i, c in enumerate(columns)
             if types[c] != "text"]  # fmt: skip
    texts = [i for i, c in enumerate(columns) if types[c] == "text"]
    required = [i for i, c in enumerate(columns) if c in REQUIRED[kind]]
    if len(required) > 1:
        get_required = itemgetter(*required)
    else:
        get_required = lambda vals: tuple(vals[i] for i in required)  # noqa: E731
    get_values = attrgetter(*columns) if len(columns) > 1 else (lambda r: (getattr(r, columns[0]),))
    unset_columns = [c for c in COLUMNS[kind] if c not in colset]
    # one C-level getattr of every column left out of the header; all must be None
    get_unset = attrgetter(*unset_columns) if unset_columns else None
    unset_nones = (None,) * len(unset_columns) if len(unset_columns) > 1 else None

    neutralise = options.neutralise_formulas

    is_items = kind == "items"
    check_signs = options.check_signs and is_items and "item_type" in index
    i_type = index.get("item_type", -1)
    i_amounts = [
        index[c]
        for c in (
            "item_amount_initial_inc_tax",
            "item_amount_initial",
            "item_amount_remaining_inc_tax",
            "item_amount_remaining",
        )
        if c in index
    ]
    key_of = _key_function(kind, index) if options.check_duplicates else None
    identity = _identity_function(kind, index)
    item_keys = is_items and key_of is not None
    if item_keys:  # the items key inlined: this runs once per row of files with a million rows
        i_client, i_number, i_issue = index["client_code"], index["item_number"], index["item_date_issue"]
        i_unique = index.get("item_unique_key", -1)
    other_checks = (key_of is not None and not is_items) or identity is not None
    seen = _KeyTable(expected if options.check_duplicates else 0)

    def from_mapping(row: Mapping[str, Any], n: int) -> list[Any]:
        extra = row.keys() - colset
        if extra:
            column = sorted(extra)[0]
            reason = "unknown column" if column not in COLUMNS[kind] else "column is not in the header"
            raise RowError(n, column, reason)
        return [row.get(c) for c in columns]

    def check_other(vals: list[Any], n: int) -> None:
        if identity is not None:
            identity(vals, n)
        if key_of is not None:
            key, column, what = key_of(vals)
            if key in seen:
                raise RowError(n, column, f"duplicate key ({what}) within the file")
            seen.add(key)

    def sign_error(n: int, column: str, v: Any, t: str) -> RowError:
        if t in _POSITIVE_TYPES:
            return RowError(n, column, f"negative amount {v} on a {t} (invoice)")
        return RowError(n, column, f"positive amount {v} on a {t} (must be negative)")

    def unset_error(row: Any, n: int) -> RowError:
        column = next(c for c in unset_columns if getattr(row, c) is not None)
        return RowError(n, column, "value set in a column that is not in the header")

    def format_row(row: Any, n: int) -> list[Any]:
        if row.__class__ is model:
            vals = list(get_values(row))
            if get_unset is not None and get_unset(row) != unset_nones:
                raise unset_error(row, n)
        elif isinstance(row, Mapping):
            vals = from_mapping(row, n)
        else:
            wrong = type(row).__name__
            raise RowError(n, None, f"a {kind} file takes {model.__name__} rows, not {wrong}")
        if item_keys:
            unique = vals[i_unique] if i_unique >= 0 else None
            if unique:
                key = hash(("U", unique))
            else:
                year = _issue_year(vals[i_issue])
                t = vals[i_type]
                key = hash((vals[i_client], t.upper() if t.__class__ is str else t, vals[i_number], year))
            if key in seen:
                column, what = (
                    ("item_unique_key", "item_unique_key")
                    if unique
                    else ("item_number", "client, type, number, year of issue")
                )
                raise RowError(n, column, f"duplicate key ({what}) within the file")
            seen.add(key)
        elif other_checks:
            check_other(vals, n)
        if check_signs:
            t = vals[i_type]
            if t in _SIGNED_TYPES:
                positive = t in _POSITIVE_TYPES
                for i in i_amounts:
                    v = vals[i]
                    if v.__class__ is Decimal or v.__class__ is int:
                        try:
                            wrong = v < 0 if positive else v > 0
                        except InvalidOperation:  # NaN: refused by the formatter below
                            continue
                        if wrong:
                            raise sign_error(n, columns[i], v, t)
        for i, c, conv, keep in convs:
            v = vals[i]
            cls = v.__class__
            if cls is not str and cls is not keep and v is not None:
                try:
                    vals[i] = conv(v)
                except _CellError as exc:
                    raise RowError(n, c, str(exc)) from None
                except (TypeError, ValueError, AttributeError) as exc:
                    raise RowError(n, c, f"cannot write {v!r}: {exc}") from None
        # after formatting, so that no Decimal is compared with None or "" (slow: an ABC check each time)
        req = get_required(vals)
        if None in req or "" in req or any(v.__class__ is str and v.isspace() for v in req):
            for i in required:  # blanks too: the server strips a value before it checks it is there
                v = vals[i]
                if v is None or v == "" or (v.__class__ is str and v.isspace()):
                    raise RowError(n, columns[i], "missing required value")
        if neutralise:
            for i in texts:
                v = vals[i]
                if v and v.__class__ is str:
                    vals[i] = _neutralise(v)
        return vals

    if not neutralise and len(columns) > 1:
        slow: Callable[[Any, int], Any] = format_row
        if lines:
            slow = lambda row, n: _join_cells(format_row(row, n))  # noqa: E731
        return _fast_path(kind, columns, options, slow, seen, check_signs, key_of, identity, lines)
    if lines:
        return lambda row, n: _join_cells(format_row(row, n))
    return format_row


def _fast_path(
    kind: str,
    columns: Sequence[str],
    options: CsvOptions,
    slow: Callable[[Any, int], list[Any]],
    seen: _KeyTable,
    check_signs: bool,
    key_of: Callable[[Any], tuple[int, str, str]] | None,
    identity: Callable[[Any, int], None] | None,
    lines: bool = False,
) -> Callable[[Any, int], Any]:
    """Compile ``format_row`` for one header of one file kind: straight-line code for the common row, falling
    back to the generic ``slow`` formatter (which raises the precise ``RowError``) on anything unusual.

    Why: an items file may hold a million rows, and the sync renders tens of thousands of clients and contacts
    in each run; loops over column lists cost more than the writing itself. The fallback keeps one definition
    of every rule; this path only accepts rows ``slow`` would accept unchanged, and adds the row's key to
    ``seen`` only when it accepts the row. The items key is inlined; the other kinds call the generic
    ``key_of`` (and, for users, ``identity``) on the row's raw values, so their rules have one definition.

    ``lines=True`` compiles the writer's variant: it returns the row's cells as text joined by ``";"`` (quotes
    not yet doubled, see ``_Lines``) and ``slow`` must return the same text for the rows it is handed.
    """
    is_items = kind == "items"
    types = column_kinds(kind)
    required_columns = REQUIRED[kind]
    index = {c: i for i, c in enumerate(columns)}
    names = [f"v{i}" for i in range(len(columns))]
    point = options.decimal_style == "point"
    out = list(names)
    unpack = f"({', '.join(names)},)"
    # one C-level getattr of every column; those left out of the header must all be None
    unset = [c for c in COLUMNS[kind] if c not in index]
    unset_names = [f"u{i}" for i in range(len(unset))]
    body = [
        "def format_row(row, n):",
        "    cls = row.__class__",
        "    if cls is Model:",
        f"        ({', '.join(names + unset_names)},) = get_all(row)",
    ]
    if unset:
        body += [
            f"        if {' or '.join(f'{u} is not None' for u in unset_names)}:",
            "            return slow(row, n)",
        ]
    body += [
        "    elif cls is dict:",  # mapping rows, as the sync engine sends them
        "        if not row.keys() <= colset:",
        "            return slow(row, n)",
        "        try:",
        f"            {unpack} = get_items(row)",
        "        except KeyError:",
        f"            {unpack} = [row.get(c) for c in columns]",
        "    else:",
        "        return slow(row, n)",
    ]
    # required text empty, blank, None, or without isspace() (not a str): the generic formatter decides
    blank = [names[i] for i, c in enumerate(columns) if types[c] == "text" and c in required_columns]
    if blank:
        empty = " or ".join(f"not {v}" for v in blank)
        spaces = " or ".join(f"{v}.isspace()" for v in blank)
        body += [
            "    try:",
            f"        if {empty} or {spaces}:",
            "            return slow(row, n)",
            "    except AttributeError:",
            "        return slow(row, n)",
        ]
    for i, column in enumerate(columns):
        v, kind_of_cell, required = names[i], types[column], column in required_columns
        if kind_of_cell == "text":
            if required:  # checked together above
                pass
            elif lines:
                out[i] = f"('' if {v} is None else {v})"
        elif kind_of_cell == "date":
            test = f"{v}.__class__ is not date" + ("" if required else f" and {v} is not None")
            body += [f"    if {test}:", "        return slow(row, n)"]
            if lines:  # a file holds a few hundred distinct dates: a dict lookup beats isoformat() 10 times
                out[i] = f"d{i}"
                body += [
                    f"    d{i} = date_text({v})" + ("" if required else f" if {v} is not None else ''"),
                    f"    if d{i} is None:",
                    f"        d{i} = iso_date({v})",
                ]
        elif kind_of_cell == "amount":
            out[i] = f"s{i}"
            body += [f"    if {v}.__class__ is Decimal:"]
            if point:
                body += [
                    f"        s{i} = str({v})",
                    f"        if s{i}[-3:-2] != '.' or s{i} == '-0.00':",
                    "            return slow(row, n)",
                ]
            else:
                body += [
                    f"        s{i} = amount({v})",
                    f"        if s{i} is None:",
                    "            return slow(row, n)",
                ]
            if not required:
                body += [f"    elif {v} is None:", f"        s{i} = None"]
                if lines:
                    out[i] = f"('' if s{i} is None else s{i})"
            if not is_items:  # the generic formatter writes a str amount as it is (the server parses it)
                body += [f"    elif {v}.__class__ is str:", f"        s{i} = {v}"]
            body += ["    else:", "        return slow(row, n)"]
        else:  # flag, number (never required): None and str kept as they are, like the generic formatter
            out[i] = f"s{i}"
            if kind_of_cell == "flag":
                body += [
                    f"    if {v} is True:",
                    f"        s{i} = '1'",
                    f"    elif {v} is False:",
                    f"        s{i} = '0'",
                ]
            else:
                body += [f"    if {v}.__class__ is int:", f"        s{i} = str({v})"]
            body += [
                f"    elif {v} is None or {v}.__class__ is str:",
                f"        s{i} = {v}",
                "    else:",
                "        return slow(row, n)",
            ]
            if lines:
                out[i] = f"('' if s{i} is None else s{i})"
    # signs read from the formatted text (cheaper than comparing Decimals): "-…" is negative, "0.00" zero
    amounts = [f"s{index[c]}" for c in columns if types[c] == "amount"]
    if is_items and check_signs and amounts:
        t = names[index["item_type"]]
        negative = " or ".join(f"({a} is not None and {a}[0] == '-')" for a in amounts)
        positive = " or ".join(f"({a} is not None and {a}[0] != '-' and {a} not in ZEROS)" for a in amounts)
        body += [
            f"    if {t} == 'FAC':",
            f"        if {negative}:",
            "            return slow(row, n)",
            f"    elif {t} in NEGATIVE:",
            f"        if {positive}:",
            "            return slow(row, n)",
        ]
    if lines:  # before the key is remembered: a non-str text cell (TypeError) goes to the generic formatter
        body += [
            "    try:",
            f"        line = '\";\"'.join(({', '.join(out)},))",
            "    except TypeError:",
            "        return slow(row, n)",
        ]
    if not is_items and identity is not None:
        body += [
            "    try:",
            f"        identity({unpack}, n)",
            "    except Exception:",  # RowError, or whatever str() of an odd value raised: slow raises it too
            "        return slow(row, n)",
        ]
    keys = key_of is not None
    if keys and is_items:
        client, typ, number = (names[index[c]] for c in ("client_code", "item_type", "item_number"))
        issue = names[index["item_date_issue"]]
        unique = names[index["item_unique_key"]] if "item_unique_key" in index else None
        natural = f"hash(({client}, UPPER.get({typ}) or {typ}.upper(), {number}, {issue}.year))"
        key = f"hash(('U', {unique})) if {unique} else {natural}" if unique else natural
        body += [
            f"    if {typ}.__class__ is not str:",
            "        return slow(row, n)",
            f"    key = ({key}) or 1",  # hash() is already a signed 64-bit value: no masking
        ]
    elif keys and kind == "clients":
        body += [
            "    try:",
            f"        key = hash({names[index['client_code']]}) or 1",
            "    except TypeError:",
            "        return slow(row, n)",
        ]
    elif keys:
        body += [
            "    try:",
            f"        key = key_of({unpack})[0] or 1",
            "    except Exception:",
            "        return slow(row, n)",
        ]
    if keys:  # _KeyTable.add_new inlined: a million rows pass here
        body += [
            "    i = key & mask",
            "    k = table[i]",
            "    while k:",
            "        if k == key:",
            "            return slow(row, n)",
            "        i = (i + 1) & mask",
            "        k = table[i]",
            "    table[i] = key",
        ]
        if not lines:  # the writer reserves room for a whole chunk at a time instead (iter_csv)
            body += ["    seen.free -= 1", "    if not seen.free:", "        seen.grow()"]
    body.append("    return line" if lines else f"    return [{', '.join(out)}]")
    dates: dict[date, str] = {}

    def iso_date(d: date) -> str:
        text = dates[d] = d.isoformat()
        if len(dates) > 4096:  # bounded: memory must not grow with the file
            dates.clear()
        return text

    namespace: dict[str, Any] = {
        "Model": MODELS[kind],
        "colset": frozenset(columns),
        "columns": tuple(columns),
        "get_items": itemgetter(*columns),
        "slow": slow,
        "get_all": attrgetter(*columns, *unset),
        "date": date,
        "Decimal": Decimal,
        "amount": _amount_space_comma_or_none,
        "NEGATIVE": _NEGATIVE_TYPES,
        "ZEROS": frozenset({"0.00", "0,00"}),
        "seen": seen,
        "key_of": key_of,
        "identity": identity,
        "UPPER": {t: t for t in ("FAC", "AVO", "RGL", "ODI", "TRT", "DPA")},  # str.upper() costs more
        "date_text": dates.get,
        "iso_date": iso_date,
    }

    def sync() -> None:
        """The table and its mask are globals of the compiled code (no attribute lookup per row): refreshed
        whenever the table is replaced by a bigger one, whoever grew it."""
        namespace["table"] = seen.table
        namespace["mask"] = seen.mask

    sync()
    if key_of is not None:
        seen.on_grow = sync
    exec(compile("\n".join(body), f"<dsobridge.mydso {kind} row>", "exec"), namespace)  # noqa: S102
    format_row = namespace["format_row"]
    if lines and keys:
        format_row.seen = seen  # iter_csv reserves room for each chunk's keys (none are counted here)
    return format_row


def iter_csv(kind: str | Enum, rows: Iterable[Any], options: CsvOptions | None = None) -> Iterator[bytes]:
    """Yield the encoded file, header first, in chunks of a few thousand rows.

    ``rows`` are the kind's row model (``Item`` for ``"items"``...) or mappings of column name to value. A row
    the server would reject raises ``RowError`` naming the row and column before its chunk is yielded.
    """
    kind = kind_of(kind)
    options = options or CsvOptions()
    it = iter(rows)
    first = next(it, None)
    if options.columns is not None:
        columns = check_header(kind, options.columns)
    elif isinstance(first, Mapping):
        columns = check_header(kind, list(first.keys()))
    else:
        columns = COLUMNS[kind]
    # a list or tuple is already in memory: size the key table once (a generator's table grows by doubling)
    expected = len(rows) if isinstance(rows, (list, tuple)) else 0
    line_of = _row_formatter(kind, columns, options, lines=True, expected=expected)
    seen: _KeyTable | None = getattr(line_of, "seen", None)
    encoding = options.encoding
    errors = "dsobridge-transliterate" if options.transliterate else "strict"
    header = '"' + '";"'.join(c.replace('"', '""') for c in columns) + '"\r\n'
    # one incremental encoder for the whole file: a codec that writes a BOM (UTF-16, UTF-32, utf-8-sig)
    # writes it once, not at the start of every chunk
    encoder = codecs.getincrementalencoder(encoding)(errors)
    try:
        yield encoder.encode(header)
    except UnicodeEncodeError as exc:  # a codec that cannot even hold the ASCII column names
        raise HeaderError(None, f"encoding {encoding} cannot write the header: {exc.reason}") from None

    lines = _Lines(kind, columns, options, encoder)
    clean = 2 * len(columns)  # quotes in a row none of whose cells holds a quote
    source = it if first is None else chain((first,), it)
    n = 1
    while batch := list(islice(source, _CHUNK_ROWS)):
        if seen is not None:
            seen.reserve(len(batch))
        texts = [line_of(row, i) for i, row in enumerate(batch, n)]
        texts[0] = '"' + texts[0]  # the chunk's first and last quotes: no copy of the whole chunk
        texts[-1] += '"\r\n'
        text = '"\r\n"'.join(texts)
        if text.count('"') != clean * len(batch):
            text = lines.requote(batch, texts, n)
        del texts
        yield lines.encode(text, batch, n)
        n += len(batch)
    if tail := encoder.encode("", True):  # a stateful codec's closing sequence (e.g. ISO-2022)
        yield tail


class _Lines:
    """The writer's rare cases: cells holding ``"`` and characters the encoding cannot hold.

    Rows are written as their cells joined by ``";"`` with quotes not doubled, and a whole chunk's quotes are
    counted once (C speed): only when a chunk holds more than the delimiting quotes are its rows formatted
    again, by a formatter without the (stateful) duplicate check, this time with quotes doubled.
    """

    def __init__(
        self, kind: str, columns: Sequence[str], options: CsvOptions, encoder: codecs.IncrementalEncoder
    ):
        self.columns = columns
        self.encoding = options.encoding
        self.encoder = encoder
        self.format = row_formatter(kind, columns, replace(options, check_duplicates=False))
        self.clean = 2 * (len(columns) - 1)

    def cells(self, row: Any, n: int) -> list[str]:
        return [_cell_text(v) for v in self.format(row, n)]

    def requote(self, batch: list[Any], texts: list[str], first: int) -> str:
        texts[0] = texts[0][1:]
        texts[-1] = texts[-1][:-3]
        for i, text in enumerate(texts):
            if text.count('"') != self.clean:
                texts[i] = '";"'.join(c.replace('"', '""') for c in self.cells(batch[i], first + i))
        return '"' + '"\r\n"'.join(texts) + '"\r\n'

    def encode(self, text: str, batch: list[Any], first: int) -> bytes:
        try:
            return self.encoder.encode(text)
        except UnicodeEncodeError:
            pass
        for i, row in enumerate(batch):
            for column, value in zip(self.columns, self.cells(row, first + i), strict=True):
                try:
                    value.encode(self.encoding)
                except UnicodeEncodeError as exc:
                    ch = value[exc.start]
                    raise RowError(
                        first + i,
                        column,
                        f"character {ch!r} (U+{ord(ch):04X}) cannot be encoded in {self.encoding}; "
                        "pass CsvOptions(transliterate=True) to replace it",
                    ) from None
        raise AssertionError("unreachable: a chunk failed to encode but none of its cells does")


def write_csv(
    kind: str | Enum,
    rows: Iterable[Any],
    dest: str | os.PathLike[str] | BinaryIO,
    options: CsvOptions | None = None,
) -> int:
    """Write a whole file to a path or a binary stream; return the number of data rows written.

    A path is written under a temporary name and renamed, so a reader never sees half a file and a refused
    row leaves no file behind.
    """
    counted = _Counter(rows)
    if isinstance(dest, (str, os.PathLike)):
        path = Path(dest)
        tmp = path.with_name(f".{path.name}.part")
        try:
            with open(tmp, "wb") as fh:
                for chunk in iter_csv(kind, counted, options):
                    fh.write(chunk)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    else:
        for chunk in iter_csv(kind, counted, options):
            dest.write(chunk)
    return counted.count


class _Counter:
    """Wrap an iterable and count what was taken from it."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for row in self._rows:
            self.count += 1
            yield row


def file_name(
    kind: str | Enum,
    when: date | datetime,
    *,
    stock: bool | None = None,
    encoding: str | None = None,
) -> str:
    """Name a file for the FTP drop: ``items_20261120.csv``, ``items_20261120_223015.stock.iso-8859-1.csv``.

    A ``datetime`` adds ``_HHMMSS``. ``stock=True`` (items only) adds ``.stock``; ``False``/``None`` add
    nothing (DELTA is the server default). An encoding other than UTF-8 adds ``.<encoding, lower case>``.
    """
    kind = kind_of(kind)
    stamp = when.strftime("%Y%m%d_%H%M%S") if isinstance(when, datetime) else when.strftime("%Y%m%d")
    name = f"{kind}_{stamp}"
    if stock:
        if kind != "items":
            raise ValueError("stock applies to items files only")
        name += ".stock"
    if encoding is not None:
        codecs.lookup(encoding)
        if codecs.lookup(encoding).name != "utf-8":
            if not re.fullmatch(r"[A-Za-z0-9_-]+", encoding):
                raise ValueError(f"encoding {encoding!r} cannot be written into a file name")
            name += "." + encoding.lower()
    return name + ".csv"
