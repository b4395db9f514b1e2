"""The API key (in the URL path) and the secret never reach a log record, an exception text or a repr."""

from __future__ import annotations

import logging
import socket

import httpx2
import pytest
from dynaccount_testkit import API_ID, API_SECRET, FakeDynaccount, Reply, ok

from dsobridge.dynaccount import DynaccountClient, DynaccountError, RetryPolicy
from dsobridge.dynaccount.redact import redact_path

KEY = "deadbeef" * 5


def _texts(record: logging.LogRecord) -> list[str]:
    out = [record.getMessage(), str(record.args)]
    out += [str(v) for v in vars(record).values()]
    if record.exc_info and record.exc_info[1] is not None:
        out.append(repr(record.exc_info[1]))
    return out


def _assert_clean(*texts: str) -> None:
    for text in texts:
        assert KEY not in text
        assert API_SECRET not in text
        assert KEY[:20] not in text


def test_nothing_secret_in_logs_errors_or_reprs(fake: FakeDynaccount, make_client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    fake.reply(
        ok([{"id": 1}]),
        Reply(500, {"error": {"server": f"failed on /v5/{API_ID}/{KEY}/get/debtor/json/"}}),
        Reply(500, {"error": {"server": f"echo {KEY}"}}),
        Reply(400, {"error": {"name": f"bad {API_SECRET}"}}),
        Reply(200, f"<html>{KEY}</html>"),
    )
    client = make_client(api_key=KEY, retry=RetryPolicy(attempts=2))
    errors: list[DynaccountError] = []
    assert client.get("debtor", where={"name": "x"}) == [{"id": 1}]
    with pytest.raises(DynaccountError) as info:
        client.get("debtor")
    errors.append(info.value)
    for call in (lambda: client.put("debtor", 0, {"name": ""}), lambda: client.put("debtor", 1, {})):
        with pytest.raises(DynaccountError) as info:
            call()
        errors.append(info.value)
    wrong = make_client(api_key=KEY, api_secret="f" * 40, retry=RetryPolicy.never())
    with pytest.raises(DynaccountError) as info:
        wrong.get("debtor")
    errors.append(info.value)
    assert caplog.records, "the client and httpx2 must have logged something"
    assert any("/v5/1234/***/get/debtor/json/" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        _assert_clean(*_texts(record))
    for exc in errors:
        _assert_clean(str(exc), repr(exc), str(exc.error), str(exc.args))
    _assert_clean(repr(client), str(vars(client)), repr(RetryPolicy()))


def test_transport_error_text_is_clean(caplog) -> None:
    caplog.set_level(logging.DEBUG)

    class Boom(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            raise httpx2.ReadError(f"connection reset while reading {request.url}")

    client = DynaccountClient(API_ID, KEY, API_SECRET, transport=Boom(), retry=RetryPolicy(attempts=2))
    with pytest.raises(DynaccountError) as info:
        client.get("debtor")
    _assert_clean(str(info.value), repr(info.value))
    assert "/v5/1234/***/get/debtor/json/" in str(info.value)
    assert info.value.__cause__ is None
    for record in caplog.records:
        _assert_clean(*_texts(record))


def test_redact_path() -> None:
    assert redact_path(f"POST http://h/v5/1234/{KEY}/get/debtor/json/?a=1") == (
        "POST http://h/v5/1234/***/get/debtor/json/?a=1"
    )
    assert redact_path(f"/prefix/v7/99/{KEY}/") == "/prefix/v7/99/***/"


def test_secrets_echoed_as_error_keys_are_scrubbed(fake: FakeDynaccount, make_client) -> None:
    fake.reply(Reply(400, {"error": {KEY: f"unknown {API_SECRET}", "name": {KEY: "x"}}}))
    client = make_client(api_key=KEY)
    with pytest.raises(DynaccountError) as info:
        client.put("debtor", 0, {"name": "x"})
    exc = info.value
    assert exc.error == {"***": "unknown ***", "name": {"***": "x"}}
    assert exc.errors == {"***": "unknown ***", "name": {"***": "x"}}
    _assert_clean(str(exc), repr(exc), str(exc.error), str(exc.errors))


def test_prepared_request_repr_shows_only_the_redacted_path(make_client) -> None:
    prepared = make_client(api_key=KEY)._prepare("get", ("debtor",), query="name=x")
    assert KEY in prepared.url  # what is sent …
    assert repr(prepared) == "PreparedRequest(method='POST', log_path='/v5/1234/***/get/debtor/json/')"


def _frame_locals(exc: BaseException) -> list[str]:
    """repr of every local variable of every frame the traceback keeps (what Sentry/rich would show)."""
    out = []
    tb = exc.__traceback__
    while tb is not None:
        out += [
            f"{tb.tb_frame.f_code.co_name}.{name}={value!r}" for name, value in tb.tb_frame.f_locals.items()
        ]
        tb = tb.tb_next
    return out


def test_traceback_frame_locals_do_not_hold_the_url(fake: FakeDynaccount, make_client) -> None:
    class Boom(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            raise httpx2.ReadError("connection reset")

    failures = []
    client = DynaccountClient(API_ID, KEY, API_SECRET, transport=Boom(), retry=RetryPolicy.never())
    for call in (lambda: client.get("debtor"), lambda: client.upload_voucher("l", [("a.pdf", b"x")], "me")):
        with pytest.raises(DynaccountError) as info:
            call()
        failures.append(info.value)
    fake.reply(Reply(503, {"error": {"server": "down"}}))
    with pytest.raises(DynaccountError) as info:
        make_client(api_key=KEY, retry=RetryPolicy.never()).upload_voucher("l", [("a.pdf", b"x")], "me")
    failures.append(info.value)
    for exc in failures:
        texts = _frame_locals(exc)
        assert any(t.startswith("_send.") or t.startswith("_json.") for t in texts)
        _assert_clean(*texts)


def test_retry_and_failure_lines_hold_no_key_secret_or_path(
    fake: FakeDynaccount, make_client, caplog
) -> None:
    """The WARNING/ERROR lines of retries name the operation and the cause: never the URL path (which holds
    the key), the key or the secret, whatever the server or the transport says."""
    caplog.set_level(logging.DEBUG)
    fake.reply(
        Reply(503, {"error": {"server": f"failed on /v5/{API_ID}/{KEY}/get/debtor/json/ {API_SECRET}"}}),
        Reply(429, {"error": {"rate_limit": f"slow down {KEY}"}}, {"retry-after": "0"}),
        Reply(200, f"<html>{KEY} {API_SECRET}</html>"),
        Reply(502, {"error": {"server": f"echo {KEY}"}}),
    )
    client = make_client(api_key=KEY, retry=RetryPolicy(attempts=4, wait_initial=0, wait_jitter=0))
    with pytest.raises(DynaccountError):
        client.get("debtor")
    fake.reply(Reply(503, {"error": {"server": f"/v7/{API_ID}/{KEY}/put/debtor/"}}))
    with pytest.raises(DynaccountError):
        client.put("debtor", 0, {"name": "x"})

    class Boom(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            raise httpx2.ReadError(f"connection reset while reading {request.url}")

    for version in ("v5", "v7"):
        boom = DynaccountClient(
            API_ID,
            KEY,
            API_SECRET,
            version=version,
            transport=Boom(),
            retry=RetryPolicy(attempts=2, wait_jitter=0),
            sleep=lambda seconds: None,
        )
        with pytest.raises(DynaccountError):
            list(boom.iter_rows("debtor_invoice"))
        with pytest.raises(DynaccountError):
            boom.upload_voucher("l", [("a.pdf", b"x")], "me")
    with socket.socket() as probe:  # a port nobody listens on: a real connect failure
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = DynaccountClient(
        API_ID,
        KEY,
        API_SECRET,
        base_url=f"http://127.0.0.1:{port}",
        retry=RetryPolicy(attempts=2, wait_jitter=0),
        sleep=lambda seconds: None,
    )
    with pytest.raises(DynaccountError):
        refused.get("debtor")

    lines = [r for r in caplog.records if r.name.startswith("dsobridge") and r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in lines] == [
        "retrying get debtor after HTTP 503 (attempt 2 of 4, waiting 0.00 s)",
        "retrying get debtor after HTTP 429 Retry-After 0 (attempt 3 of 4, waiting 0.00 s)",
        "retrying get debtor after unreadable answer (attempt 4 of 4, waiting 0.00 s)",
        "giving up on get debtor after HTTP 502 (attempt 4 of 4)",
        "giving up on put debtor after HTTP 503 (attempt 1 of 4, "
        "not re-sent: it may have reached Dynaccount, the outcome is unknown)",
        *[
            line
            for _ in ("v5", "v7")
            for line in (
                "retrying get debtor_invoice page 1 after connection closed (attempt 2 of 2, waiting 0.2 s)",
                "giving up on get debtor_invoice page 1 after connection closed (attempt 2 of 2)",
                "giving up on action upload_voucher after connection closed (attempt 1 of 2, "
                "not re-sent: it may have reached Dynaccount, the outcome is unknown)",
            )
        ],
        "retrying get debtor after connection refused (attempt 2 of 2, waiting 0.2 s)",
        "giving up on get debtor after connection refused (attempt 2 of 2)",
    ]
    for record in lines:
        texts = _texts(record)
        _assert_clean(*texts)
        assert not any(f"/{API_ID}/" in text or "/v5/" in text or "/v7/" in text for text in texts)
