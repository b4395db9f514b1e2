"""Webhook subscriptions and delivery (spec §7): POST ``{"method","table","result"}`` with
``X-Hash = sha1(url-without-scheme + json body + secret)``, from a background thread, retried on failure.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from dsobridge.dynaccount import signing
from dsobridge.sandbox.dynaccount.faults import Faults

WEBHOOK_METHODS = ("insert", "update", "delete", "action", "*")


@dataclass(frozen=True)
class Subscription:
    id: int
    url: str
    table: str
    method: str

    def wants(self, method: str, table: str) -> bool:
        return self.method in ("*", method) and self.table in ("*", table)


def url_without_scheme(url: str) -> str:
    return url.split("://", 1)[1] if "://" in url else url


class WebhookDispatcher:
    """Queue deliveries after commits; one worker thread delivers them in order."""

    def __init__(
        self,
        secret: Callable[[], str],
        faults: Faults,
        *,
        retry_delays: tuple[float, ...] = (0.05, 0.2, 0.5),
        timeout: float = 5.0,
    ) -> None:
        self._secret = secret
        self.faults = faults
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.subscriptions: list[Subscription] = []
        self.log: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._queue: queue.Queue[tuple[Subscription, str, str, str] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._client: httpx2.Client | None = None

    def subscribe(self, url: str, table: str, method: str) -> Subscription:
        if method not in WEBHOOK_METHODS:
            raise ValueError(f"method must be one of {', '.join(WEBHOOK_METHODS)}")
        if not url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        if not table:
            raise ValueError("table is required ('*' for all)")
        with self._lock:
            sub = Subscription(next(self._ids), url, table, method)
            self.subscriptions.append(sub)
        return sub

    def clear(self) -> None:
        with self._lock:
            self.subscriptions.clear()
            self.log.clear()

    def emit(self, method: str, table: str, result_json: str) -> None:
        """Queue one event (``result_json`` is already JSON text) for every matching subscription."""
        body = f'{{"method":"{method}","table":"{table}","result":{result_json}}}'
        for sub in list(self.subscriptions):
            if sub.wants(method, table):
                self._start()
                self._queue.put((sub, method, table, body))

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="dynaccount-webhooks", daemon=True)
                self._thread.start()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery has finished (delivered or given up)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=5)
        if self._client is not None:
            self._client.close()
            self._client = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(*item)
            finally:
                self._queue.task_done()

    def _deliver(self, sub: Subscription, method: str, table: str, body: str) -> None:
        if self._client is None:
            self._client = httpx2.Client(timeout=self.timeout)
        payload = body.encode("utf-8")
        x_hash = signing.compute_hash(url_without_scheme(sub.url), payload, self._secret())
        entry: dict[str, Any] = {
            "subscription": sub.id,
            "url": sub.url,
            "table": table,
            "method": method,
            "attempts": 0,
            "status": None,
            "delivered": False,
            "error": "",
        }
        for attempt, delay in enumerate((0.0, *self.retry_delays)):
            if delay:
                time.sleep(delay)
            entry["attempts"] = attempt + 1
            if self.faults.webhook_fails():
                entry["error"] = "injected failure"
                entry["status"] = None
                continue
            try:
                response = self._client.post(
                    sub.url,
                    content=payload,
                    headers={"Content-Type": "application/json", signing.HASH_HEADER: x_hash},
                )
            except httpx2.HTTPError as exc:
                entry["error"] = type(exc).__name__
                entry["status"] = None
                continue
            entry["status"] = response.status_code
            if 200 <= response.status_code < 300:
                entry["delivered"] = True
                entry["error"] = ""
                break
            entry["error"] = f"HTTP {response.status_code}"
        with self._lock:
            self.log.append(entry)
