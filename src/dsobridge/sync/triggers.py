"""Webhook triggers that are never lost: recorded in the state store, run after any run holding the lock.

``dsobridge webhook serve`` records every verified call in the company's state store BEFORE it answers 202
(:meth:`StateStore.add_trigger`). A :class:`TriggerWorker` thread then runs them: once no call has come for
``debounce`` seconds and no other run holds the lock, it takes every pending trigger at once and runs ONE
DELTA — targeted at the union of their debtors, or a full DELTA when one of them cannot be scoped — and
marks them done. A trigger that meets a running sync (the nightly STOCK) simply waits, pending, until the
lock is released; a failed run leaves them pending and tries again with backoff (given up after
``max_attempts``); a restart of the server picks up whatever was pending or running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from typing import Any

from dsobridge.sync.run import RunResult, SyncOptions
from dsobridge.sync.scope import FULL, Scope
from dsobridge.sync.state import StateStore, Trigger

log = logging.getLogger("dsobridge.webhook")

POLL = 0.25  # seconds between looks at the lock while triggers wait for it


def scope_of(triggers: Iterable[Trigger]) -> Scope:
    """One run for a burst: the union of the triggers' debtors, or everything if one cannot be scoped."""
    debtors: set[str] = set()
    for trigger in triggers:
        if trigger.debtors is None:
            return FULL
        debtors.update(trigger.debtors)
    return Scope.of(debtors)


class TriggerWorker:
    """Runs the pending triggers of one company's state store in a background thread.

    ``open_state()`` opens the state store (a new connection for this thread); ``run(options, state)``
    runs one sync and returns its :class:`RunResult` (``run_sync`` with the configuration, in production).
    """

    def __init__(
        self,
        open_state: Callable[[], StateStore],
        run: Callable[[SyncOptions, StateStore], RunResult],
        *,
        debounce: float = 2.0,
        max_attempts: int = 5,
        backoff: float = 30.0,
    ) -> None:
        self.open_state = open_state
        self.run = run
        self.debounce = debounce
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.runs = 0
        self.last_result: RunResult | None = None
        self._last_poke = 0.0
        self._retry_at = 0.0
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dsobridge-triggers", daemon=True)

    def start(self) -> TriggerWorker:
        with closing(self.open_state()) as state:
            requeued = state.requeue_triggers()  # left running by a process that died
            pending = len(state.pending_triggers())
        if requeued:
            log.warning("%d webhook trigger(s) left running by a previous process: run again", requeued)
        if pending:
            log.info("%d webhook trigger(s) pending from before the restart", pending)
        self._thread.start()
        self.poke()
        return self

    def poke(self) -> None:
        """A trigger was recorded: (re)start the quiet period."""
        self._last_poke = time.monotonic()
        self._wake.set()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        with closing(self.open_state()) as state:
            while not self._closed.is_set():
                self._wake.wait(timeout=POLL)
                self._wake.clear()
                if self._closed.is_set():
                    return
                if self._due(state):
                    self._run_pending(state)

    def _due(self, state: StateStore) -> bool:
        now = time.monotonic()
        if now - self._last_poke < self.debounce or now < self._retry_at:
            return False
        if not state.pending_triggers():
            return False
        return state.lock_holder() is None  # a running sync: wait for it, the triggers stay pending

    def _run_pending(self, state: StateStore) -> None:
        triggers = state.claim_triggers()
        if not triggers:
            return
        ids = [t.id for t in triggers]
        scope = scope_of(triggers)
        try:
            result = self.run(SyncOptions(mode="delta", scope=scope), state)
        except Exception as exc:  # the run could not even start (a config or state problem)
            self._failed(state, triggers, None, f"{type(exc).__name__}: {exc}")
            return
        self.runs += 1
        self.last_result = result
        if result.status == "refused" and result.error_kind == "state_locked":
            state.finish_triggers(ids, run_id=None, status="pending")  # lost the race for the lock: wait
            return
        if result.status == "success":
            state.finish_triggers(ids, run_id=result.run_id, status="done")
            log.info("webhook delta run %s (%s): success", result.run_id, scope.describe())
            return
        self._failed(state, triggers, result.run_id, result.error or result.status)

    def _failed(self, state: StateStore, triggers: list[Trigger], run_id: int | None, error: str) -> None:
        attempts = max(t.attempts for t in triggers)
        given_up = attempts >= self.max_attempts
        status = "failed" if given_up else "pending"
        state.finish_triggers([t.id for t in triggers], run_id=run_id, status=status, error=error)
        self._retry_at = time.monotonic() + self.backoff * min(2 ** (attempts - 1), 16)
        log.error(
            "webhook delta run %s failed (attempt %d of %d%s): %s",
            run_id,
            attempts,
            self.max_attempts,
            ", given up" if given_up else f", again in {self._retry_at - time.monotonic():.0f} s",
            error,
        )

    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closed.is_set()

    def status(self, state: StateStore) -> dict[str, Any]:
        """What ``GET /status`` shows: pending triggers, the last run, the failures."""
        last = self.last_result
        failure = state.last_trigger_failure()
        return {
            "triggers": state.trigger_counts(),
            "runs": self.runs,
            "last_run": None
            if last is None
            else {"run_id": last.run_id, "status": last.status, "scope": last.scope, "error": last.error},
            "last_failure": None
            if failure is None
            else {"trigger": failure.id, "run_id": failure.run_id, "error": failure.error},
        }
