"""What the serving commands share: stay up until Ctrl-C or SIGTERM, and the ``--today`` clock."""

from __future__ import annotations

import datetime as dt
import signal
import time
from typing import Any, NoReturn

import click

TICK = 0.2  # seconds between checks for Ctrl-C / SIGTERM in the main thread


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    from dsobridge.sync.run import Terminated

    raise Terminated  # a KeyboardInterrupt whose ``code`` is 143


def stop_on_sigterm() -> Any:
    """Make SIGTERM (``kill``, a service manager) stop the command like Ctrl-C; returns the old handler."""
    return signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


def idle_until_interrupted() -> NoReturn:
    """Sleep until ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM after :func:`stop_on_sigterm`).

    Short sleeps, not one long one: the kernel may deliver SIGINT to a server thread, and Python runs the
    handler in the main thread only when its current sleep ends.
    """
    while True:
        time.sleep(TICK)


def sandbox_day(value: str | None) -> dt.date | None:
    """A sandbox clock given as ``--today YYYY-MM-DD`` (None: the sandbox's own default)."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD", param_hint="--today") from None
