"""Shared helpers of the My DSO Manager sandbox tests (imported by conftest and the test modules)."""

from __future__ import annotations

import ftplib
import io
import json
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2

from dsobridge.sandbox.mydso import MyDsoSandbox

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = date(2025, 6, 30)
ACME = ("acme", "acme-sandbox-pw")
OTHER = ("other", "other-sandbox-pw")

CLIENTS = (
    '"client_code";"client_business_name";"client_id";"client_field_perso1"\r\n'
    '"C0001";"My company";"FR12345678";"Retail"\r\n'
    '"C0002";"Nordisk Handel ApS";"DK12345674";""\r\n'
    '"C0003";"Café Ørsted";"";"Retail"\r\n'
).encode()

ITEM_HEADER = (
    '"item_type";"item_number";"client_code";"item_date_issue";"item_date_due";"item_amount_initial_inc_tax";'
    '"item_amount_remaining_inc_tax";"item_currency";"item_date_payment"'
)


def items_csv(*rows: tuple[str, ...], header: str = ITEM_HEADER) -> bytes:
    """Rows of (type, number, client, issue, due, amount, remaining, currency, payment), quoted, CRLF."""
    lines = [header] + [";".join(f'"{v}"' for v in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def item(number: str, amount: str = "1000.00", *, client: str = "C0001", remaining: str = "",
         payment: str = "",
         issue: str = "2025-05-01", due: str = "2025-05-31", kind: str = "FAC", currency: str = "DKK"
         ) -> tuple[str, ...]:  # fmt: skip
    return (kind, number, client, issue, due, amount, remaining, currency, payment)


class Wire:
    """Raw HTTP to the sandbox (httpx2), answering ``(status, json)``."""

    def __init__(self, client: httpx2.Client) -> None:
        self.client = client

    def post(
        self, path: str, body: Any = b"", params: dict[str, str] | None = None, auth: Any = ACME
    ) -> tuple[int, dict[str, Any]]:
        response = self.client.post(path, content=body, params=params, auth=auth)
        return response.status_code, json.loads(response.content, parse_float=Decimal)

    def get(self, path: str, auth: Any = ACME) -> tuple[int, dict[str, Any]]:
        response = self.client.get(path, auth=auth)
        return response.status_code, json.loads(response.content, parse_float=Decimal)

    def response(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        return self.client.request(method, path, **kwargs)


def rows(sb: MyDsoSandbox, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sb.store.connect()
    try:
        return [tuple(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def items_state(sb: MyDsoSandbox, account: str = "acme") -> dict[str, tuple[Any, ...]]:
    """item_key -> (amount_remaining, payment_date, cleared_by)."""
    return {
        key: (remaining, payment, cleared_by)
        for key, remaining, payment, cleared_by in rows(
            sb,
            "SELECT item_key, amount_remaining, payment_date, cleared_by FROM item WHERE account = ? "
            "ORDER BY item_key",
            account,
        )
    }


def events(sb: MyDsoSandbox, account: str = "acme") -> list[tuple[Any, ...]]:
    """(item_key, effective_date, kind, amount_remaining, payment_date) in id order."""
    return rows(
        sb,
        "SELECT item_key, effective_date, kind, amount_remaining, payment_date FROM item_event "
        "WHERE account = ? ORDER BY id",
        account,
    )


def ftp_report(ftp: ftplib.FTP, name: str, timeout: float = 10) -> dict[str, Any]:
    """The FTP drop's ``name`` (a ``….report.json``) once it appears in the listing, parsed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if name in ftp.nlst():
            buffer = io.BytesIO()
            ftp.retrbinary(f"RETR {name}", buffer.write)
            return json.loads(buffer.getvalue())
        time.sleep(0.02)
    raise AssertionError(f"no {name} after {timeout} s; listing: {ftp.nlst()}")
