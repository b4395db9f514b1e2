"""Retry policy for reads (and the provably-unsent writes), on top of ``stamina``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import stamina

from dsobridge.dynaccount.errors import (
    BadResponse,
    DynaccountError,
    RateLimited,
    ServerError,
    TransportError,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try a request again.

    ``attempts`` counts the first try (1 = never retry); ``timeout`` bounds the total time in seconds spent
    retrying; backoff is exponential from ``wait_initial`` capped at ``wait_max`` plus up to ``wait_jitter``
    of random jitter; a 429's ``Retry-After`` replaces the backoff, capped at ``retry_after_cap``.
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


def is_retryable(exc: BaseException, *, idempotent: bool) -> bool:
    """Reads retry on transport errors, 429, 5xx and unreadable answers; writes only when provably unsent."""
    if isinstance(exc, RateLimited):
        return True  # the server refused before doing anything
    if not isinstance(exc, DynaccountError):
        return False
    if idempotent:
        return isinstance(exc, TransportError | ServerError | BadResponse)
    return isinstance(exc, TransportError) and exc.connect_failed


def call_with_retry(
    policy: RetryPolicy,
    func: Callable[[], T],
    *,
    idempotent: bool,
    on_retry: Callable[[DynaccountError, float | None], None] | None = None,
) -> T:
    """Call ``func`` under ``policy``; the last error propagates unchanged when attempts run out.

    A ``Retry-After`` that would end past ``policy.timeout`` (counted from the first attempt) is not waited
    for: the ``RateLimited`` is raised at once, so the total time stays bounded by ``timeout``.
    """
    if policy.attempts <= 1:
        return func()
    started = time.monotonic()

    def decide(exc: Exception) -> bool | float:
        if not is_retryable(exc, idempotent=idempotent):
            return False
        wait: float | None = None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            wait = max(0.0, min(exc.retry_after, policy.retry_after_cap))
            if time.monotonic() - started + wait > policy.timeout:
                return False
        if on_retry is not None:
            on_retry(exc, wait)  # type: ignore[arg-type]
        return True if wait is None else wait

    for attempt in stamina.retry_context(
        on=decide,
        attempts=policy.attempts,
        timeout=policy.timeout,
        wait_initial=policy.wait_initial,
        wait_max=policy.wait_max,
        wait_jitter=policy.wait_jitter,
    ):
        with attempt:
            return func()
    raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover
