"""The ledger read side of the My DSO Manager sandbox: JSON endpoints over the SQLite store.

Only reads (one short-lived connection per request, WAL mode, so an import in progress never blocks it). Every
figure comes from ``dsobridge.receivables``; amounts are sent as strings, per currency, never summed in SQL.
Auth: HTTP Basic against the sandbox's accounts, the same check as the import side (``Store.verify``).
See docs/sandbox-mydso-ledger.md.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import closing
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dsobridge.receivables import (
    BUCKETS,
    CREDITS_BY_DATE,
    CREDITS_COLUMN,
    Aging,
    Event,
    Item,
    aging,
    cei,
    cleared_on,
    days_late,
    dso_history,
    month_start,
    open_amount,
    round_money,
)
from dsobridge.receivables.dso import DsoFigures, SalesLedger
from dsobridge.sandbox.mydso.values import EARLIEST_DATE, LATEST_AS_OF, as_of_in_range

__all__ = [
    "ClientRow",
    "LedgerError",
    "aging_payload",
    "clients_payload",
    "dso_payload",
    "items_payload",
    "ledger_routes",
    "load_clients",
    "load_items",
    "statement_payload",
]

REALM = 'Basic realm="My DSO Manager sandbox", charset="UTF-8"'
MAX_HISTORY_MONTHS = 120


class SandboxLike(Protocol):
    """What the ledger needs from ``MyDsoSandbox``: its store (``connect``, ``verify``, ``base_currency``)
    and its clock."""

    store: Any
    today: date


class LedgerError(Exception):
    """A request the ledger refuses: ``status`` and a stable ``error_code``."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


# -- reading the store ------------------------------------------------------------------------------------


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class ClientRow:
    __slots__ = ("business_name", "client_code", "group")

    def __init__(self, client_code: str, business_name: str, group: str | None) -> None:
        self.client_code = client_code
        self.business_name = business_name
        self.group = group


def load_clients(conn: sqlite3.Connection, account: str) -> dict[str, ClientRow]:
    rows = conn.execute(
        "SELECT client_code, business_name, group_name FROM client WHERE account = ? ORDER BY client_code",
        (account,),
    )
    return {code: ClientRow(code, name, group or None) for code, name, group in rows}


_EVENTS_OF_ACCOUNT = (
    "SELECT item_key, effective_date, kind, amount_remaining, payment_date FROM item_event "
    "WHERE account = ? ORDER BY effective_date, id"
)
_EVENTS_OF_CLIENT = (
    "SELECT e.item_key, e.effective_date, e.kind, e.amount_remaining, e.payment_date FROM item_event e "
    "JOIN item i ON i.account = e.account AND i.item_key = e.item_key "
    "WHERE e.account = ? AND i.client_code = ? ORDER BY e.effective_date, e.id"
)


def load_items(
    conn: sqlite3.Connection,
    account: str,
    *,
    client_code: str | None = None,
    groups: dict[str, str | None] | None = None,
) -> list[Item]:
    """The account's items (optionally one client's) with their events, as ``receivables.Item`` s."""
    where, args = "account = ?", [account]
    if client_code is not None:
        where += " AND client_code = ?"
        args.append(client_code)
    event_sql = _EVENTS_OF_CLIENT if client_code is not None else _EVENTS_OF_ACCOUNT
    events: dict[str, list[Event]] = {}
    for key, eff, kind, remaining, paid in conn.execute(event_sql, args):
        events.setdefault(key, []).append(Event(date.fromisoformat(eff), Decimal(remaining), _d(paid), kind))
    groups = (
        groups
        if groups is not None
        else {c.client_code: c.group for c in load_clients(conn, account).values()}
    )
    out = []
    for key, code, kind, number, issue, due, currency, initial, paid in conn.execute(
        "SELECT item_key, client_code, item_type, item_number, issue_date, due_date, currency, "  # noqa: S608
        f"amount_initial, payment_date FROM item WHERE {where} ORDER BY client_code, issue_date, item_key",
        args,
    ):
        out.append(
            Item(
                key=key,
                client_code=code,
                item_type=kind,
                issue_date=date.fromisoformat(issue),
                due_date=date.fromisoformat(due),
                currency=currency,
                amount_initial=Decimal(initial),
                group=groups.get(code),
                item_number=number,
                payment_date=_d(paid),
                events=tuple(events.get(key, ())),
            )
        )
    return out


