"""Retry policy for reads (and the provably-unsent writes), with one log line per retry and per final failure.

The loop is ours rather than a retry library's so that the wait it logs is the wait it takes, and no
library event (``stamina.retry_scheduled``) ever reaches the log: see ``dsobridge.retrylog``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from dsobridge.dynaccount.errors import (
    BadResponse,
    DynaccountError,
    RateLimited,
    ServerError,
    TransportError,
)
from dsobridge.retrylog import give_up_line, retry_line, status_cause

T = TypeVar("T")
logger = logging.getLogger("dsobridge.dynaccount")

#: Why a write that failed after it may have left is not sent again (log line and exception text).
UNKNOWN_OUTCOME = "not re-sent: it may have reached Dynaccount, the outcome is unknown"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try a request again.

    ``attempts`` counts the first try (1 = never retry); ``timeout`` bounds the total time in seconds spent
    retrying (a wait that would end past it is not taken); backoff is exponential from ``wait_initial``
    capped at ``wait_max`` plus up to ``wait_jitter`` of random jitter; a 429's ``Retry-After`` replaces the
    backoff, capped at ``retry_after_cap``.
    """

    attempts: int = 5
    wait_initial: float = 0.2
    wait_max: float = 5.0
    timeout: float = 60.0
    retry_after_cap: float = 60.0
    wait_jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")

    @classmethod
    def never(cls) -> RetryPolicy:
        """One attempt, no retry."""
        return cls(attempts=1)

    def backoff(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1-based) when the server did not say how long."""
        jitter = random.uniform(0, self.wait_jitter) if self.wait_jitter else 0.0
        return min(self.wait_max, self.wait_initial * 2 ** (retry - 1) + jitter)

    def wait_for(self, exc: DynaccountError, retry: int) -> float:
        """The wait before retry number ``retry`` after ``exc``: the capped Retry-After, else the backoff."""
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return max(0.0, min(exc.retry_after, self.retry_after_cap))
        return self.backoff(retry)


def is_retryable(exc: BaseException, *, idempotent: bool) -> bool:
    """Reads retry on transport errors, 429, 5xx and unreadable answers; writes only when provably unsent."""
    if isinstance(exc, RateLimited):
        return True  # the server refused before doing anything
    if not isinstance(exc, DynaccountError):
        return False
    if idempotent:
        return isinstance(exc, TransportError | ServerError | BadResponse)
    return isinstance(exc, TransportError) and exc.unsent


def is_transient(exc: BaseException) -> bool:
    """The failures a retry may cure (whether this call may be retried or not)."""
    return isinstance(exc, TransportError | ServerError | BadResponse | RateLimited)


def cause_of(exc: DynaccountError) -> str:
    """The cause as the log line says it: ``HTTP 503``, ``HTTP 429 Retry-After 3``, ``timeout`` …"""
    if isinstance(exc, TransportError):
        return exc.cause
    if isinstance(exc, BadResponse):
        return "unreadable answer"
    if isinstance(exc, RateLimited):
        return status_cause(exc.status or 429, exc.retry_after)
    if exc.status is not None and exc.status >= 400:
        return status_cause(exc.status)
    return f"server error (HTTP {exc.status})" if exc.status is not None else "server error"


def call_with_retry(
    policy: RetryPolicy,
    func: Callable[[], T],
    *,
    idempotent: bool,
    operation: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``func`` under ``policy``; the last error propagates unchanged when no further attempt is made.

    Each retry logs one WARNING line, and a transient failure that ends the call one ERROR line; refusals
    (validation, auth, not found) are the caller's to report and are not logged here.
    """
    started = time.monotonic()
    attempt = 1
    while True:
        try:
            return func()
        except DynaccountError as exc:
            if not is_transient(exc):
                raise
            cause = cause_of(exc)
            wait, why = _next_wait(policy, exc, attempt, idempotent, time.monotonic() - started)
            if wait is None:
                logger.error(give_up_line(operation, cause, attempt, policy.attempts, why))
                raise
            attempt += 1
            logger.warning(retry_line(operation, cause, attempt, policy.attempts, wait))
        sleep(wait)


def _next_wait(
    policy: RetryPolicy, exc: DynaccountError, attempt: int, idempotent: bool, elapsed: float
) -> tuple[float | None, str]:
    """(the wait before the next attempt, "") — or (None, why there is none) when the call ends here."""
    if not is_retryable(exc, idempotent=idempotent):
        return None, UNKNOWN_OUTCOME
    if attempt >= policy.attempts:
        return None, ""
    wait = policy.wait_for(exc, attempt)
    if elapsed + wait > policy.timeout:
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return None, f"Retry-After beyond the {policy.timeout:g} s retry budget"
        return None, f"retry budget of {policy.timeout:g} s used up"
    return wait, ""
