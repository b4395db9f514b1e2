"""Receiving a Dynaccount webhook safely, and what it changed.

Dynaccount POSTs ``{"method", "table", "result"}`` JSON with ``X-Hash`` (seed; spec §7). A receiver reads at
most ``max_body`` bytes (413 beyond, without reading the rest — nothing is buffered before the hash is
checked), bounds the JSON nesting before parsing it (400 beyond: no RecursionError, no 500), and turns the
call into the set of debtors whose receivables may have changed (:func:`debtors_of`): a targeted delta runs
the stages for those debtors only. Changes that cannot be scoped (a debtor group, a currency, a table we do
not know) give ``None``: a full DELTA. Changes that cannot touch receivables (products, creditors, …) give an
empty set: nothing to run.

Used by ``dsobridge webhook serve`` (one company) and ``dsobridge fleet serve`` (every tenant).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any


class WebhookRefused(Exception):
    """A call the receiver answers with a 4xx: ``status`` and a stable ``code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.code, "message": str(self)}


async def read_body(request: Any, max_body: int) -> bytes:
    """The request body, refused (413 ``TOO_LARGE``) as soon as it would exceed ``max_body`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise WebhookRefused(400, "BAD_REQUEST", "Content-Length is not a number") from None
        if size > max_body:
            raise WebhookRefused(413, "TOO_LARGE", f"the body is larger than {max_body} bytes")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_body:
            raise WebhookRefused(413, "TOO_LARGE", f"the body is larger than {max_body} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def nesting_depth(body: bytes) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def parse_payload(body: bytes, max_depth: int) -> dict[str, Any]:
    """The webhook's JSON object; 400 (``BAD_JSON``, ``TOO_DEEP``, ``NOT_AN_OBJECT``) for anything else."""
    if nesting_depth(body) > max_depth:
        raise WebhookRefused(400, "TOO_DEEP", f"the JSON is nested deeper than {max_depth} levels")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookRefused(400, "BAD_JSON", "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRefused(400, "NOT_AN_OBJECT", "the body is not a JSON object")
    return payload


# tables whose rows carry the debtor NUMBER in module_id_ (the naming rule: a trailing _ is the number)
_DEBTOR_ROWS = frozenset(
    {
        "debtor",
        "debtor_invoice",
        "debtor_creditnote",
        "debtor_accounting_module",
        "debtor_invoice_match",
        "debtor_reminder",
        "contact",
    }
)
# tables and actions whose changes cannot touch a debtor's receivables, contacts or client data
_UNRELATED_PREFIXES = ("creditor", "product", "stock_", "data_voucher", "bank", "opportunity", "followup")
_UNRELATED = frozenset(
    {
        "unit",
        "location",
        "dimension",
        "year",
        "year_period",
        "vatcode",
        "account",
        "debtor_order",
        "debtor_order_product",
        "debtor_quote",
        "debtor_quote_product",
        "draft",
        "enclosure",
    }
)
# actions (``method`` = action) whose result names the documents they booked, credited or paid
_DOCUMENT_ACTIONS = frozenset({"book_debtor_invoice", "credit_debtor_invoice", "book_draft"})


def debtors_of(payload: Mapping[str, Any]) -> frozenset[str] | None:
    """The debtor numbers a webhook's change touches; ``None`` when it cannot be scoped (a full DELTA); an
    empty set when it cannot touch receivables (nothing to run)."""
    table = str(payload.get("table") or "")
    method = str(payload.get("method") or "")
    rows = list(_rows(payload.get("result")))
    if table == "accounting" and rows and not any(_is_debtor_line(r) for r in rows):
        return frozenset()  # ledger lines only (a bank or an expense account): no debtor is touched
    if table == "accounting" or (method == "action" and table in _DOCUMENT_ACTIONS):
        return _scoped(_debtor_numbers(rows, accounting=True))
    if table in _DEBTOR_ROWS:
        if method == "delete" and table == "debtor":
            return None  # its rows are gone: the number may not be in the call; a full DELTA looks
        return _scoped(_debtor_numbers(rows, accounting=False))
    if table in _UNRELATED or table.startswith(_UNRELATED_PREFIXES):
        return frozenset()
    return None  # a debtor group, payment terms, a currency, a table we do not know: everything


def _scoped(numbers: set[str]) -> frozenset[str] | None:
    return frozenset(numbers) if numbers else None


def _rows(result: Any) -> Iterator[Mapping[str, Any]]:
    """The rows in a webhook's ``result``: one object, a list of them, or objects nested one level down."""
    if isinstance(result, Mapping):
        yield result
        for value in result.values():
            if isinstance(value, list):
                yield from (r for r in value if isinstance(r, Mapping))
    elif isinstance(result, list):
        for item in result:
            yield from _rows(item)


def _is_debtor_line(row: Mapping[str, Any]) -> bool:
    """A posting line on a debtor (``type`` DEBTOR_INVOICE: the debtor's NUMBER is in ``accountoff_id_``)."""
    return str(row.get("type") or "").upper() == "DEBTOR_INVOICE"


def _debtor_numbers(rows: Iterable[Mapping[str, Any]], *, accounting: bool) -> set[str]:
    numbers = set()
    for row in rows:
        number = _text(row.get("module_id_"))
        if accounting and _is_debtor_line(row):
            number = _text(row.get("accountoff_id_")) or number
        if number:
            numbers.add(number)
    return numbers


def _text(value: Any) -> str:
    text = str(value).strip() if value is not None else ""
    return text if text not in ("", "0") else ""