def _current_items(
    conn: sqlite3.Connection, account: str, status: str, client_code: str | None
) -> list[dict]:
    """The items as stored now (no as-of): open = no payment date, open amount = stored remaining."""
    where, args = "account = ?", [account]
    if client_code is not None:
        where += " AND client_code = ?"
        args.append(client_code)
    if status == "open":
        where += " AND payment_date IS NULL"
    elif status == "cleared":
        where += " AND payment_date IS NOT NULL"
    rows = conn.execute(
        "SELECT item_key, client_code, item_type, item_number, issue_date, due_date, currency, "  # noqa: S608
        f"amount_initial, amount_remaining, payment_date FROM item WHERE {where} "
        "ORDER BY client_code, issue_date, item_key",
        args,
    )
    names = ("item_key", "client_code", "item_type", "item_number", "issue_date", "due_date", "currency")
    return [
        {
            **dict(zip(names, row[:7], strict=True)),
            "amount_initial": row[7],
            "amount_open": row[8],
            "payment_date": row[9],
        }
        for row in rows
    ]


# -- payloads (pure functions of items, shared with web.py) -----------------------------------------------


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _currencies(items: Iterable[Item]) -> list[str]:
    return sorted({i.currency for i in items})


def item_payload(item: Item, as_of: date) -> dict[str, Any]:
    paid = cleared_on(item, as_of)
    amount = open_amount(item, as_of)  # as stored (never rounded: a file may carry more decimals)
    return {
        "item_key": item.key,
        "client_code": item.client_code,
        "item_type": item.item_type,
        "item_number": item.item_number,
        "issue_date": item.issue_date.isoformat(),
        "due_date": item.due_date.isoformat(),
        "currency": item.currency,
        "amount_initial": str(item.amount_initial),
        "amount_open": str(amount if amount != 0 else round_money(amount, item.currency)),
        "payment_date": paid.isoformat() if paid else None,
    }


def items_payload(items: list[Item], as_of: date, status: str) -> list[dict[str, Any]]:
    out = []
    for item in items:
        if as_of < item.issue_date:
            continue
        cleared = cleared_on(item, as_of) is not None
        if status == "all" or (status == "cleared") == cleared:
            out.append(item_payload(item, as_of))
    return out


def _balances(items: Iterable[Item], as_of: date) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for item in items:
        if item.item_type == "DPA" or as_of < item.issue_date or cleared_on(item, as_of) is not None:
            continue
        out[item.currency] = out.get(item.currency, Decimal(0)) + open_amount(item, as_of)
    return {cur: round_money(v, cur) for cur, v in sorted(out.items())}


def clients_payload(clients: dict[str, ClientRow], items: list[Item], as_of: date) -> list[dict[str, Any]]:
    by_client: dict[str, list[Item]] = {}
    for item in items:
        by_client.setdefault(item.client_code, []).append(item)
    out = []
    for code, client in clients.items():
        mine = by_client.get(code, [])
        open_items = [i for i in mine if i.issue_date <= as_of and cleared_on(i, as_of) is None]
        out.append(
            {
                "client_code": code,
                "business_name": client.business_name,
                "group": client.group,
                "balances": {cur: str(v) for cur, v in _balances(mine, as_of).items()},
                "open_items": len(open_items),
            }
        )
    return out


def statement_payload(client: ClientRow, items: list[Item], as_of: date) -> dict[str, Any]:
    """Open and cleared items of one client as of ``as_of``: amounts, due dates, days late, payment dates.

    ``days_late`` is ``as_of − due`` for an open item, ``payment date − due`` for a cleared one, and null for
    a credit (credit note, payment on account), which cannot be late.
    """
    rows = []
    for item in items:
        if as_of < item.issue_date:
            continue
        row = item_payload(item, as_of)
        row["status"] = "cleared" if row["payment_date"] else "open"
        row["days_late"] = (
            days_late(item, as_of) if item.amount_initial > 0 else None
        )  # credits are never late
        rows.append(row)
    rows.sort(key=lambda r: (r["status"] != "open", r["due_date"], r["item_key"]))
    return {
        "client_code": client.client_code,
        "business_name": client.business_name,
        "group": client.group,
        "as_of": as_of.isoformat(),
        "balances": {cur: str(v) for cur, v in _balances(items, as_of).items()},
        "items": rows,
    }


def _aging_dict(result: Aging) -> dict[str, Any]:
    return {
        "buckets": {k: str(v) for k, v in result.buckets.items()},
        "unallocated_credits": str(result.unallocated_credits),
        "total": str(result.total),
        "overdue": str(result.overdue),
        "overdue_pct": _s(result.overdue_pct),
    }


