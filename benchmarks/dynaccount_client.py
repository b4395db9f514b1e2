"""Client-side cost of one 1,000-row ``debtor_invoice`` page, as ratios to ``json.loads`` of the same bytes.

    .venv/bin/python benchmarks/dynaccount_client.py [--rounds N]

Figures (all medians, measured in the same run):
- floor            json.loads(page)                         — the cost no JSON client can avoid
- floor_decimal    json.loads(page, parse_float=Decimal)    — the same with exact money (what we must do)
- client           sign + encode the request + decode the answer into rows (no network)
- end_to_end       DynaccountClient.get() over a loopback uvicorn server replaying the canned page
- raw_end_to_end   a bare httpx2 POST to the same server + json.loads (the transport floor)
Target: client / floor <= 1.50.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dsobridge.dynaccount import DynaccountClient, RetryPolicy, wire
from dsobridge.sandbox import LoopbackServer

API_ID, API_KEY, API_SECRET = "1234", "a" * 40, "0123456789abcdef0123456789abcdef01234567"
ROWS = 1000


def canned_page(rows: int = ROWS) -> bytes:
    rng = random.Random(2)
    result = []
    for i in range(rows):
        total = Decimal(rng.randrange(10_000, 5_000_000)) / 100
        result.append(
            {
                "id": 100_000 + i,
                "module_id": 1000 + rng.randrange(400),
                "module_id_": 10_000 + rng.randrange(400),
                "invoice_id_": 20_000 + i,
                "is_booked": "YES",
                "is_matched": rng.choice(["YES", "NO"]),
                "is_credited": "NO",
                "is_credited_complete": "NO",
                "is_reminder": "NO",
                "time": 1_700_000_000 + i * 3600,
                "time_due": 1_702_000_000 + i * 3600,
                "currency_name": "DKK",
                "currency_rate": 100.0,
                "fi_payment_id_": f"+71<{rng.randrange(10**15):015d}+88888888<",
                "vat_amount": float(total / 5),
                "total_amount": float(total),
                "txt": f"Faktura {20_000 + i} — konsulentydelser",
                "public_url": f"https://secure.dynaccount.com/invoice/{rng.getrandbits(64):016x}/",
            }
        )
    meta = {"page": 1, "offset": rows, "num": rows, "order": "id", "request_time": 0.0123}
    return json.dumps({"result": result, "metadata": meta}, ensure_ascii=False).encode()


def interleaved(funcs: list[Callable[[], object]], rounds: int) -> list[float]:
    """Median time of each function, sampled round-robin."""
    samples: list[list[float]] = [[] for _ in funcs]
    for func in funcs:
        func()  # warm-up
    for _ in range(rounds):
        for index, func in enumerate(funcs):
            start = time.perf_counter()
            func()
            samples[index].append(time.perf_counter() - start)
    return [statistics.median(s) for s in samples]


def median_time(func: Callable[[], object], rounds: int) -> float:
    func()  # warm-up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=150)
    args = parser.parse_args()
    page = canned_page()

    async def endpoint(request: Request) -> Response:
        await request.body()
        return Response(page, media_type="application/json")

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST", "GET"])])

    client = DynaccountClient(API_ID, API_KEY, API_SECRET, retry=RetryPolicy.never())
    where = {"is_booked": True, "is_matched": False}

    def client_side() -> list:
        query = wire.encode_get_query(where=where, order="id", limit=(0, ROWS))
        client._prepare("get", ("debtor_invoice",), query=query)
        return wire.decode_rows(200, "application/json", page, operation="get debtor_invoice", api_id=API_ID)

    assert len(client_side()) == ROWS
    # interleaved so that load from other processes hits floor and client alike
    floor, floor_decimal, client_cost = interleaved(
        [lambda: json.loads(page), lambda: json.loads(page, parse_float=Decimal), client_side], args.rounds
    )
    client.close()

    with LoopbackServer(app) as server:
        with DynaccountClient(
            API_ID, API_KEY, API_SECRET, base_url=server.url, retry=RetryPolicy.never()
        ) as c:
            end_to_end = median_time(
                lambda: c.get("debtor_invoice", where=where, order="id", limit=(0, ROWS)), args.rounds
            )
        with httpx2.Client() as raw:
            url = f"{server.url}/v5/{API_ID}/x/get/debtor_invoice/json/"
            raw_e2e = median_time(
                lambda: json.loads(raw.post(url, content=b"__api_hash=0").content), args.rounds
            )
        connections = server.connections

    def line(label: str, what: str, seconds: float) -> str:
        return f"{label:<14} {what:<24} {seconds * 1e3:8.2f} ms  {ROWS / seconds:>12,.0f} rows/s"

    print(f"page: {ROWS} rows, {len(page):,} bytes; rounds={args.rounds} (medians)")
    print(line("floor", "json.loads", floor))
    print(line("floor_decimal", "json.loads+Decimal", floor_decimal) + f"  ratio {floor_decimal / floor:.2f}")
    print(
        line("client", "sign+encode+decode", client_cost)
        + f"  ratio {client_cost / floor:.2f} (vs Decimal floor {client_cost / floor_decimal:.2f})"
    )
    print(
        line("end_to_end", "client.get() loopback", end_to_end)
        + f"  ratio {end_to_end / floor:.2f} (vs raw httpx2+json.loads {end_to_end / raw_e2e:.2f})"
    )
    print(line("raw_end_to_end", "httpx2 POST+json.loads", raw_e2e))
    print(f"TCP connections accepted by the server: {connections} (2 clients)")
    verdict = "OK" if client_cost / floor <= 1.5 else "OVER"
    print(f"target client/floor <= 1.50: {client_cost / floor:.2f} {verdict}")


if __name__ == "__main__":
    main()
