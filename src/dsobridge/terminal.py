"""What every command prints on a terminal: numbers, money, local times, tables that never cut a figure.

One definition of each rule:

- **money** ``1,234,567.89`` (``format_money``) and **counts** ``12,345`` (``format_count``): thousands
  separated by a comma, a point before the decimals, whatever the locale — see docs/sync.md for why not the
  Danish ``1.234.567,89``. Only the terminal is formatted so: plain lines (files, pipes, cron mail) and JSON
  keep the plain ``1234567.89``, and the CSV files keep the format their spec says.
- **times** in the local zone with the offset (``local_time``): ``2026-12-05 23:14:07 +01:00`` on a
  terminal, ``2026-12-05T23:14:07+01:00`` (one token) in plain lines.
- **tables** (``Grid``): a figure (money, count, days, percent) is always printed whole and right-aligned.
  When the table is wider than the terminal, in this order: text columns wrap (down to their longest word);
  the table is turned (one column per row) if that fits; optional columns are dropped, ``drop=1`` first;
  last, each row becomes a small table of its own (name, value).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = [
    "AMOUNT",
    "COLUMNS",
    "COUNT",
    "FIGURE",
    "RECORDS",
    "TEXT",
    "TURNED",
    "Column",
    "Grid",
    "Layout",
    "ReadProgress",
    "cell_text",
    "format_count",
    "format_money",
    "local_time",
    "plain_value",
]

TEXT = "text"  # wraps at spaces (a word longer than LONGEST_WORD folds: every character is shown)
AMOUNT = "amount"  # a Decimal amount: 1,234,567.89
COUNT = "count"  # an int: 12,345
FIGURE = "figure"  # any other figure, already written (47.71 d, ≥ 47.71 d, 40.6): never wrapped
KINDS = (TEXT, AMOUNT, COUNT, FIGURE)
#: A text column is never made narrower than its longest word, up to this many cells.
LONGEST_WORD = 16
#: The layouts of a Grid: side by side (possibly without optional columns), turned, one table per row.
COLUMNS, TURNED, RECORDS = "columns", "turned", "records"


def format_money(amount: Decimal) -> str:
    """``Decimal("-1234567.8")`` → ``-1,234,567.8``: thousands separated, the amount's own decimals."""
    return f"{amount:,}"


def format_count(count: int) -> str:
    return f"{count:,}"


def _offset(moment: datetime) -> str:
    seconds = int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]  # aware by construction
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def local_time(value: str | datetime | None, *, plain: bool = False) -> str:
    """An instant in the local zone (``TZ``) with its offset: ``2026-12-05 23:14:07 +01:00``, or with
    ``plain`` ``2026-12-05T23:14:07+01:00``. A value without a zone is taken as UTC (how the state store
    writes); an empty value is ``""``; a value that is not a time is returned as it is."""
    if value is None or value == "":
        return ""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone()
    if plain:
        return f"{moment:%Y-%m-%dT%H:%M:%S}{_offset(moment)}"
    return f"{moment:%Y-%m-%d %H:%M:%S} {_offset(moment)}"


@dataclass(frozen=True)
class Layout:
    """How a Grid is printed at a width: ``kind`` (COLUMNS, TURNED, RECORDS) and the columns ``shown``."""

    kind: str
    shown: tuple[str, ...]


@dataclass(frozen=True)
class Column:
    """A column of a ``Grid``: its ``name`` (the header, and the key of plain ``name=value`` lines), its
    ``kind`` (TEXT, AMOUNT, COUNT, FIGURE) and ``drop``: 0 is always shown, 1, 2, … are dropped in that
    order when the table does not fit."""

    name: str
    kind: str = TEXT
    drop: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")


def cell_text(kind: str, value: Any) -> str:
    """A value as a terminal shows it in a column of ``kind``."""
    if value is None:
        return ""
    if kind == AMOUNT and isinstance(value, Decimal):
        return format_money(value)
    if kind == COUNT and isinstance(value, int) and not isinstance(value, bool):
        return format_count(value)
    return str(value)