def aging_payload(
    items: list[Item],
    clients: dict[str, ClientRow],
    as_of: date,
    currency: str,
    *,
    group: str | None = None,
    client_code: str | None = None,
    credits: str = CREDITS_COLUMN,
) -> dict[str, Any]:
    result = aging(
        items, as_of, currency, credits=credits, group=group, client_code=client_code, with_clients=True
    )
    rows = []
    for code, row in result.by_client.items():
        total = sum(row.values(), Decimal(0))
        client = clients.get(code)
        rows.append(
            {
                "client_code": code,
                "business_name": client.business_name if client else None,
                **{k: str(row[k]) for k in (*BUCKETS, "unallocated_credits")},
                "total": str(total),
            }
        )
    return {
        "as_of": as_of.isoformat(),
        "currency": currency,
        "credits": credits,
        "group": group,
        "client_code": client_code,
        "items": result.items,
        **_aging_dict(result),
        "clients": rows,
    }


def _dso_dict(f: DsoFigures) -> dict[str, Any]:
    return {
        "receivables": str(f.receivables),
        "current_receivables": str(f.current_receivables),
        "countback_dso": str(f.countback.days),
        "lower_bound": f.countback.lower_bound,
        "standard_dso": _s(f.standard),
        "standard_days": f.standard_days,
        "standard_sales": str(f.standard_sales),
        "best_possible_dso": {
            "countback": str(f.best_countback.days),
            "standard": _s(f.best_standard),
        },
        "add": {"countback": str(f.add_countback), "standard": _s(f.add_standard)},
        "overdue_pct": _s(f.overdue_pct),
    }


