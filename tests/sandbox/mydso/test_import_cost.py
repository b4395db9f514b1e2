"""A DELTA import costs in proportion to its rows, not to the account's size.

Counted, not timed: SQLite's virtual-machine instructions (``set_progress_handler``) of the same 10-row DELTA
into an account of 2,000 items and into one of 20,000. A statement that scans the account (the old compare and
update did) makes the second count about ten times the first.
"""

from __future__ import annotations

import io
import re

from mydso_sandbox_helpers import ACME, CLIENTS, TODAY

from dsobridge.sandbox.mydso import ImportOptions, MyDsoSandbox
from dsobridge.sandbox.mydso.items import _json_object_sql

HEADER = (
    '"item_type";"item_number";"client_code";"item_date_issue";"item_date_due";"item_amount_initial_inc_tax";'
    '"item_amount_remaining_inc_tax";"item_date_payment"\r\n'
)


def stock_file(count: int) -> bytes:
    return (HEADER + "".join(row(n, f"{n % 9000 + 1}.00") for n in range(count))).encode()


def row(n: int, amount: str, remaining: str = "", paid: str = "") -> str:
    fields = (
        "FAC",
        f"{n:07d}",
        f"C000{n % 3 + 1}",
        f"2025-05-{n % 28 + 1:02d}",
        "2025-06-30",
        amount,
        remaining,
        paid,
    )
    return ";".join(f'"{value}"' for value in fields) + "\r\n"


def delta_file() -> bytes:
    """3 new items, 4 partial payments, 3 payments in full."""
    new = [row(9_000_000 + n, "100.00") for n in range(3)]
    paid = [row(n, f"{n % 9000 + 1}.00", "1.00", "2025-06-29" if n > 4 else "") for n in range(1, 8)]
    return (HEADER + "".join(new + paid)).encode()


def delta_instructions(items: int) -> int:
    with MyDsoSandbox(accounts=dict([ACME]), today=TODAY) as sb:
        sb.import_file("acme", "clients", io.BytesIO(CLIENTS))
        assert (
            sb.import_file("acme", "items", io.BytesIO(stock_file(items)), ImportOptions(stock=True))["added"]
            == items
        )
        steps = 0

        def count() -> int:
            nonlocal steps
            steps += 1
            return 0

        sb.store.writer.set_progress_handler(count, 100)
        report = sb.import_file("acme", "items", io.BytesIO(delta_file()))
        sb.store.writer.set_progress_handler(None, 0)
        assert (report["added"], report["updated"], report["cleared"], report["rejected"]) == (3, 7, 3, 0)
        return steps * 100


def test_a_delta_costs_the_same_into_ten_times_more_items() -> None:
    small, large = delta_instructions(2_000), delta_instructions(20_000)
    assert large < 1.2 * small, f"{small:,} SQLite instructions into 2,000 items, {large:,} into 20,000"


def test_staging_sql_binds_plain_placeholders_in_header_order() -> None:
    """Numbered ``?N`` parameters bound from a sequence make CPython 3.12.0–3.12.3 warn once per parameter
    per row (millions of warnings, and memory with them): the staging SQL uses plain ``?``, in order."""
    header = [f"col{i}" for i in range(70)]  # wider than one json_object call
    sql = _json_object_sql(header)
    assert re.search(r"\?\d", sql) is None
    assert sql.count("?") == len(header)
    assert [int(n) for n in re.findall(r"'col(\d+)'", sql)] == list(range(70))  # parameters in header order
