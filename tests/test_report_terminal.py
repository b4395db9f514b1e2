"""``dsobridge.terminal``: money and counts with separators, local times with their offset, tables that never
cut a figure at any width, and the delayed progress bar."""

from __future__ import annotations

import io
import re
import time
from datetime import date
from decimal import Decimal

import pytest
from rich.cells import cell_len
from rich.console import Console

from dsobridge.receivables import Item
from dsobridge.sync.measure_tables import aging_table, dso_table
from dsobridge.sync.report import runs_table
from dsobridge.sync.state import RunRecord
from dsobridge.terminal import (
    AMOUNT,
    COLUMNS,
    COUNT,
    RECORDS,
    TURNED,
    Column,
    Grid,
    Layout,
    ReadProgress,
    format_count,
    format_money,
    local_time,
)

#: POSIX zone rules: no tz database needed. Copenhagen (CET/CEST), Newfoundland (−03:30), India (+05:30).
COPENHAGEN = "CET-1CEST,M3.5.0,M10.5.0/3"
NEWFOUNDLAND = "NST3:30"
INDIA = "IST-5:30"
WIDTHS = (40, 60, 80, 100, 130, 200)


@pytest.fixture
def zone(monkeypatch):
    def set_zone(rule: str) -> None:
        monkeypatch.setenv("TZ", rule)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