def dso_payload(
    items: list[Item],
    as_of: date,
    currency: str,
    *,
    months: int = 12,
    client_code: str | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    """Countback DSO with standard DSO, best possible DSO, ADD and overdue % beside it, and a monthly history
    (one point per month end, the last one ``as_of``) with each month's turnover and CEI."""
    # One point more than shown: the month end before the first point is the first month's beginning AR.
    history = dso_history(items, as_of, currency, months=months + 1, client_code=client_code, group=group)
    scoped = [
        i
        for i in items
        if (client_code is None or i.client_code == client_code) and (group is None or i.group == group)
    ]
    sales = SalesLedger(scoped, currency)
    points = []
    for before, figures in itertools.pairwise(history):
        month_sales = sales.between(month_start(figures.as_of), figures.as_of)
        index = cei(before.receivables, month_sales, figures.receivables, figures.current_receivables)
        points.append(
            {
                "as_of": figures.as_of.isoformat(),
                "month": figures.as_of.strftime("%Y-%m"),
                "sales": str(round_money(month_sales, currency)),
                "cei": _s(index),
                **_dso_dict(figures),
            }
        )
    return {
        "as_of": as_of.isoformat(),
        "currency": currency,
        "client_code": client_code,
        "group": group,
        "months": months,
        **_dso_dict(history[-1]),
        "history": points,
    }


# -- HTTP ------------------------------------------------------------------------------------------------


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _login(sandbox: SandboxLike, request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "basic" and token:
        try:
            login, sep, password = (
                base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            login, sep, password = "", "", ""
        if sep and sandbox.store.verify(login, password):
            return login
    raise LedgerError(401, "ACCESS_DENIED", "Unknown login or wrong password.")


def _as_of(sandbox: SandboxLike, request: Request) -> date:
    text = request.query_params.get("as_of")
    if not text:
        return sandbox.today
    try:
        as_of = date.fromisoformat(text)
    except ValueError:
        as_of = None
    if as_of is None or not as_of_in_range(as_of):
        raise LedgerError(
            400, "BAD_PARAMETER", f"as_of must be a date YYYY-MM-DD from {EARLIEST_DATE} to {LATEST_AS_OF}."
        )
    return as_of


def _opt(request: Request, name: str) -> str | None:
    return request.query_params.get(name) or None


def _currency(sandbox: SandboxLike, login: str, request: Request, items: list[Item]) -> tuple[str, list[str]]:
    base = sandbox.store.base_currency(login)
    present = _currencies(items)
    currency = (_opt(request, "currency") or base).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise LedgerError(400, "BAD_PARAMETER", "currency must be an ISO 4217 code.")
    return currency, present


class _Ledger:
    def __init__(self, sandbox: SandboxLike) -> None:
        self.sandbox = sandbox

    def _run(self, request: Request, work: Callable[[sqlite3.Connection, str], Any]) -> Any:
        login = _login(self.sandbox, request)
        with closing(self.sandbox.store.connect()) as conn:
            conn.execute("BEGIN")  # one snapshot for the whole request
            try:
                return work(conn, login)
            finally:
                conn.execute("ROLLBACK")

    async def handle(self, request: Request, work: Callable[[sqlite3.Connection, str], Any]) -> Response:
        try:
            payload = await run_in_threadpool(self._run, request, work)
        except LedgerError as exc:
            headers = {"WWW-Authenticate": REALM} if exc.status == 401 else None
            return _json(
                {"success": False, "error_code": exc.error_code, "message": exc.message}, exc.status, headers
            )
        return _json(payload)

    async def clients(self, request: Request) -> Response:
        def work(conn: sqlite3.Connection, login: str) -> Any:
            as_of = _as_of(self.sandbox, request)
            clients = load_clients(conn, login)
            items = load_items(conn, login, groups={c: r.group for c, r in clients.items()})
            return {
                "account": login,
                "as_of": as_of.isoformat(),
                "base_currency": self.sandbox.store.base_currency(login),
                "currencies": _currencies(items),
                "clients": clients_payload(clients, items, as_of),
            }

        return await self.handle(request, work)

    async def statement(self, request: Request) -> Response:
        code = request.path_params["code"]

        def work(conn: sqlite3.Connection, login: str) -> Any:
            as_of = _as_of(self.sandbox, request)
            clients = load_clients(conn, login)
            if code not in clients:
                raise LedgerError(404, "NOT_FOUND", "No such client.")
            items = load_items(conn, login, client_code=code, groups={code: clients[code].group})
            return statement_payload(clients[code], items, as_of)

        return await self.handle(request, work)

    async def items(self, request: Request) -> Response:
        status = request.query_params.get("status", "open")
        client_code = _opt(request, "client_code")

        def work(conn: sqlite3.Connection, login: str) -> Any:
            if status not in ("open", "cleared", "all"):
                raise LedgerError(400, "BAD_PARAMETER", "status must be open, cleared or all.")
            if "as_of" not in request.query_params:
                rows = _current_items(conn, login, status, client_code)
                return {"as_of": None, "status": status, "count": len(rows), "items": rows}
            as_of = _as_of(self.sandbox, request)
            rows = items_payload(load_items(conn, login, client_code=client_code, groups={}), as_of, status)
            return {"as_of": as_of.isoformat(), "status": status, "count": len(rows), "items": rows}

        return await self.handle(request, work)

    async def aging(self, request: Request) -> Response:
        def work(conn: sqlite3.Connection, login: str) -> Any:
            as_of = _as_of(self.sandbox, request)
            credits = request.query_params.get("credits", CREDITS_COLUMN)
            if credits not in (CREDITS_COLUMN, CREDITS_BY_DATE):
                raise LedgerError(400, "BAD_PARAMETER", "credits must be column or by_date.")
            clients = load_clients(conn, login)
            items = load_items(conn, login, client_code=_opt(request, "client_code"),
                               groups={c: r.group for c, r in clients.items()})  # fmt: skip
            currency, present = _currency(self.sandbox, login, request, items)
            payload = aging_payload(
                items,
                clients,
                as_of,
                currency,
                group=_opt(request, "group"),
                client_code=_opt(request, "client_code"),
                credits=credits,
            )
            return {
                "base_currency": self.sandbox.store.base_currency(login),
                "currencies": present,
                **payload,
            }

        return await self.handle(request, work)

    async def dso(self, request: Request) -> Response:
        def work(conn: sqlite3.Connection, login: str) -> Any:
            as_of = _as_of(self.sandbox, request)
            try:
                months = int(request.query_params.get("months", "12"))
            except ValueError:
                months = 0
            if not 1 <= months <= MAX_HISTORY_MONTHS:
                raise LedgerError(400, "BAD_PARAMETER", f"months must be 1 to {MAX_HISTORY_MONTHS}.")
            clients = load_clients(conn, login)
            items = load_items(conn, login, client_code=_opt(request, "client_code"),
                               groups={c: r.group for c, r in clients.items()})  # fmt: skip
            currency, present = _currency(self.sandbox, login, request, items)
            payload = dso_payload(
                items,
                as_of,
                currency,
                months=months,
                client_code=_opt(request, "client_code"),
                group=_opt(request, "group"),
            )
            return {
                "base_currency": self.sandbox.store.base_currency(login),
                "currencies": present,
                **payload,
            }

        return await self.handle(request, work)


def ledger_routes(sandbox: SandboxLike) -> list[BaseRoute]:
    """The ``/ledger/...`` JSON endpoints of ``sandbox`` (anything with ``.store`` and ``.today``)."""
    ledger = _Ledger(sandbox)
    return [
        Route("/ledger/clients", ledger.clients, methods=["GET"]),
        Route("/ledger/clients/{code}/statement", ledger.statement, methods=["GET"]),
        Route("/ledger/items", ledger.items, methods=["GET"]),
        Route("/ledger/aging", ledger.aging, methods=["GET"]),
        Route("/ledger/dso", ledger.dso, methods=["GET"]),
    ]
