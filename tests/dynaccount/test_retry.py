"""Retries: reads retried (attempt counts, Retry-After honoured and capped), writes never replayed blindly."""

from __future__ import annotations

import logging
import time

import httpx2
import pytest
from dynaccount_testkit import API_ID, API_KEY, API_SECRET, FakeDynaccount, Reply, ok

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
    assert transport.calls == 1 and info.value.unsent is False
    transport = _Flaky(httpx2.ConnectError("refused"), httpx2.Response(200, json={"result": [{"id": 2}]}))
    assert _client(transport).put("debtor", 0, {"name": "x"}) == {"id": 2}
    assert transport.calls == 2


class _HeadWriteFails(httpx2.BaseTransport):
    """Reports through httpcore2's ``trace`` extension what a real pool reports when writing the request's
    head fails (a connection reset just before the write), then the read failure that follows."""

    def __init__(self, head_event: str) -> None:
        self.head_event, self.calls = head_event, 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.calls += 1
        if self.calls > 1:
            return httpx2.Response(200, json={"result": [{"id": 3}]})
        trace = request.extensions["trace"]
        trace("http11.send_request_headers.started", {"request": request})
        trace(self.head_event, {"exception": OSError("reset")})
        raise httpx2.RemoteProtocolError("Server disconnected without sending a response.")


def test_write_resent_when_its_head_could_not_be_written() -> None:
    transport = _HeadWriteFails("http11.send_request_headers.failed")
    assert _client(transport).put("debtor", 0, {"name": "x"}) == {"id": 3}
    assert transport.calls == 2


def test_write_not_resent_once_its_head_was_written() -> None:
    transport = _HeadWriteFails("http11.send_request_headers.complete")
    with pytest.raises(TransportError) as info:
        _client(transport).put("debtor", 0, {"name": "x"})
    assert transport.calls == 1 and info.value.unsent is False
    assert info.value.cause == "connection closed"
    assert str(info.value).endswith("not re-sent: it may have reached Dynaccount, the outcome is unknown")


@pytest.fixture
def observed_waits(slept: list[float]) -> list[float]:
    return slept


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