def render(renderable, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()


def assert_fits_and_whole(text: str, width: int, figures: list[str]) -> None:
    lines = text.splitlines()
    assert all(cell_len(line.rstrip()) <= width for line in lines), text
    assert "…" not in text
    for figure in figures:
        assert any(figure in line for line in lines), (figure, width, text)


def test_money_and_counts_have_thousands_separators():
    assert format_money(Decimal("280535888.12")) == "280,535,888.12"
    assert format_money(Decimal("-1062482.00")) == "-1,062,482.00"
    assert format_money(Decimal("1234567")) == "1,234,567"  # JPY: no decimals
    assert format_money(Decimal("1234.567")) == "1,234.567"  # KWD: three
    assert format_money(Decimal("0.00")) == "0.00"
    assert format_count(7126) == "7,126" and format_count(0) == "0"


def test_local_time_has_the_zone_offset(zone):
    zone(COPENHAGEN)
    assert local_time("2026-12-05T22:14:07+00:00") == "2026-12-05 23:14:07 +01:00"
    assert local_time("2026-07-01T10:00:00+00:00") == "2026-07-01 12:00:00 +02:00"  # summer time
    assert local_time("2026-12-05T22:14:07+00:00", plain=True) == "2026-12-05T23:14:07+01:00"
    assert local_time("2026-12-05T22:14:07") == "2026-12-05 23:14:07 +01:00"  # no zone: UTC, as stored
    assert local_time("2026-12-31T23:30:00+00:00") == "2027-01-01 00:30:00 +01:00"
    zone(NEWFOUNDLAND)
    assert local_time("2026-12-05T22:14:07+00:00") == "2026-12-05 18:44:07 -03:30"
    zone(INDIA)
    assert local_time("2026-12-05T22:14:07+00:00", plain=True) == "2026-12-06T03:44:07+05:30"
    assert local_time(None) == "" and local_time("") == ""
    assert local_time("not a time") == "not a time"


BIG = {"DKK": Decimal("280535888.12"), "EUR": Decimal("3521004.5"), "USD": Decimal("987654321.99")}


def big_company() -> list[Item]:
    """Three currencies, every bucket, credits: amounts up to hundreds of millions."""
    as_of = date(2026, 11, 30)
    items = []
    for currency, amount in BIG.items():
        for n, due in enumerate(
            [date(2026, 12, 20), date(2026, 11, 10), date(2026, 10, 10), date(2026, 9, 10), date(2026, 1, 5)]
        ):
            issue = min(due, as_of)
            items.append(Item(f"{currency}{n}", "C1", "FAC", issue, due, currency, amount / (n + 1)))
        items.append(Item(f"{currency}-cn", "C1", "AVO", as_of, as_of, currency, -amount / 7))
        items.append(
            Item(f"{currency}-old", "C2", "FAC", date(2025, 1, 10), date(2025, 2, 10), currency, amount)
        )
    return items


def figures_of(grid: Grid, width: int) -> list[str]:
    """Every figure of the columns a grid shows at ``width``, as a terminal shows it."""
    shown = grid.layout(width).shown
    out = []
    for row in grid.rows:
        for column, value in zip(grid.columns, row, strict=True):
            if column.name not in shown:
                continue
            if column.kind == AMOUNT:
                out.append(format_money(value))
            elif column.kind == COUNT:
                out.append(format_count(value))
            elif column.kind != "text" and value not in (None, ""):
                out.append(str(value))
    return out


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("table", [aging_table, dso_table])
def test_report_tables_never_cut_a_figure(table, width):
    grid = table(big_company(), date(2026, 11, 30))
    assert len(grid.rows) == 3
    figures = figures_of(grid, width)
    if table is aging_table:
        assert "280,535,888.12" in figures  # DKK, not due
    assert_fits_and_whole(render(grid, width), width, figures)


def test_the_layout_follows_the_rule():
    aging_grid = aging_table(big_company(), date(2026, 11, 30))
    every = tuple(c.name for c in aging_grid.columns)
    assert aging_grid.layout(200) == Layout(COLUMNS, every)  # side by side
    assert aging_grid.layout(80) == Layout(TURNED, every)  # one column per currency
    assert aging_grid.layout(40) == Layout(RECORDS, every)  # one small table per currency
    assert re.search(
        r"currency .*Not due .*1–30 .*unallocated credits .*total .*overdue % .*items",
        render(aging_grid, 200),
    )
    assert re.search(r"currency .*DKK .*EUR .*USD", render(aging_grid, 80))
    records = render(aging_grid, 40)
    assert "currency DKK" in records and "currency USD" in records
    runs = runs_table([run(n) for n in range(1, 8)])  # seven runs do not turn: optional columns go
    assert runs.layout(80).kind == COLUMNS
    assert "ended" not in runs.layout(80).shown and "cleared" not in runs.layout(80).shown
    assert {"run", "started", "items sent", "error"} <= set(runs.layout(80).shown)


def run(n: int, error: str | None = None) -> RunRecord:
    return RunRecord(
        id=n,
        started_at="2026-12-05T22:14:07+00:00",
        ended_at="2026-12-05T22:16:53+00:00",
        mode="stock",
        status="failed" if error else "success",
        dry_run=n % 2 == 0,
        history_months=0,
        counts={
            "items": {"rows": 1234567, "cleared": 23456},
            "items (settled)": {"rows": 89012, "cleared": 5},
        },
        open_count=7654321,
        open_total=Decimal("280535888.12"),
        stock_delivered=True,
        balance_ok=True,
        mismatches=[],
        error=error,
        exit_code=1 if error else 0,
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_history_never_cuts_a_count_or_a_time(zone, width):
    zone(COPENHAGEN)
    error = "reading 'debtor_invoice' failed: TransportError (connection refused by 127.0.0.1:8081)"
    grid = runs_table([run(n, error if n == 3 else None) for n in range(1, 6)])
    text = render(grid, width)
    figures = figures_of(grid, width)
    assert "1,323,579" in figures  # items sent: never dropped
    assert_fits_and_whole(text, width, [*figures, "2026-12-05", "23:14:07"])
    words = set(re.sub(r"[│┃┏┓┗┛┡┩└┘━─╇┳┴╋┼]", " ", text).split())
    assert {"TransportError", "+01:00"} <= words  # the error wraps, whole words
    if width >= 130:
        assert "ended" in text and "23:16:53" in text


def test_an_optional_column_is_dropped_before_a_figure_is_cut(zone):
    zone(COPENHAGEN)
    grid = runs_table([run(n) for n in range(1, 8)])
    text = render(grid, 80)  # neither all columns (wrapped) nor turned fit: "ended", then "cleared" go
    assert "ended" not in text and "cleared" not in text
    assert all(name in text for name in ("started", "mode", "status", "exit", "open"))
    assert_fits_and_whole(text, 80, ["1,323,579", "7,654,321", "2026-12-05", "23:14:07"])


def test_plain_lines_keep_the_values_as_they_are():
    grid = Grid("t", [Column("currency"), Column("Not due", AMOUNT), Column("items", COUNT)])
    grid.add_row("DKK", Decimal("159523072.54"), 7126)
    assert list(grid.plain_lines()) == ["currency=DKK Not_due=159523072.54 items=7126"]
    with pytest.raises(ValueError):
        grid.add_row("DKK")
    with pytest.raises(ValueError):
        Column("x", "money")


def test_an_empty_table_still_prints_its_header():
    grid = Grid("nothing", [Column("currency"), Column("total", AMOUNT)])
    assert "currency" in render(grid, 30) and "total" in render(grid, 30)


def _terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=100, color_system=None)


def test_progress_shows_only_after_the_delay_on_a_terminal():
    console = _terminal()
    with ReadProgress(3, enabled=True, delay=0.05, console=console) as progress:
        progress.step("debtors", 0)
        time.sleep(0.3)
        progress.step("debtors", 5000)
        time.sleep(0.2)
        assert progress.shown
    assert "reading debtors" in console.file.getvalue() and "5,000 rows" in console.file.getvalue()

    quick = _terminal()
    with ReadProgress(3, enabled=True, delay=5, console=quick) as progress:
        progress.step("debtors", 12)
    assert not progress.shown and quick.file.getvalue() == ""

    piped = _terminal()
    with ReadProgress(3, enabled=False, delay=0.01, console=piped) as progress:
        progress.step("debtors", 12)
        time.sleep(0.1)
    assert not progress.shown and piped.file.getvalue() == ""