@dataclass(frozen=True)
class _Cell:
    text: str
    whole: bool  # a figure: never wrapped


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


@dataclass(frozen=True)
class _Col:
    header: str
    right: bool
    cells: tuple[_Cell, ...]

    @property
    def natural(self) -> int:
        return max([cell_len(self.header), *(cell_len(c.text) for c in self.cells)], default=1) or 1

    @property
    def minimum(self) -> int:
        words = [min(_longest_word(self.header), LONGEST_WORD)]
        for c in self.cells:
            words.append(cell_len(c.text) if c.whole else min(_longest_word(c.text), LONGEST_WORD))
        return max(max(words), 1)


def _table_width(widths: Sequence[int]) -> int:
    """The printed width of a table with columns of ``widths`` cells: padding 1 each side, a border between
    columns and at both edges (rich's default box)."""
    return sum(widths) + 3 * len(widths) + 1


def _fit_widths(cols: Sequence[_Col], width: int) -> list[int] | None:
    """Widths for ``cols`` within ``width`` cells, each at least its minimum; None when that is too wide.

    Natural widths when they fit; else every column starts at its minimum and the room left widens the
    columns to their natural width, the one that lacks least first: the widest text is the one that wraps.
    """
    naturals = [c.natural for c in cols]
    if _table_width(naturals) <= width:
        return naturals
    widths = [c.minimum for c in cols]
    room = width - _table_width(widths)
    if room < 0:
        return None
    for i in sorted(range(len(cols)), key=lambda i: naturals[i] - widths[i]):
        grow = min(naturals[i] - widths[i], room)
        widths[i] += grow
        room -= grow
    return widths


