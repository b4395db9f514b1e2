"""Limits: streaming (memory does not follow the file size) and concurrent imports on one account."""

from __future__ import annotations

import io
import json
import threading
import tracemalloc
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx2
from mydso_sandbox_helpers import ACME, CLIENTS, OTHER, item, items_csv, rows

from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.mydso import ImportOptions, MyDsoSandbox

HEADER = (
    b'"item_type";"item_number";"client_code";"item_date_issue";"item_date_due";"item_amount_initial_inc_tax"'
    b"\r\n"
)


def generated_rows(count: int, start: int = 0) -> Iterator[bytes]:
    for n in range(start, start + count):
        yield b'"FAC";"%08d";"C000%d";"2025-05-%02d";"2025-06-30";"%d.%02d"\r\n' % (
            n, n % 3 + 1, n % 28 + 1, n % 9000, n % 100,
        )  # fmt: skip


def write_file(path: Path, count: int) -> int:
    with path.open("wb") as fh:
        fh.write(HEADER)
        for line in generated_rows(count):
            fh.write(line)
    return path.stat().st_size


def test_import_memory_does_not_follow_the_file_size(tmp_path: Path, sandbox: MyDsoSandbox) -> None:
    sandbox.import_file("acme", "clients", io.BytesIO(CLIENTS))
    size = write_file(tmp_path / "items.csv", 40_000)
    assert size > 2_000_000
    tracemalloc.start()
    try:
        with (tmp_path / "items.csv").open("rb") as fh:
            report = sandbox.import_file("acme", "items", fh, ImportOptions(stock=True))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (report["added"], report["rejected"]) == (40_000, 0)
    assert peak < 1_000_000, f"peak {peak} bytes of Python memory for a {size}-byte file"


def test_http_body_is_streamed_not_buffered(sandbox: MyDsoSandbox) -> None:
    sandbox.max_body_bytes = 64 * 1024 * 1024
    sandbox.import_file("acme", "clients", io.BytesIO(CLIENTS))

    def body() -> Iterator[bytes]:
        yield HEADER
        batch: list[bytes] = []
        for line in generated_rows(50_000):
            batch.append(line)
            if len(batch) == 500:
                yield b"".join(batch)
                batch.clear()
        yield b"".join(batch)

    with LoopbackServer(sandbox.app) as server, httpx2.Client(base_url=server.url, timeout=60) as client:
        tracemalloc.start()
        try:
            response = client.post("/api/items", content=body(), auth=ACME)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.json()["added"] == 50_000
    # the spool keeps at most 1 MiB in memory before it moves to disk; the whole body is ~3.1 MB
    assert peak < 2_400_000, peak


def test_concurrent_imports_on_one_account_are_serialised(sandbox: MyDsoSandbox) -> None:
    sandbox.import_file("acme", "clients", io.BytesIO(CLIENTS))
    files = {n: HEADER + b"".join(generated_rows(200 + 50 * n, start=100 * n)) for n in range(8)}
    results: dict[int, dict] = {}

    with LoopbackServer(sandbox.app) as server:

        def send(n: int) -> None:
            with httpx2.Client(base_url=server.url, timeout=60) as client:
                params = {"clear_items_not_modified": "true"} if n % 2 else {}
                response = client.post("/api/items", content=files[n], params=params, auth=ACME)
                results[n] = response.json()

        threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert all(report["success"] for report in results.values())
    assert [results[n]["rows"] for n in range(8)] == [200 + 50 * n for n in range(8)]
    # every item was created exactly once, with exactly one 'created' event
    total_added = sum(report["added"] for report in results.values())
    assert rows(sandbox, "SELECT count(*) FROM item") == [(total_added,)]
    assert rows(sandbox, "SELECT count(*) FROM item_event WHERE kind = 'created'") == [(total_added,)]
    # imports ran one after the other: replaying their reports in commit order gives the same counts
    reports = [
        json.loads(r)
        for (r,) in rows(sandbox, "SELECT report FROM import WHERE file_type = 'items' ORDER BY id")
    ]
    seen: set[str] = set()
    for report in reports:
        n = next(k for k, v in results.items() if v["import_id"] == reports.index(report) + 2)
        keys = {line[7:15].decode() for line in files[n].split(b"\r\n")[1:-1]}
        assert report["added"] == len(keys - seen), n
        seen |= keys
    # the last STOCK import decides which items are open (later DELTA imports only add)
    last_stock = max((v["import_id"], k) for k, v in results.items() if k % 2)[1]
    later = [k for k, v in results.items() if v["import_id"] > results[last_stock]["import_id"]]
    expected_open = {
        line[7:15].decode() for k in [last_stock, *later] for line in files[k].split(b"\r\n")[1:-1]
    }
    open_numbers = {
        number for (number,) in rows(sandbox, "SELECT item_number FROM item WHERE payment_date IS NULL")
    }
    assert open_numbers == expected_open


def test_two_accounts_import_at_the_same_time(tmp_path: Path) -> None:
    sb = MyDsoSandbox(tmp_path / "db.sqlite3", accounts=dict([ACME, OTHER]), today=date(2025, 6, 30))
    try:
        reports: list[dict] = []

        def run(login: str) -> None:
            sb.import_file(login, "clients", io.BytesIO(CLIENTS))
            reports.append(
                sb.import_file(login, "items", io.BytesIO(items_csv(*(item(str(n)) for n in range(500)))))
            )

        threads = [threading.Thread(target=run, args=(login,)) for login in ("acme", "other")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r["added"] for r in reports) == [500, 500]
        assert rows(sb, "SELECT account, count(*) FROM item GROUP BY account") == [
            ("acme", 500),
            ("other", 500),
        ]
    finally:
        sb.close()
