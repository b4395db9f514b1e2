"""``dsobridge webhook serve``: receive Dynaccount webhooks, verify ``X-Hash``, run a debounced DELTA sync.

Each verified call (re)starts a quiet period (``--debounce``); when it ends, one DELTA sync runs. Calls that
arrive during a run schedule one more run after it. The variant of the hash that matched (URL with or without
its scheme, spec §7) is counted and shown by ``GET /status``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dsobridge.commands.sync import _load, config_option


class Debouncer:
    """Run ``action`` once ``delay`` seconds after the last ``poke``; never two runs at once."""

    def __init__(self, action: Callable[[], Any], delay: float) -> None:
        self.action = action
        self.delay = delay
        self.runs = 0
        self.last_result: Any = None
        self._due: float | None = None
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="dsobridge-webhook-sync", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> bool:
        with self._cond:
            return self._due is not None

    def poke(self) -> None:
        with self._cond:
            self._due = time.monotonic() + self.delay
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (self._due is None or time.monotonic() < self._due):
                    timeout = None if self._due is None else max(0.0, self._due - time.monotonic())
                    self._cond.wait(timeout)
                if self._closed:
                    return
                self._due = None
            try:
                self.last_result = self.action()
            except Exception as exc:  # keep serving; the run record has the details
                self.last_result = exc
            self.runs += 1

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=5)


def build_app(
    api_secret: str,
    trigger: Callable[[], None],
    *,
    path: str = "/dynaccount-webhook/",
    public_url: str | None = None,
    status: Callable[[], dict[str, Any]] | None = None,
) -> Any:
    """The Starlette receiver. ``public_url``: the URL as configured in Dynaccount (default: as received)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from dsobridge.dynaccount import verify_webhook

    counts = {"received": 0, "rejected": 0, "without_scheme": 0, "with_scheme": 0}
    events: dict[str, int] = {}

    async def receive(request: Request) -> JSONResponse:
        counts["received"] += 1
        body = await request.body()
        url = public_url or str(request.url)
        variant = verify_webhook(url, body, request.headers.get("x-hash"), api_secret)
        if variant is None:
            counts["rejected"] += 1
            return JSONResponse({"ok": False, "error": "X-Hash does not verify"}, status_code=401)
        counts[variant] += 1
        try:
            payload = json.loads(body)
            key = f"{payload.get('table', '?')}:{payload.get('method', '?')}"
        except (ValueError, AttributeError):
            key = "unparsed"
        events[key] = events.get(key, 0) + 1
        trigger()
        return JSONResponse({"ok": True, "verified": variant}, status_code=202)

    async def show(request: Request) -> JSONResponse:
        return JSONResponse({"webhooks": counts, "events": events, **(status() if status else {})})

    return Starlette(routes=[Route(path, receive, methods=["POST"]), Route("/status", show, methods=["GET"])])


@click.group("webhook")
def webhook() -> None:
    """Receive Dynaccount webhooks and sync on change."""


@webhook.command("serve")
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8088, show_default=True)
@click.option("--path", "hook_path", default="/dynaccount-webhook/", show_default=True)
@click.option("--public-url", help="The webhook URL as entered in Dynaccount (when behind a proxy).")
@click.option("--debounce", type=float, default=30.0, show_default=True, help="Quiet seconds before a sync.")
def serve(
    config_path: Path, host: str, port: int, hook_path: str, public_url: str | None, debounce: float
) -> None:
    """Serve the receiver; each burst of verified webhooks triggers one DELTA sync."""
    import uvicorn

    from dsobridge.sync.engine import SyncOptions
    from dsobridge.sync.runner import run_sync

    config = _load(config_path)

    def sync() -> Any:
        result = run_sync(config, SyncOptions(mode="delta"))
        click.echo(f"delta sync run {result.run_id}: {result.status} (exit {result.exit_code})")
        return result

    debouncer = Debouncer(sync, debounce)

    def status() -> dict[str, Any]:
        last = debouncer.last_result
        summary = None
        if last is not None:
            summary = {"run_id": getattr(last, "run_id", None), "status": getattr(last, "status", "error")}
        return {"sync_pending": debouncer.pending, "syncs_run": debouncer.runs, "last_sync": summary}

    app = build_app(
        config.dynaccount.api_secret.reveal(),
        debouncer.poke,
        path=hook_path,
        public_url=public_url,
        status=status,
    )
    click.echo(f"listening on http://{host}:{port}{hook_path} (status at /status); Ctrl-C to stop")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        debouncer.close()
