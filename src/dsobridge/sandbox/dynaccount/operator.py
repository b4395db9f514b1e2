"""Operator endpoints under ``/_sandbox/`` (no auth: a loopback tool for tests, demos and integrators)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dsobridge.sandbox.dynaccount import ledger
from dsobridge.sandbox.dynaccount.actions import voucher_json
from dsobridge.sandbox.dynaccount.errors import ApiError
from dsobridge.sandbox.dynaccount.payments import book_payment
from dsobridge.sandbox.dynaccount.values import parse_date, to_cents

if TYPE_CHECKING:
    from dsobridge.sandbox.dynaccount.sandbox import DynaccountSandbox


class _Bad(Exception):
    pass


def _json(status: int, payload: Any) -> Response:
    from dsobridge.sandbox.dynaccount.wire import to_json

    return Response(to_json(payload), status_code=status, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise _Bad("Body must be a JSON object") from None
    if not isinstance(data, dict):
        raise _Bad("Body must be a JSON object")
    return data


def _int(
    data: dict[str, Any], key: str, default: int | None = None, *, low: int = 0, high: int = 10**7
) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Bad(f"'{key}' must be an integer between {low} and {high}")
    return value


def operator_app(sb: DynaccountSandbox) -> Starlette:
    def guarded(handler):
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except _Bad as exc:
                return _json(400, {"error": {"request": str(exc)}})
            except ApiError as exc:
                return _json(exc.status, {"error": exc.error})

        return endpoint

    async def reset(request: Request) -> Response:
        sb.reset()
        return _json(200, {"ok": True})

    async def seed(request: Request) -> Response:
        data = await _body(request)
        share = data.get("open_share")
        if share is not None and (
            isinstance(share, bool) or not isinstance(share, int | Decimal) or not 0 <= share <= 1
        ):
            raise _Bad("'open_share' must be a number between 0 and 1")
        counts = sb.seed(
            debtors=_int(data, "debtors", 300, high=1_000_000),
            invoices=_int(data, "invoices", 5000, high=10_000_000),
            seed=_int(data, "seed", 1, high=2**31),
            open_share=None if share is None else float(share),
        )
        return _json(200, {"ok": True, "counts": counts, "today": sb.today.isoformat()})

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            data = await _body(request)
            try:
                sb.today = dt.date.fromisoformat(str(data.get("today", "")))
            except ValueError:
                raise _Bad("'today' must be a date YYYY-MM-DD") from None
        return _json(200, {"today": sb.today.isoformat()})

    async def advance(request: Request) -> Response:
        data = await _body(request)
        counts = sb.advance(
            days=_int(data, "days", 30, low=1, high=3660), seed=_int(data, "seed", 2, high=2**31)
        )
        return _json(200, {"ok": True, "today": sb.today.isoformat(), "counts": counts})

    async def fault_settings(request: Request) -> Response:
        if request.method == "DELETE":
            sb.faults.reset()
        elif request.method == "POST":
            data = await _body(request)
            try:
                sb.faults.update(data)
            except ValueError as exc:
                raise _Bad(str(exc)) from None
        return _json(200, sb.faults.to_dict())

    async def webhooks(request: Request) -> Response:
        if request.method == "POST":
            data = await _body(request)
            try:
                sub = sb.subscribe_webhook(
                    str(data.get("url", "")), str(data.get("table", "")), str(data.get("method", ""))
                )
            except ValueError as exc:
                raise _Bad(str(exc)) from None
            return _json(200, {"id": sub.id, "url": sub.url, "table": sub.table, "method": sub.method})
        if request.method == "DELETE":
            sb.webhooks.clear()
        subs = [
            {"id": s.id, "url": s.url, "table": s.table, "method": s.method}
            for s in sb.webhooks.subscriptions
        ]
        return _json(200, {"subscriptions": subs})

    async def webhook_log(request: Request) -> Response:
        if request.query_params.get("wait") == "1":
            sb.webhooks.wait_idle(10)
        return _json(200, {"deliveries": list(sb.webhooks.log)})

    async def payments(request: Request) -> Response:
        """A customer payment booked as an API client would: voucher, lines, book (webhooks included)."""
        data = await _body(request)
        module_no = _int(data, "module_id_", high=10**12)
        invoice_no = _int(data, "invoice_id_", 0, high=10**12)
        try:
            amount = to_cents(str(data.get("amount", "")))
            when = parse_date(str(data["time"])) if data.get("time") else sb.today
        except (ArithmeticError, ValueError, OverflowError):
            raise _Bad("'amount' must be a number and 'time' a date") from None
        store = sb.store
        with store.tx() as c:
            ledger.debtor_of(c, module_no)
            voucher, lines = book_payment(
                c,
                module_no,
                amount,
                when,
                str(data.get("txt", "")) or "Indbetaling",
                sb.today,
                invoice_no=invoice_no,
            )
            enc = c.execute("SELECT enc_id_ FROM enclosure WHERE id=?", (voucher,)).fetchone()[0]
            posting = c.execute(
                "SELECT id FROM debtor_accounting_module WHERE enc_id_=? AND type='PAYMENT'", (enc,)
            ).fetchone()[0]
            row = store.row_json(c, "debtor_accounting_module", posting)
            inserted = [("enclosure", store.row_json(c, "enclosure", voucher))]
            inserted += [("accounting", store.row_json(c, "accounting", i)) for i in lines]
            booked = voucher_json(store, c, voucher, lines)
        for table, text in inserted:
            sb.webhooks.emit("insert", table, text or "null")
        sb.webhooks.emit("action", "book_draft", f"[{booked.text}]")
        return Response(f'{{"result":[{row}]}}', media_type="application/json")

    async def outbox(request: Request) -> Response:
        with sb.store.lock:
            rows = sb.store.conn.execute(
                "SELECT id, time, invoice_id_, email, msg, is_attached, length(pdf) FROM _outbox ORDER BY id"
            ).fetchall()
        keys = ("id", "time", "invoice_id_", "email", "msg", "is_attached", "pdf_size")
        return JSONResponse({"outbox": [dict(zip(keys, r, strict=True)) for r in rows]})

    async def outbox_pdf(request: Request) -> Response:
        with sb.store.lock:
            row = sb.store.conn.execute(
                "SELECT pdf FROM _outbox WHERE id=?", (request.path_params["id"],)
            ).fetchone()
        if row is None:
            return _json(404, {"error": {"not_found": "No such outbox entry"}})
        return Response(bytes(row[0]), media_type="application/pdf")

    async def credentials(request: Request) -> Response:
        creds = sb.credentials
        return JSONResponse({"api_id": creds.api_id})

    async def check(request: Request) -> Response:
        return _json(200, {"mismatches": sb.check_invariant()})

    routes = [
        Route("/_sandbox/reset", guarded(reset), methods=["POST"]),
        Route("/_sandbox/seed", guarded(seed), methods=["POST"]),
        Route("/_sandbox/clock", guarded(clock), methods=["GET", "POST"]),
        Route("/_sandbox/advance", guarded(advance), methods=["POST"]),
        Route("/_sandbox/faults", guarded(fault_settings), methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/webhooks", guarded(webhooks), methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/webhooks/log", guarded(webhook_log), methods=["GET"]),
        Route("/_sandbox/payments", guarded(payments), methods=["POST"]),
        Route("/_sandbox/outbox", guarded(outbox), methods=["GET"]),
        Route("/_sandbox/outbox/{id:int}.pdf", guarded(outbox_pdf), methods=["GET"]),
        Route("/_sandbox/credentials", guarded(credentials), methods=["GET"]),
        Route("/_sandbox/check", guarded(check), methods=["GET"]),
    ]
    return Starlette(routes=routes)
