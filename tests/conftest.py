"""Fixtures shared across the test tree."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SyncConfigWriter = Callable[..., tuple[Path, dict[str, str]]]


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
