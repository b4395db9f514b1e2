"""A small server-rendered page on the sandbox: the aging chart, the DSO history and the clients' statements.

Plain HTML and inline SVG, no JavaScript. Unauthenticated on purpose: the sandbox binds to loopback and holds
test data, and a browser should open it without a password prompt (the JSON endpoints keep Basic auth). No
secret is ever shown: the page lists account logins, never passwords. See docs/sandbox-mydso-ledger.md.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import date
from decimal import Decimal
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dsobridge.receivables import BUCKET_LABELS, BUCKETS
from dsobridge.sandbox.mydso.ledger_api import (
    SandboxLike,
    aging_payload,
    clients_payload,
    dso_payload,
    load_clients,
    load_items,
    statement_payload,
)
from dsobridge.sandbox.mydso.values import as_of_in_range

__all__ = ["aging_svg", "dso_svg", "format_amount", "web_routes"]

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2433;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}a{color:#1f5fbf}
table{border-collapse:collapse;margin-top:8px}td,th{padding:4px 10px;border-bottom:1px solid #dde}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.kpis{display:flex;gap:18px;flex-wrap:wrap}.kpi{border:1px solid #dde;border-radius:6px;padding:8px 12px}
.kpi b{display:block;font-size:20px}.muted{color:#667}form{margin:8px 0}
svg text{font:11px system-ui,sans-serif}.late{color:#b3261e}
"""
BAR_COLOURS = {
    "not_due": "#3a8d5d",
    "1_30": "#e0b43a",
    "31_60": "#e0873a",
    "61_90": "#d4573a",
    "over_90": "#a1262b",
    "unallocated_credits": "#7b8da8",
}


class NotFound(Exception):
    pass


def format_amount(value: str | Decimal | None) -> str:
    """``"1234567.50"`` → ``"1,234,567.50"``, keeping the value's own decimals (display only)."""
    if value is None:
        return "–"
    amount = Decimal(value)
    exponent = amount.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return f"{amount:,.{places}f}"


def _num(value: str | None) -> float:
    """Pixel geometry only: never used for money."""
    return float(value) if value is not None else 0.0


