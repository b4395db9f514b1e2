"""Retries: reads retried (attempt counts, Retry-After honoured and capped), writes never replayed blindly."""

from __future__ import annotations

import httpx2
import pytest
import stamina
from dynaccount_testkit import API_ID, API_KEY, API_SECRET, FakeDynaccount, Reply, ok
from stamina.instrumentation import get_on_retry_hooks, set_on_retry_hooks

from dsobridge.dynaccount import (
    BadResponse,
    DynaccountClient,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
)

FAIL = Reply(503, {"error": {"server": "try later"}})


def test_read_retried_until_success(fake: FakeDynaccount, make_client) -> None:
    fake.reply(FAIL, Reply(200, "<html>truncated"), ok([{"id": 1}]))
    client = make_client(retry=RetryPolicy(attempts=5))
    assert client.get("debtor") == [{"id": 1}]
    assert len(fake.seen) == 3
    assert client.requests_sent == 3


def test_read_gives_up_after_attempts(fake: FakeDynaccount, make_client) -> None:
    fake.handler = lambda seen: FAIL
    client = make_client(retry=RetryPolicy(attempts=4))
    with pytest.raises(ServerError):
        client.get("debtor")
    assert len(fake.seen) == 4


def test_iter_rows_page_failure_raises_after_retries(fake: FakeDynaccount, make_client) -> None:
    fake.reply(ok([{"id": 1}, {"id": 2}]), FAIL, FAIL, FAIL)
    rows = []
    with pytest.raises(ServerError):
        for row in make_client(retry=RetryPolicy(attempts=3)).iter_rows("debtor", page_size=2):
            rows.append(row)
    assert rows == [{"id": 1}, {"id": 2}]
    assert len(fake.seen) == 4


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.put("debtor", 0, {"name": "x"}),
        lambda c: c.insert_bulk("debtor", [{"name": "x"}]),
        lambda c: c.delete("debtor", 5),
        lambda c: c.action("book_draft", {"draft_id": 1}),
        lambda c: c.upload_voucher("l", [("a.pdf", b"x")], "me"),
    ],
)
def test_writes_are_never_replayed_on_5xx_or_bad_answer(fake: FakeDynaccount, make_client, call) -> None:
    fake.handler = lambda seen: FAIL
    client = make_client(retry=RetryPolicy(attempts=5))
    with pytest.raises(ServerError):
        call(client)
    assert len(fake.seen) == 1
    fake.handler = lambda seen: Reply(200, "<html>")
    with pytest.raises(BadResponse):
        call(client)
    assert len(fake.seen) == 2


def test_write_retried_on_429_since_nothing_was_done(fake: FakeDynaccount, make_client) -> None:
    fake.reply(
        Reply(429, {"error": {"rate_limit": "Too many requests"}}, {"retry-after": "0"}), ok([{"id": 9}])
    )
    assert make_client(retry=RetryPolicy(attempts=3)).put("debtor", 0, {"name": "x"}) == {"id": 9}
    assert len(fake.seen) == 2


class _Flaky(httpx2.BaseTransport):
    def __init__(self, exc: Exception, then: httpx2.Response | None = None) -> None:
        self.exc, self.then, self.calls = exc, then, 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.calls += 1
        if self.then is not None and self.calls > 1:
            return self.then
        raise self.exc


def _client(transport: httpx2.BaseTransport, attempts: int = 3) -> DynaccountClient:
    return DynaccountClient(
        API_ID, API_KEY, API_SECRET, transport=transport, retry=RetryPolicy(attempts=attempts)
    )


def test_read_retried_on_read_timeout() -> None:
    transport = _Flaky(httpx2.ReadTimeout("timed out"), httpx2.Response(200, json={"result": [{"id": 1}]}))
    assert _client(transport).get("debtor") == [{"id": 1}]
    assert transport.calls == 2


def test_write_not_replayed_after_read_timeout_but_replayed_after_connect_error() -> None:
    transport = _Flaky(httpx2.ReadTimeout("timed out"))
    with pytest.raises(TransportError) as info:
        _client(transport).put("debtor", 0, {"name": "x"})
    assert transport.calls == 1 and info.value.connect_failed is False
    transport = _Flaky(httpx2.ConnectError("refused"), httpx2.Response(200, json={"result": [{"id": 2}]}))
    assert _client(transport).put("debtor", 0, {"name": "x"}) == {"id": 2}
    assert transport.calls == 2


@pytest.fixture
def observed_waits():
    """Real waits (testing mode off) recorded through stamina's instrumentation."""
    waits: list[float] = []
    old_hooks = get_on_retry_hooks()
    set_on_retry_hooks([lambda details: waits.append(details.wait_for)])
    with stamina.set_testing(False):
        yield waits
    set_on_retry_hooks(old_hooks)


def test_retry_after_is_honoured_and_capped(fake: FakeDynaccount, make_client, observed_waits) -> None:
    limited = Reply(429, {"error": {"rate_limit": "Too many requests"}}, {"retry-after": "0.03"})
    capped = Reply(429, {"error": {"rate_limit": "Too many requests"}}, {"retry-after": "3600"})
    fake.reply(limited, capped, ok([{"id": 1}]))
    policy = RetryPolicy(attempts=5, wait_initial=0.5, wait_max=0.5, wait_jitter=0.0, retry_after_cap=0.05)
    assert make_client(retry=policy).get("debtor") == [{"id": 1}]
    assert observed_waits == [0.03, 0.05]


def test_backoff_grows_and_is_bounded(fake: FakeDynaccount, make_client, observed_waits) -> None:
    fake.handler = lambda seen: FAIL
    policy = RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.03, wait_jitter=0.0)
    with pytest.raises(ServerError):
        make_client(retry=policy).get("debtor")
    assert observed_waits == pytest.approx([0.01, 0.02, 0.03])
    assert len(fake.seen) == 4


def test_rate_limited_after_attempts_reraises(fake: FakeDynaccount, make_client) -> None:
    fake.handler = lambda seen: Reply(429, {"error": {"rate_limit": "Too many"}}, {"retry-after": "1"})
    with pytest.raises(RateLimited) as info:
        make_client(retry=RetryPolicy(attempts=2)).get("debtor")
    assert info.value.retry_after == 1.0
    assert len(fake.seen) == 2


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    assert RetryPolicy.never().attempts == 1


def test_retry_after_beyond_the_time_budget_is_not_waited_for(fake: FakeDynaccount, make_client) -> None:
    fake.handler = lambda seen: Reply(429, {"error": {"rate_limit": "Too many"}}, {"retry-after": "30"})
    policy = RetryPolicy(attempts=5, timeout=1.0, retry_after_cap=60.0)
    with pytest.raises(RateLimited) as info:
        make_client(retry=policy).get("debtor")
    assert info.value.retry_after == 30.0
    assert len(fake.seen) == 1  # raised at once: waiting 30 s would break the 1 s budget


def test_total_time_budget_counts_time_already_spent(
    fake: FakeDynaccount, make_client, observed_waits
) -> None:
    fake.handler = lambda seen: Reply(429, {"error": {"rate_limit": "Too many"}}, {"retry-after": "0.2"})
    policy = RetryPolicy(attempts=5, timeout=0.3, retry_after_cap=60.0)
    with pytest.raises(RateLimited):
        make_client(retry=policy).get("debtor")
    assert observed_waits == [0.2]  # the second 0.2 s wait would end at ~0.4 s > 0.3 s
    assert len(fake.seen) == 2
