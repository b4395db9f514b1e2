"""Fixtures shared across the test tree."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SyncConfigWriter = Callable[..., tuple[Path, dict[str, str]]]
ALERT_HOOK_TOKEN = "hooktoken" + "9b" * 12  # the secret part of the alert receiver's URL


@pytest.fixture
def sync_config() -> SyncConfigWriter:
    """Write a ``dsobridge.toml`` pointing at a Dynaccount and a My DSO Manager sandbox (login ``acme``).

    ``sync_config(folder, dyn, dyn_url, dso_url, password, page_size=None)`` returns the config path and the
    environment holding the secrets (never the file: secrets stay out of files).
    """

    def write(
        folder: Path, dyn: Any, dyn_url: str, dso_url: str, password: str, *, page_size: int | None = None
    ) -> tuple[Path, dict[str, str]]:
        path = folder / "dsobridge.toml"
        page = f"page_size = {page_size}\n" if page_size else ""
        path.write_text(
            textwrap.dedent(
                f"""\
                [dynaccount]
                api_id = {dyn.credentials.api_id}
                base_url = "{dyn_url}"
                retries = 1
                """
            )
            + page
            + textwrap.dedent(
                f"""\
                [mydso]
                base_url = "{dso_url}"
                login = "acme"
                [sync]
                state = "state.sqlite3"
                """
            ),
            encoding="utf-8",
        )
        env = {
            "DSOBRIDGE_DYNACCOUNT_API_KEY": dyn.credentials.api_key,
            "DSOBRIDGE_DYNACCOUNT_API_SECRET": dyn.credentials.api_secret,
            "DSOBRIDGE_MYDSO_PASSWORD": password,
        }
        return path, env

    return write


@pytest.fixture
def alert_hook():
    """A local HTTP receiver for alerts: ``(received JSON bodies, its apprise json:// URL)``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from dsobridge.sandbox import LoopbackServer

    received: list[dict] = []

    async def hook(request: Request) -> JSONResponse:
        if request.path_params["token"] != ALERT_HOOK_TOKEN:
            return JSONResponse({"error": "unknown hook"}, status_code=404)
        received.append(await request.json())
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hooks/{token}", hook, methods=["POST"])])
    with LoopbackServer(app) as server:
        yield received, f"json://127.0.0.1:{server.port}/hooks/{ALERT_HOOK_TOKEN}"