def aging_svg(aging: dict[str, Any], *, width: int = 640, height: int = 240) -> str:
    """Bars for the five buckets and the unallocated credits (drawn below the zero line)."""
    columns = [*BUCKETS, "unallocated_credits"]
    values = {c: aging["buckets"][c] if c in aging["buckets"] else aging[c] for c in columns}
    labels = {**BUCKET_LABELS, "unallocated_credits": "Credits"}
    top, bottom, left = 24, 48, 12
    plot = height - top - bottom
    high = max([_num(v) for v in values.values()] + [0.0])
    low = min([_num(v) for v in values.values()] + [0.0])
    span = (high - low) or 1.0
    zero_y = top + plot * high / span
    slot = (width - 2 * left) / len(columns)
    parts = [
        f'<svg id="aging-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Aging balance in {escape(aging["currency"])}">',
        f'<line x1="{left}" x2="{width - left}" y1="{zero_y:.1f}" y2="{zero_y:.1f}" stroke="#889"/>',
    ]
    for n, column in enumerate(columns):
        value = values[column]
        h = plot * abs(_num(value)) / span
        x = left + n * slot + slot * 0.15
        y = zero_y - h if _num(value) >= 0 else zero_y
        text = f"{labels[column]}: {format_amount(value)} {aging['currency']}"
        parts.append(
            f'<rect class="bar" data-bucket="{column}" data-amount="{escape(value)}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{BAR_COLOURS[column]}">'
            f"<title>{escape(text)}</title></rect>"
        )
        value_y = (y - 4) if _num(value) >= 0 else (y + h + 12)
        parts.append(
            f'<text class="bar-value" data-bucket="{column}" x="{x + slot * 0.35:.1f}" y="{value_y:.1f}" '
            f'text-anchor="middle">{escape(format_amount(value))}</text>'
        )
        parts.append(
            f'<text class="bar-label" data-bucket="{column}" x="{x + slot * 0.35:.1f}" y="{height - 6}" '
            f'text-anchor="middle">{escape(labels[column])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def dso_svg(history: list[dict[str, Any]], *, width: int = 640, height: int = 240) -> str:
    """Countback DSO per month as bars (lighter, with "≥", for a lower bound); best possible DSO as a line."""
    top, bottom, left = 24, 36, 12
    plot = height - top - bottom
    high = max([_num(p["countback_dso"]) for p in history] + [1.0])
    slot = (width - 2 * left) / max(len(history), 1)
    base = top + plot
    parts = [
        f'<svg id="dso-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="DSO history">',
        f'<line x1="{left}" x2="{width - left}" y1="{base}" y2="{base}" stroke="#889"/>',
    ]
    points = []
    for n, point in enumerate(history):
        days = point["countback_dso"]
        h = plot * _num(days) / high
        x = left + n * slot + slot * 0.15
        mark = "≥" if point["lower_bound"] else ""
        fill = "#9db7dd" if point["lower_bound"] else "#1f5fbf"
        parts.append(
            f'<rect class="dso-bar" data-month="{point["month"]}" data-dso="{days}" '
            f'data-lower-bound="{str(point["lower_bound"]).lower()}" x="{x:.1f}" y="{base - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{fill}">'
            f"<title>{point['as_of']}: DSO {mark}{days} d, best possible "
            f"{point['best_possible_dso']['countback']} d</title></rect>"
        )
        parts.append(
            f'<text class="dso-value" data-month="{point["month"]}" x="{x + slot * 0.35:.1f}" '
            f'y="{base - h - 4:.1f}" text-anchor="middle">{mark}{days}</text>'
        )
        parts.append(
            f'<text class="dso-label" x="{x + slot * 0.35:.1f}" y="{height - 10}" '
            f'text-anchor="middle">{point["month"]}</text>'
        )
        best = _num(point["best_possible_dso"]["countback"])
        points.append(f"{x + slot * 0.35:.1f},{base - plot * best / high:.1f}")
    if points:
        parts.append(
            f'<polyline id="best-line" points="{" ".join(points)}" fill="none" stroke="#3a8d5d" '
            'stroke-width="2"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _page(title: str, body: str) -> HTMLResponse:
    html = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}"
        '<p class="muted">My DSO Manager sandbox — test data on loopback. Amounts incl. VAT.</p>'
        "</body></html>"
    )
    return HTMLResponse(html)


def _query(request: Request, sandbox: SandboxLike) -> tuple[date, str | None, int]:
    try:
        as_of = date.fromisoformat(request.query_params.get("as_of") or sandbox.today.isoformat())
    except ValueError:
        as_of = sandbox.today
    if not as_of_in_range(as_of):  # as an unreadable date: the page shows the sandbox's date
        as_of = sandbox.today
    currency = (request.query_params.get("currency") or "").upper() or None
    try:
        months = min(max(int(request.query_params.get("months", "12")), 1), 36)
    except ValueError:
        months = 12
    return as_of, currency, months


def _form(as_of: date, currency: str, currencies: list[str], months: int) -> str:
    options = "".join(
        f"<option{' selected' if c == currency else ''}>{escape(c)}</option>"
        for c in currencies or [currency]
    )
    return (
        f'<form method="get">As of <input type="date" name="as_of" value="{as_of.isoformat()}"> '
        f'currency <select name="currency">{options}</select> '
        f'months <input type="number" name="months" min="1" max="36" value="{months}"> '
        '<button type="submit">Show</button></form>'
    )


