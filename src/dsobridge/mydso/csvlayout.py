"""One file's header and options, and what a row becomes in it: one encoded line, or the ``RowError`` the
server's rejection would have been.

Format (spec §4): ``;`` between fields, every field double-quoted with ``"`` doubled, CRLF, ISO dates, amounts
``6580.10`` (or ``6 580,10``), the requested encoding. The writer (``csvfile.iter_csv``) writes every file as
``layout.header()`` followed by ``layout.line(row, n)`` for each row, and refuses a row whose
``layout.key(row)`` it has seen before; the sync engine spools the same lines.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from operator import attrgetter, itemgetter
from typing import Any, Literal

from dsobridge.mydso.csvencoding import TRANSLITERATE, bom_length
from dsobridge.mydso.csvformat import CellError, cell_formats, neutralise_formula
from dsobridge.mydso.csvkeys import KEY_COLUMNS, KEYS, duplicate_error
from dsobridge.mydso.errors import HeaderError, RowError
from dsobridge.mydso.rows import COLUMNS, MODELS, REQUIRED, column_kinds, kind_of

__all__ = ["CsvLayout", "CsvOptions", "check_header", "csv_line"]

# item_type -> the sign its amounts must have (spec §3: credit notes and payments carry negative amounts)
_POSITIVE_TYPES = frozenset({"FAC"})
_NEGATIVE_TYPES = frozenset({"AVO", "RGL"})
_SIGNED_TYPES = _POSITIVE_TYPES | _NEGATIVE_TYPES
_ITEM_AMOUNTS = frozenset(
    {
        "item_amount_initial_inc_tax",
        "item_amount_initial",
        "item_amount_remaining_inc_tax",
        "item_amount_remaining",
    }
)
# what a formatter raises for a value it cannot write: CellError, or whatever an odd value's methods raise
_UNWRITABLE = (CellError, TypeError, ValueError, AttributeError)
# users: a row says who the user is by an e-mail or a name (spec §3 [ours])
_USER_IDENTITY = ("user_email", "user_firstname", "user_lastname")


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
    - ``check_duplicates``: refuse a row whose key (spec §3) already appeared in the file. Costs 16 to 32
      bytes per row (a 64-bit hash in an open-addressing table); switch off for strictly flat memory when
      the source guarantees unique keys.
    - ``columns``: the header, in order. ``None``: every column of the file kind in spec order (the writer
      takes the first row's keys instead when the rows are mappings).
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


def csv_line(cells: Sequence[str]) -> str:
    """The cells as one line: each double-quoted with its quotes doubled, ``;`` between, CRLF at the end."""
    text = '";"'.join(cells)
    if text.count('"') != 2 * (len(cells) - 1):  # a cell holds a quote (rare): double the quotes cell by cell
        text = '";"'.join([cell.replace('"', '""') for cell in cells])
    return f'"{text}"\r\n'


def _tuple_getter(make: Callable[..., Callable[[Any], Any]], names: Sequence[Any]) -> Callable[[Any], tuple]:
    """``attrgetter``/``itemgetter`` of ``names`` that returns a tuple even for one name."""
    if len(names) == 1:
        get_one = make(names[0])
        return lambda obj: (get_one(obj),)
    return make(*names)


class CsvLayout:
    """The header and the rules of one file: ``header()``, then ``line(row, n)`` for each data row.

    ``kind`` is ``"clients"``, ``"contacts"``, ``"users"`` or ``"items"`` (or an Enum whose value is one);
    ``options.columns`` is the header (``None``: every column of the kind, in spec order). Rows are the
    kind's row model (``Item`` for items…) or mappings of column name to value. Holds no state between rows:
    the duplicate check is the caller's, through ``key(row)``.
    """

    def __init__(self, kind: str | Enum, options: CsvOptions | None = None) -> None:
        self.kind = kind = kind_of(kind)
        self.options = options = options or CsvOptions()
        self.columns = columns = (
            COLUMNS[kind] if options.columns is None else check_header(kind, options.columns)
        )
        index = {column: i for i, column in enumerate(columns)}
        types = column_kinds(kind)
        formats = cell_formats(options.decimal_style)

        self._model = MODELS[kind]
        self._column_set = frozenset(columns)
        self._model_values = _tuple_getter(attrgetter, columns)
        self._mapping_items = _tuple_getter(itemgetter, columns)
        # columns left out of the header: a row model must hold None in every one of them
        self._unset = tuple(c for c in COLUMNS[kind] if c not in index)
        self._unset_values = _tuple_getter(attrgetter, self._unset) if self._unset else None
        self._no_values = (None,) * len(self._unset)

        self._formats = tuple(formats[types[c]] for c in columns)
        self._texts = tuple(i for i, c in enumerate(columns) if types[c] == "text")
        self._neutralise = options.neutralise_formulas
        self._required = tuple(i for i, c in enumerate(columns) if c in REQUIRED[kind])
        self._required_cells = _tuple_getter(itemgetter, self._required) if self._required else None
        identity = tuple(index[c] for c in _USER_IDENTITY if c in index) if kind == "users" else ()
        self._identity_cells = _tuple_getter(itemgetter, identity) if identity else None
        check_signs = options.check_signs and kind == "items"
        self._signed = tuple(i for i, c in enumerate(columns) if c in _ITEM_AMOUNTS) if check_signs else ()
        self._type_index = index.get("item_type")

        self._key = KEYS[kind] if options.check_duplicates else None
        self._key_columns = KEY_COLUMNS[kind]
        self._key_attrs = _tuple_getter(attrgetter, self._key_columns)

        self._encoding = options.encoding
        self._errors = TRANSLITERATE if options.transliterate else "strict"
        self._bom = bom_length(options.encoding)  # in the header only
        try:
            self._header = csv_line(columns).encode(self._encoding, self._errors)
        except UnicodeEncodeError as exc:  # a codec that cannot even hold the ASCII column names
            raise HeaderError(
                None, f"encoding {options.encoding} cannot write the header: {exc.reason}"
            ) from None

    def header(self) -> bytes:
        """The encoded header line, with the codec's BOM if it writes one (``UTF-16``, ``utf-8-sig``…)."""
        return self._header

    def line(self, row: Any, n: int) -> bytes:
        """Data row ``n`` (1-based, used in errors) as one encoded line, CRLF included; ``RowError`` if the
        server would reject it (every check but the duplicate key, which needs the rest of the file)."""
        cells = self.cells(row, n)
        try:
            return csv_line(cells).encode(self._encoding, self._errors)[self._bom :]
        except UnicodeEncodeError:
            raise self._unencodable(cells, n) from None

    def cells(self, row: Any, n: int) -> list[str]:
        """The row's cell texts, in header order, after every check of ``line`` but the encoding."""
        if row.__class__ is self._model:
            if self._unset_values is not None and self._unset_values(row) != self._no_values:
                raise self._set_outside_header(row, n)
            values = list(self._model_values(row))
        else:
            values = self._mapping_values(row, n)
        if self._signed and values[self._type_index] in _SIGNED_TYPES:
            self._check_signs(values, n)
        if self._neutralise:
            for i in self._texts:
                value = values[i]
                if value and value.__class__ is str:
                    values[i] = neutralise_formula(value)
        # each value becomes its cell's text, in place: a str is written as given (in a typed column:
        # formatted by the caller), None as an empty cell, anything else by its column's formatter
        try:
            for i, format_value in enumerate(self._formats):
                value = values[i]
                if value.__class__ is not str:
                    values[i] = "" if value is None else format_value(value)
        except _UNWRITABLE:
            raise self._unwritable(values, n) from None
        cells: list[str] = values
        # blank is missing: the server strips a value before it checks that it is there
        if self._required_cells is not None and not all(map(str.strip, self._required_cells(cells))):
            raise self._missing(cells, n)
        if self._identity_cells is not None and not any(map(str.strip, self._identity_cells(cells))):
            raise RowError(n, "user_email", "missing required value (user_email, or the user's name)")
        return cells

    def key(self, row: Any) -> tuple[Any, ...] | None:
        """The row's duplicate key (spec §3, ``csvkeys``): the server refuses the second of two rows of a file
        with one key. None when ``check_duplicates`` is off, and for a row without a key (a users row with
        neither e-mail nor name, a row that is neither the kind's model nor a mapping: ``line`` refuses it).
        """
        if self._key is None:
            return None
        if row.__class__ is self._model:
            return self._key(*self._key_attrs(row))
        if row.__class__ is dict or isinstance(row, Mapping):
            return self._key(*map(row.get, self._key_columns))
        return None  # not a row of this file: line() refuses it

    def duplicate_error(self, key: tuple[Any, ...], n: int) -> RowError:
        """The ``RowError`` for data row ``n`` whose ``key`` appeared earlier in the file."""
        return duplicate_error(self.kind, key, n)

    # --- the checks' details -----------------------------------------------------------------------------

    def _set_outside_header(self, row: Any, n: int) -> RowError:
        column = next(c for c in self._unset if getattr(row, c) is not None)
        return RowError(n, column, "value set in a column that is not in the header")

    def _mapping_values(self, row: Any, n: int) -> list[Any]:
        """A mapping row's values in header order; refuse a key outside the header, and a row that is neither
        the kind's model nor a mapping."""
        if row.__class__ is dict or isinstance(row, Mapping):
            # as many keys as the header has columns, every column among them: the keys are the header
            if len(row) == len(self.columns):
                try:
                    return list(self._mapping_items(row))
                except KeyError:
                    pass
            if not row.keys() <= self._column_set:
                column = sorted(row.keys() - self._column_set)[0]
                reason = (
                    "unknown column" if column not in COLUMNS[self.kind] else "column is not in the header"
                )
                raise RowError(n, column, reason)
            return list(map(row.get, self.columns))
        raise RowError(
            n, None, f"a {self.kind} file takes {self._model.__name__} rows, not {type(row).__name__}"
        )

    def _check_signs(self, values: list[Any], n: int) -> None:
        """A ``FAC`` amount must not be negative, an ``AVO``/``RGL`` one not positive; other types take any
        sign, and an amount given as text is the caller's (it is written verbatim)."""
        item_type = values[self._type_index]
        invoice = item_type in _POSITIVE_TYPES
        for i in self._signed:
            amount = values[i]
            if amount.__class__ is not Decimal and amount.__class__ is not int:
                continue
            try:
                wrong = amount < 0 if invoice else amount > 0
            except InvalidOperation:  # NaN: the amount's formatter refuses it
                continue
            if wrong:
                column = self.columns[i]
                if invoice:
                    raise RowError(n, column, f"negative amount {amount} on a {item_type} (invoice)")
                raise RowError(n, column, f"positive amount {amount} on a {item_type} (must be negative)")

    def _unwritable(self, values: list[Any], n: int) -> RowError:
        """The error of the first value its column's formatter refused."""
        for column, value, format_value in zip(self.columns, values, self._formats, strict=True):
            if value is None or value.__class__ is str:
                continue
            try:
                format_value(value)
            except CellError as exc:
                return RowError(n, column, str(exc))
            except _UNWRITABLE as exc:
                return RowError(n, column, f"cannot write {value!r}: {exc}")
        raise AssertionError("unreachable: a row failed to format but none of its values does")

    def _missing(self, cells: list[str], n: int) -> RowError:
        column = next(self.columns[i] for i in self._required if not cells[i].strip())
        return RowError(n, column, "missing required value")

    def _unencodable(self, cells: list[str], n: int) -> RowError:
        encoding = self.options.encoding
        for column, cell in zip(self.columns, cells, strict=True):
            try:
                cell.encode(encoding)
            except UnicodeEncodeError as exc:
                ch = cell[exc.start]
                return RowError(
                    n,
                    column,
                    f"character {ch!r} (U+{ord(ch):04X}) cannot be encoded in {encoding}; "
                    "pass CsvOptions(transliterate=True) to replace it",
                )
        raise AssertionError("unreachable: a line failed to encode but none of its cells does")