class Grid:
    """A table of figures for a terminal, fitted to its width at print time (a rich renderable).

    Rows hold raw values (Decimal, int, str); ``cell_text`` formats them for the terminal, ``plain_value``
    for plain lines.
    """

    def __init__(self, title: str, columns: Sequence[Column]) -> None:
        names = [c.name for c in columns]
        if len(set(names)) != len(names):
            raise ValueError(f"column names must differ: {names}")
        self.title = title
        self.columns = list(columns)
        self.rows: list[tuple[Any, ...]] = []

    def add_row(self, *values: Any) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"{len(values)} values for {len(self.columns)} columns")
        self.rows.append(values)

    def plain_lines(self) -> Iterator[str]:
        """One ``name=value`` line per row (names with ``_`` for spaces, values without spaces)."""
        for row in self.rows:
            yield " ".join(
                f"{c.name.replace(' ', '_')}={plain_value(v).replace(' ', '')}"
                for c, v in zip(self.columns, row, strict=True)
            )

    # --- fitting ------------------------------------------------------------------------------------------
    def _col(self, header: str, right: bool, kinds: Sequence[str], values: Sequence[Any]) -> _Col:
        cells = tuple(_Cell(cell_text(k, v), k != TEXT) for k, v in zip(kinds, values, strict=True))
        return _Col(header, right, cells)

    def _cols(self, shown: Sequence[int]) -> list[_Col]:
        """The columns at ``shown`` indexes, as they are."""
        out = []
        for i in shown:
            c = self.columns[i]
            out.append(
                self._col(c.name, c.kind != TEXT, [c.kind] * len(self.rows), [r[i] for r in self.rows])
            )
        return out

    def _turned(self) -> list[_Col]:
        """One column per row (headed by the row's first value), one line per other column."""
        first, rest = self.columns[0], self.columns[1:]
        labels = _Col(first.name, False, tuple(_Cell(c.name, False) for c in rest))
        kinds = [c.kind for c in rest]
        return [labels] + [
            self._col(cell_text(first.kind, row[0]), True, kinds, row[1:]) for row in self.rows
        ]

    def _dropping(self) -> Iterator[list[int]]:
        """The shown column indexes as optional columns are dropped one by one, ``drop=1`` first."""
        shown = list(range(len(self.columns)))
        for i in sorted(
            (i for i, c in enumerate(self.columns) if c.drop), key=lambda i: self.columns[i].drop
        ):
            shown.remove(i)
            yield list(shown)

    def layout(self, width: int) -> Layout:
        """How the table fits ``width`` cells, every figure whole (the rule of the module's docstring)."""
        every = tuple(range(len(self.columns)))
        if not self.rows or _fit_widths(self._cols(every), width) is not None:
            return Layout(COLUMNS, self._names(every))
        if _fit_widths(self._turned(), width) is not None:
            return Layout(TURNED, self._names(every))
        for shown in self._dropping():
            if _fit_widths(self._cols(shown), width) is not None:
                return Layout(COLUMNS, self._names(shown))
        return Layout(RECORDS, self._names(every))

    def _names(self, shown: Sequence[int]) -> tuple[str, ...]:
        return tuple(self.columns[i].name for i in shown)

    def fit(self, width: int) -> RenderableType:
        """The table laid out for ``width`` cells (``layout``)."""
        plan = self.layout(width)
        if plan.kind == RECORDS:
            return Group(*(self._record(row, width) for row in self.rows))
        if plan.kind == TURNED:
            cols = self._turned()
        else:
            cols = self._cols([i for i, c in enumerate(self.columns) if c.name in plan.shown])
        return self._table(self.title, cols, _fit_widths(cols, width) or [c.minimum for c in cols])

    def _record(self, row: tuple[Any, ...], width: int) -> Table:
        """One row as a small table of its own: the names, the values."""
        first, rest = self.columns[0], self.columns[1:]
        cols = [
            _Col("", False, tuple(_Cell(c.name, False) for c in rest)),
            self._col("", True, [c.kind for c in rest], row[1:]),
        ]
        title = f"{self.title} · {first.name} {cell_text(first.kind, row[0])}"
        return self._table(title, cols, _fit_widths(cols, width) or [c.minimum for c in cols], header=False)

    @staticmethod
    def _table(title: str, cols: Sequence[_Col], widths: Sequence[int], *, header: bool = True) -> Table:
        table = Table(title=title, title_justify="left", show_header=header, box=box.HEAVY_HEAD)
        for col, w in zip(cols, widths, strict=True):
            table.add_column(col.header, width=w, justify="right" if col.right else "left", overflow="fold")
        for i in range(len(cols[0].cells) if cols else 0):
            table.add_row(*(col.cells[i].text for col in cols))
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.fit(options.max_width)


def plain_value(value: Any) -> str:
    """A value in a plain line: as it is (``1234567.89``), None as ``""``."""
    return "" if value is None else str(value)


class ReadProgress:
    """A progress bar on stderr for a long read, shown only after ``delay`` seconds, and only when
    ``enabled`` (stdout is a terminal): a quick command prints nothing more, a pipe gets no bar.

    ``step(label, rows)`` says which of the ``steps`` reads is running and how many rows it has read.
    """

    def __init__(self, steps: int, *, enabled: bool, delay: float = 1.0, console: Console | None = None):
        self.enabled = enabled
        self.delay = delay
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[rows]} rows"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=True,
        )
        self.task = self.progress.add_task("reading", total=steps, rows="0")
        self.labels: list[str] = []
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._started = False
        self.started_at = 0.0

    def __enter__(self) -> ReadProgress:
        self.started_at = time.monotonic()
        if self.enabled:
            self._timer = threading.Timer(self.delay, self._start)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _start(self) -> None:
        with self._lock:
            if not self._started and self._timer is not None:
                self.progress.start()
                self._started = True

    def step(self, label: str, rows: int) -> None:
        if label not in self.labels:
            self.labels.append(label)
        self.progress.update(
            self.task,
            description=f"reading {label}",
            completed=len(self.labels) - 1,
            rows=format_count(rows),
        )

    @property
    def shown(self) -> bool:
        return self._started

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._started:
                self.progress.stop()
