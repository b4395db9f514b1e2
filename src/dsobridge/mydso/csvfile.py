"""The streaming CSV writer: rows in, encoded byte chunks out, refusing what the server would reject.

Format (spec §4): header row, ``;``, every field double-quoted with quotes doubled, CRLF, ISO dates, amounts
``6580.10`` (or ``6 580,10``), in the requested encoding. The quoting itself is done by the stdlib ``csv``
module (C code); this module only formats the typed values and validates each row before it is written.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
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
    - ``check_duplicates``: refuse an item whose key (spec §3) already appeared in the file. Costs about
      70 bytes per item; switch off for strictly flat memory when the source guarantees unique keys.
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


class _Sink:
    """A write() target for csv.writer that collects lines in a list."""

    __slots__ = ("parts", "write")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.write = self.parts.append


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


def _key_function(kind: str, index: dict[str, int]) -> Callable[[list[Any]], tuple[int, str, str]] | None:
    """The per-file key the server refuses to see twice (spec §3 [ours]), as a 64-bit hash.

    Only the hash is kept, so a 1,000,000-item file costs about 70 MB less than keeping the keys.
    """
    get = index.get
    if kind == "items":
        i_client, i_type, i_number = index["client_code"], index["item_type"], index["item_number"]
        i_issue, i_unique = index["item_date_issue"], get("item_unique_key", -1)

        def item_key(vals: list[Any]) -> tuple[int, str, str]:
            unique = vals[i_unique] if i_unique >= 0 else None
            if unique:
                return hash(("U", unique)), "item_unique_key", "item_unique_key"
            issue = vals[i_issue]
            year = issue.year if isinstance(issue, date) else str(issue)[:4]
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
        if not any(vals[i] not in (None, "") for i in spots):
            raise RowError(n, "user_email", "missing required value (user_email, or the user's name)")

    return identity


def row_formatter(kind: str, columns: Sequence[str], options: CsvOptions) -> Callable[[Any, int], list[Any]]:
    """Return ``format_row(row, n) -> list of cells`` applying every check of the writer to data row ``n``.

    ``columns`` must have passed ``check_header``. Stateful: it remembers item keys to refuse duplicates.
    """
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
    seen: set[int] = set()

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
                issue = vals[i_issue]
                year = issue.year if issue.__class__ is date else str(issue)[:4]
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
        if None in req or "" in req:
            for i in required:
                if vals[i] is None or vals[i] == "":
                    raise RowError(n, columns[i], "missing required value")
        if neutralise:
            for i in texts:
                v = vals[i]
                if v and v.__class__ is str:
                    vals[i] = _neutralise(v)
        return vals

    if is_items and not neutralise:
        return _items_fast_path(
            columns, options, format_row, seen, get_values, get_unset, unset_nones, check_signs, item_keys
        )
    return format_row


def _items_fast_path(
    columns: Sequence[str],
    options: CsvOptions,
    slow: Callable[[Any, int], list[Any]],
    seen: set[int],
    get_values: Callable[[Any], Any],
    get_unset: Callable[[Any], Any] | None,
    unset_nones: Any,
    check_signs: bool,
    item_keys: bool,
) -> Callable[[Any, int], list[Any]]:
    """Compile ``format_row`` for one items header: straight-line code for the common row, falling back to the
    generic ``slow`` formatter (which raises the precise ``RowError``) on anything unusual.

    Why: an items file may hold a million rows; loops over column lists cost more than the writing itself.
    The fallback keeps one definition of every rule; this path only accepts rows ``slow`` would accept
    unchanged, and adds the row's key to ``seen`` only when it accepts the row.
    """
    types = column_kinds("items")
    index = {c: i for i, c in enumerate(columns)}
    names = [f"v{i}" for i in range(len(columns))]
    point = options.decimal_style == "point"
    out = list(names)
    unpack = f"({', '.join(names)},)"
    body = [
        "def format_row(row, n):",
        "    cls = row.__class__",
        "    if cls is Item:",
        f"        {unpack} = get_values(row)",
    ]
    if get_unset is not None:
        body += ["        if get_unset(row) != unset_nones:", "            return slow(row, n)"]
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
    for i, column in enumerate(columns):
        v, kind, required = names[i], types[column], column in REQUIRED["items"]
        if kind == "text":
            if required:
                body += [f"    if {v} is None or {v} == '':", "        return slow(row, n)"]
        elif kind == "date":
            test = f"{v}.__class__ is not date" + ("" if required else f" and {v} is not None")
            body += [f"    if {test}:", "        return slow(row, n)"]
        elif kind == "amount":
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
            body += ["    else:", "        return slow(row, n)"]
    # signs read from the formatted text (cheaper than comparing Decimals): "-…" is negative, "0.00" zero
    amounts = [out[index[c]] for c in columns if types[c] == "amount"]
    if check_signs and amounts:
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
    if item_keys:
        client, typ, number = (names[index[c]] for c in ("client_code", "item_type", "item_number"))
        issue = names[index["item_date_issue"]]
        unique = names[index["item_unique_key"]] if "item_unique_key" in index else None
        natural = f"hash(({client}, {typ}.upper(), {number}, {issue}.year))"
        key = f"hash(('U', {unique})) if {unique} else {natural}" if unique else natural
        body += [
            f"    if {typ}.__class__ is not str:",
            "        return slow(row, n)",
            f"    key = {key}",
            "    if key in seen:",
            "        return slow(row, n)",
            "    seen_add(key)",
        ]
    body.append(f"    return [{', '.join(out)}]")
    namespace: dict[str, Any] = {
        "Item": MODELS["items"],
        "colset": frozenset(columns),
        "columns": tuple(columns),
        "get_items": itemgetter(*columns),
        "slow": slow,
        "get_values": get_values,
        "get_unset": get_unset,
        "unset_nones": unset_nones,
        "date": date,
        "Decimal": Decimal,
        "amount": _amount_space_comma_or_none,
        "NEGATIVE": _NEGATIVE_TYPES,
        "ZEROS": frozenset({"0.00", "0,00"}),
        "seen": seen,
        "seen_add": seen.add,
    }
    exec(compile("\n".join(body), "<dsobridge.mydso items row>", "exec"), namespace)  # noqa: S102
    return namespace["format_row"]


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
    format_row = row_formatter(kind, columns, options)
    encoding = options.encoding
    errors = "dsobridge-transliterate" if options.transliterate else "strict"
    sink = _Sink()
    writer = csv.writer(sink, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(columns)
    header = "".join(sink.parts)
    sink.parts.clear()
    try:
        yield header.encode(encoding, errors)
    except UnicodeEncodeError as exc:  # a codec that cannot even hold the ASCII column names
        raise HeaderError(None, f"encoding {encoding} cannot write the header: {exc.reason}") from None

    batch: list[list[Any]] = []
    append = batch.append
    n = 0
    pending = () if first is None else (first,)
    for source in (pending, it):
        for row in source:
            n += 1
            append(format_row(row, n))
            if len(batch) >= _CHUNK_ROWS:
                yield _encode(writer, sink, batch, n - len(batch) + 1, columns, encoding, errors)
                batch.clear()
    if batch:
        yield _encode(writer, sink, batch, n - len(batch) + 1, columns, encoding, errors)


def _encode(
    writer: Any,
    sink: _Sink,
    batch: list[list[Any]],
    first_row: int,
    columns: Sequence[str],
    encoding: str,
    errors: str,
) -> bytes:
    try:
        writer.writerows(batch)
    except csv.Error as exc:
        raise RowError(first_row, None, f"cannot write the chunk starting here: {exc}") from None
    text = "".join(sink.parts)
    sink.parts.clear()
    try:
        return text.encode(encoding, errors)
    except UnicodeEncodeError:
        for offset, vals in enumerate(batch):
            for column, value in zip(columns, vals, strict=True):
                if value.__class__ is str:
                    try:
                        value.encode(encoding)
                    except UnicodeEncodeError as exc:
                        ch = value[exc.start]
                        raise RowError(
                            first_row + offset,
                            column,
                            f"character {ch!r} (U+{ord(ch):04X}) cannot be encoded in {encoding}; "
                            "pass CsvOptions(transliterate=True) to replace it",
                        ) from None
        raise


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