def _kpis(dso: dict[str, Any], aging: dict[str, Any]) -> str:
    cells = [
        (
            "countback-dso",
            "DSO (countback)",
            ("≥ " if dso["lower_bound"] else "") + f"{dso['countback_dso']} d",
        ),
        # the window is the last three months, or fewer when the history is shorter: say how many days
        ("standard-dso", f"DSO (standard, {dso['standard_days']} days)", f"{dso['standard_dso'] or '–'} d"),
        ("best-dso", "Best possible DSO", f"{dso['best_possible_dso']['countback']} d"),
        ("add", "ADD", f"{dso['add']['countback']} d"),
        ("overdue-pct", "Overdue", f"{aging['overdue_pct'] or '–'} %"),
        ("receivables", "Receivables", f"{format_amount(aging['total'])} {aging['currency']}"),
    ]
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi" id="kpi-{key}"><span class="muted">{label}</span><b>{escape(value)}</b></div>'
            for key, label, value in cells
        )
        + "</div>"
    )


class _Web:
    def __init__(self, sandbox: SandboxLike) -> None:
        self.sandbox = sandbox

    def _read(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        with closing(self.sandbox.store.connect()) as conn:
            conn.execute("BEGIN")
            try:
                return work(conn)
            finally:
                conn.execute("ROLLBACK")

    async def _render(self, work: Callable[[sqlite3.Connection], HTMLResponse]) -> Response:
        try:
            return await run_in_threadpool(self._read, work)
        except NotFound as exc:
            response = _page(
                "Not found", f"<h1>Not found</h1><p>{escape(str(exc))}</p><p><a href='/ui'>Accounts</a></p>"
            )
            response.status_code = 404
            return response

    async def index(self, request: Request) -> Response:
        def work(conn: sqlite3.Connection) -> HTMLResponse:
            rows = conn.execute("SELECT login, base_currency FROM account ORDER BY login").fetchall()
            links = "".join(
                f'<li><a class="account" href="/ui/{quote(login, safe="")}">{escape(login)}</a> '
                f'<span class="muted">{escape(base)}</span></li>'
                for login, base in rows
            )
            return _page("My DSO Manager sandbox", f"<h1>Accounts</h1><ul id='accounts'>{links}</ul>")

        return await self._render(work)

    def _account(self, conn: sqlite3.Connection, login: str) -> str:
        row = conn.execute("SELECT base_currency FROM account WHERE login = ?", (login,)).fetchone()
        if row is None:
            raise NotFound(f"No account {login!r}.")
        return row[0]

    async def account(self, request: Request) -> Response:
        login = request.path_params["account"]
        as_of, currency, months = _query(request, self.sandbox)

        def work(conn: sqlite3.Connection) -> HTMLResponse:
            base = self._account(conn, login)
            cur = currency or base
            clients = load_clients(conn, login)
            items = load_items(conn, login, groups={c: r.group for c, r in clients.items()})
            currencies = sorted({i.currency for i in items} | {base})
            aging = aging_payload(items, clients, as_of, cur)
            dso = dso_payload(items, as_of, cur, months=months)
            href = f"/ui/{quote(login, safe='')}"
            rows = "".join(
                f'<tr class="client" data-code="{escape(c["client_code"])}"><td><a href="{href}/clients/'
                f'{quote(c["client_code"], safe="")}?{urlencode({"as_of": as_of.isoformat()})}">'
                f"{escape(c['client_code'])}</a></td><td>{escape(c['business_name'])}</td>"
                f"<td>{escape(c['group'] or '')}</td><td class='num'>"
                + "<br>".join(f"{format_amount(v)} {escape(k)}" for k, v in c["balances"].items())
                + f"</td><td class='num'>{c['open_items']}</td></tr>"
                for c in clients_payload(clients, items, as_of)
            )
            history_rows = "".join(
                f"<tr><td>{p['month']}</td><td class='num'>{format_amount(p['sales'])}</td>"
                f"<td class='num'>{format_amount(p['receivables'])}</td>"
                f"<td class='num'>{'≥ ' if p['lower_bound'] else ''}{p['countback_dso']}</td>"
                f"<td class='num'>{p['best_possible_dso']['countback']}</td>"
                f"<td class='num'>{p['add']['countback']}</td>"
                f"<td class='num'>{p['cei'] or '–'}</td></tr>"
                for p in dso["history"]
            )
            body = (
                f"<h1>{escape(login)} — receivables as of {as_of.isoformat()} ({escape(cur)})</h1>"
                f"<p><a href='/ui'>Accounts</a></p>{_form(as_of, cur, currencies, months)}{_kpis(dso, aging)}"
                f"<h2>Aging balance</h2>{aging_svg(aging)}"
                f"<h2>DSO history (countback; line: best possible DSO)</h2>{dso_svg(dso['history'])}"
                "<table id='dso-history'><tr><th>Month</th><th class='num'>Turnover</th>"
                "<th class='num'>Receivables</th><th class='num'>DSO</th><th class='num'>Best</th>"
                f"<th class='num'>ADD</th><th class='num'>CEI %</th></tr>{history_rows}</table>"
                "<h2>Clients</h2><table id='clients'><tr><th>Code</th><th>Name</th><th>Group</th>"
                f"<th class='num'>Open balance</th><th class='num'>Open items</th></tr>{rows}</table>"
            )
            return _page(f"{login} — receivables", body)

        return await self._render(work)

    async def statement(self, request: Request) -> Response:
        login = request.path_params["account"]
        code = request.path_params["code"]
        as_of, currency, _ = _query(request, self.sandbox)

        def work(conn: sqlite3.Connection) -> HTMLResponse:
            base = self._account(conn, login)
            clients = load_clients(conn, login)
            if code not in clients:
                raise NotFound(f"No client {code!r}.")
            items = load_items(conn, login, client_code=code, groups={code: clients[code].group})
            statement = statement_payload(clients[code], items, as_of)
            cur = currency or (next(iter(statement["balances"]), None) or base)
            aging = aging_payload(items, clients, as_of, cur, client_code=code)
            rows = "".join(
                f'<tr class="item {r["status"]}" data-key="{escape(r["item_key"])}">'
                f"<td>{escape(r['item_type'])}</td>"
                f"<td>{escape(r['item_number'])}</td><td>{r['issue_date']}</td><td>{r['due_date']}</td>"
                f"<td class='num'>{format_amount(r['amount_initial'])} {escape(r['currency'])}</td>"
                f"<td class='num amount-open'>{format_amount(r['amount_open'])}</td>"
                f"<td class='num{' late' if (r['days_late'] or 0) > 0 else ''}'>"
                f"{'' if r['days_late'] is None else r['days_late']}</td>"
                f"<td>{r['payment_date'] or ''}</td><td>{r['status']}</td></tr>"
                for r in statement["items"]
            )
            balances = ", ".join(f"{format_amount(v)} {escape(k)}" for k, v in statement["balances"].items())
            body = (
                f"<h1>Statement of account — {escape(code)} {escape(clients[code].business_name)}</h1>"
                f"<p><a href='/ui/{quote(login, safe='')}?{urlencode({'as_of': as_of.isoformat()})}'>"
                f"{escape(login)}</a> · as of {as_of.isoformat()} · open balance "
                f"<b id='balance'>{balances or '0.00'}</b></p>"
                f"<h2>Aging ({escape(cur)})</h2>{aging_svg(aging)}"
                "<table id='statement'><tr><th>Type</th><th>Number</th><th>Issued</th><th>Due</th>"
                "<th class='num'>Amount</th><th class='num'>Open</th><th class='num'>Days late</th>"
                f"<th>Paid</th><th>Status</th></tr>{rows}</table>"
            )
            return _page(f"{code} — statement", body)

        return await self._render(work)


def web_routes(sandbox: SandboxLike) -> list[BaseRoute]:
    """``/ui`` (accounts), ``/ui/{account}`` (aging, DSO, clients), ``/ui/{account}/clients/{code}``."""
    web = _Web(sandbox)

    async def root(request: Request) -> Response:
        return RedirectResponse("/ui", status_code=307)

    return [
        Route("/", root, methods=["GET"]),
        Route("/ui", web.index, methods=["GET"]),
        Route("/ui/{account}", web.account, methods=["GET"]),
        Route("/ui/{account}/clients/{code}", web.statement, methods=["GET"]),
    ]