def test_total_time_budget_counts_time_already_spent(fake: FakeDynaccount, make_client) -> None:
    fake.handler = lambda seen: Reply(429, {"error": {"rate_limit": "Too many"}}, {"retry-after": "0.2"})
    policy = RetryPolicy(attempts=5, timeout=0.3, retry_after_cap=60.0)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # really waits: the budget is counted on the clock
        waits.append(seconds)
        time.sleep(seconds)

    with pytest.raises(RateLimited):
        make_client(retry=policy, sleep=sleep).get("debtor")
    assert waits == [0.2]  # the second 0.2 s wait would end at ~0.4 s > 0.3 s
    assert len(fake.seen) == 2


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int, str]]:
    return [
        (r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith(("dsobridge", "st"))
    ]


def test_a_retry_is_one_readable_line_and_the_final_failure_one_error_line(
    fake: FakeDynaccount, make_client, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.reply(
        ok([{"id": n} for n in range(1, 11)]), ok([{"id": n} for n in range(11, 21)]), FAIL, FAIL, FAIL
    )
    policy = RetryPolicy(attempts=3, wait_initial=0.5, wait_max=5.0, wait_jitter=0.0)
    with pytest.raises(ServerError):
        list(make_client(retry=policy).iter_rows("debtor_invoice", page_size=10))
    name = "dsobridge.dynaccount"
    assert [line for line in _lines(caplog) if line[1] >= logging.WARNING] == [
        (
            name,
            logging.WARNING,
            "retrying get debtor_invoice page 3 after HTTP 503 (attempt 2 of 3, waiting 0.5 s)",
        ),
        (
            name,
            logging.WARNING,
            "retrying get debtor_invoice page 3 after HTTP 503 (attempt 3 of 3, waiting 1.0 s)",
        ),
        (name, logging.ERROR, "giving up on get debtor_invoice page 3 after HTTP 503 (attempt 3 of 3)"),
    ]
    assert not any(
        r.name.startswith("stamina") or "retry_scheduled" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize(
    ("reply", "cause"),
    [
        (Reply(429, {"error": {"rate_limit": "Too many"}}, {"retry-after": "3"}), "HTTP 429 Retry-After 3"),
        (Reply(502, "<html>bad gateway</html>"), "HTTP 502"),
        (Reply(200, "<html>truncated"), "unreadable answer"),
    ],
)
def test_causes_of_answers(fake: FakeDynaccount, make_client, caplog, reply: Reply, cause: str) -> None:
    caplog.set_level(logging.WARNING)
    fake.reply(reply, ok([{"id": 1}]))
    make_client(retry=RetryPolicy(attempts=2, wait_jitter=0.0, wait_initial=0.2, retry_after_cap=2)).get(
        "unit"
    )
    wait = "2.0" if "Retry-After" in cause else "0.2"
    assert [r.getMessage() for r in caplog.records] == [
        f"retrying get unit after {cause} (attempt 2 of 2, waiting {wait} s)"
    ]


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (httpx2.ReadTimeout("timed out"), "timeout"),
        (httpx2.ConnectTimeout("timed out"), "connect timeout"),
        (httpx2.RemoteProtocolError("Server disconnected without sending a response."), "connection closed"),
        (httpx2.ReadError("EOF"), "connection closed"),
    ],
)
def test_causes_of_transport_failures(caplog, exc: Exception, cause: str) -> None:
    caplog.set_level(logging.WARNING)
    transport = _Flaky(exc, httpx2.Response(200, json={"result": []}))
    client = DynaccountClient(
        API_ID, API_KEY, API_SECRET, transport=transport, retry=RetryPolicy(attempts=2), sleep=lambda s: None
    )
    client.get("debtor")
    (record,) = caplog.records
    assert record.getMessage().startswith(f"retrying get debtor after {cause} (attempt 2 of 2, waiting ")


def test_a_write_that_may_have_left_is_one_error_line(fake: FakeDynaccount, make_client, caplog) -> None:
    caplog.set_level(logging.WARNING)
    fake.handler = lambda seen: FAIL
    with pytest.raises(ServerError):
        make_client(retry=RetryPolicy(attempts=5)).put("debtor", 0, {"name": "x"})
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.ERROR,
            "giving up on put debtor after HTTP 503 (attempt 1 of 5, "
            "not re-sent: it may have reached Dynaccount, the outcome is unknown)",
        )
    ]


def test_refusals_are_not_logged_as_failures(fake: FakeDynaccount, make_client, caplog) -> None:
    caplog.set_level(logging.WARNING)
    fake.reply(Reply(400, {"error": {"name": "Required"}}))
    with pytest.raises(Exception, match="Required"):
        make_client().put("debtor", 0, {"name": ""})
    assert caplog.records == []


def test_budget_reasons_in_the_error_line(fake: FakeDynaccount, make_client, caplog) -> None:
    caplog.set_level(logging.WARNING)
    fake.handler = lambda seen: Reply(429, {"error": {"rate_limit": "Too many"}}, {"retry-after": "30"})
    with pytest.raises(RateLimited):
        make_client(retry=RetryPolicy(attempts=5, timeout=10.0)).get("debtor")
    fake.handler = lambda seen: FAIL
    with pytest.raises(ServerError):
        make_client(retry=RetryPolicy(attempts=5, timeout=0.5, wait_initial=1.0, wait_jitter=0)).get("debtor")
    assert [r.getMessage() for r in caplog.records] == [
        "giving up on get debtor after HTTP 429 Retry-After 30 (attempt 1 of 5, "
        "Retry-After beyond the 10 s retry budget)",
        "giving up on get debtor after HTTP 503 (attempt 1 of 5, retry budget of 0.5 s used up)",
    ]
