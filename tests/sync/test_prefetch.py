"""One-page-ahead prefetch of the extraction: order kept, errors at the right page, no thread left."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dsobridge.dynaccount.errors import ValidationError
from dsobridge.sync.extract import ExtractionError, Extractor


class PageBoom(Exception):
    pass


class PagedSource:
    """Pages ``limit=offset,page_size`` like the client; records every request and the thread that made it."""

    def __init__(self, rows: int, *, fail_page: int | None = None, refuse_select: bool = False) -> None:
        self.rows = [{"id": i, "n": f"row-{i}"} for i in range(1, rows + 1)]
        self.fail_page = fail_page
        self.refuse_select = refuse_select
        self.requests: list[tuple[str, int, bool]] = []  # (table, page index, select given)
        self.threads: set[int] = set()
        self.active = 0
        self.max_active = 0
        self.closed_at: int | None = None  # requests made when the row iterator was closed
        self.lock = threading.Lock()

    def iter_rows(
        self,
        table: str,
        *,
        select: list[str] | None = None,
        where: dict[str, Any] | None = None,
        order: Any = None,
        page_size: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        page = 0
        try:
            while True:
                with self.lock:
                    self.active += 1
                    self.max_active = max(self.max_active, self.active)
                self.threads.add(threading.get_ident())
                self.requests.append((table, page, select is not None))
                time.sleep(0.002)  # the server preparing the page
                with self.lock:
                    self.active -= 1
                if self.refuse_select and select is not None:
                    raise ValidationError("Unknown field", errors={})
                if page == self.fail_page:
                    raise PageBoom("page failed")
                chunk = self.rows[page * page_size : (page + 1) * page_size]
                yield from chunk
                if len(chunk) < page_size:
                    return
                page += 1
        finally:
            self.closed_at = len(self.requests)


def _no_prefetch_thread() -> bool:
    return not any(t.name == "dsobridge-prefetch" for t in threading.enumerate())


def test_rows_and_requests_in_order_from_one_thread() -> None:
    source = PagedSource(2_345)
    rows = list(Extractor(source, page_size=100).debtors())
    assert [r["id"] for r in rows] == list(range(1, 2_346))
    assert [r[1] for r in source.requests] == list(range(24))  # 23 full pages + the short one: same count
    assert len(source.threads) == 1 and threading.get_ident() not in source.threads  # the prefetch thread
    assert source.max_active == 1
    assert _no_prefetch_thread()


def test_same_requests_as_without_prefetch() -> None:
    with_prefetch, without = PagedSource(1_000), PagedSource(1_000)
    assert list(Extractor(with_prefetch, page_size=100).open_invoices()) == list(
        Extractor(without, page_size=100, prefetch=False).open_invoices()
    )
    assert with_prefetch.requests == without.requests
    assert len(without.requests) == 11  # 10 full pages, then the empty one that ends the table


def test_at_most_one_page_ahead() -> None:
    source = PagedSource(10_000)
    stream = Extractor(source, page_size=1000).debtors()  # the sync's page size
    assert next(stream)["id"] == 1
    time.sleep(0.05)  # ample time for a producer that would run ahead
    assert len(source.requests) == 2  # the page being consumed and the next one, no more
    for _ in range(999):
        next(stream)
    assert next(stream)["id"] == 1001
    time.sleep(0.05)
    assert len(source.requests) == 3
    stream.close()


def test_error_raised_after_the_rows_before_the_failed_page() -> None:
    source = PagedSource(1_000, fail_page=3)
    extractor = Extractor(source, page_size=100)
    seen: list[int] = []
    with pytest.raises(ExtractionError) as info:
        for row in extractor.debtors():
            seen.append(row["id"])
    assert seen == list(range(1, 301))  # pages 0-2 whole, nothing of page 3
    assert info.value.table == "debtor" and info.value.cause_type == "PageBoom"
    assert extractor.rows_read == {"debtor": 300}
    assert [r[1] for r in source.requests] == [0, 1, 2, 3]
    assert _no_prefetch_thread()


def test_early_stop_leaves_no_thread_and_no_request_after_close() -> None:
    source = PagedSource(10_000)
    stream = Extractor(source, page_size=1000).debtors()
    for _ in range(1_500):
        next(stream)
    time.sleep(0.05)  # the page ahead (page 2) is fetched meanwhile
    stream.close()
    assert _no_prefetch_thread()
    made = len(source.requests)
    assert made == 3  # page 0, page 1 (being read) and the one ahead
    assert source.closed_at == made  # the client's iterator closed, after its last request
    time.sleep(0.05)
    assert len(source.requests) == made


def test_refused_select_falls_back_to_whole_rows_with_prefetch() -> None:
    source = PagedSource(250, refuse_select=True)
    extractor = Extractor(source, page_size=100, fields={"debtor": ["id"]})
    assert [r["id"] for r in extractor.debtors()] == list(range(1, 251))
    assert extractor.whole_tables == {"debtor"}
    assert source.requests == [
        ("debtor", 0, True),
        ("debtor", 0, False),
        ("debtor", 1, False),
        ("debtor", 2, False),
    ]
    assert _no_prefetch_thread()
