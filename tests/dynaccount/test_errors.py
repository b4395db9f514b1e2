"""Every error shape of spec §5 / docs/dynaccount-wire.md mapped onto the exception tree."""

from __future__ import annotations

import pytest
from dynaccount_testkit import FakeDynaccount, Reply, ok

from dsobridge.dynaccount import (
    AuthError,
    BadResponse,
    DynaccountError,
    NotFound,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationError,
)

NO_RETRY = RetryPolicy.never()


def test_wrong_secret_is_auth_error_with_helpful_message(fake: FakeDynaccount, make_client) -> None:
    client = make_client(api_secret="f" * 40, retry=NO_RETRY)
    with pytest.raises(AuthError) as info:
        client.get("debtor")
    assert str(info.value) == "Dynaccount refused the request signature: check API_SECRET for accounting 1234"
    assert info.value.status == 401
    assert info.value.error == {"hash": "Invalid hash"}


def test_unknown_key_is_auth_error(fake: FakeDynaccount, make_client) -> None:
    fake.reply(Reply(401, {"error": {"auth": "Unknown API_ID or API_KEY"}}))
    with pytest.raises(AuthError, match="check API_ID 1234 and its API_KEY") as info:
        make_client(retry=NO_RETRY).get("debtor")
    assert info.value.status == 401


def test_put_field_errors(fake: FakeDynaccount, make_client) -> None:
    fake.reply(Reply(400, {"error": {"name": "Required", "email": "Invalid e-mail"}}))
    with pytest.raises(ValidationError) as info:
        make_client().put("debtor", 0, {"email": "x"})
    assert info.value.errors == {"name": "Required", "email": "Invalid e-mail"}
    assert info.value.status == 400
    assert str(info.value) == "Dynaccount rejected put debtor: name: Required; email: Invalid e-mail"
    assert len(fake.seen) == 1  # never replayed


def test_insert_bulk_line_errors_have_int_keys(fake: FakeDynaccount, make_client) -> None:
    fake.reply(Reply(400, {"error": {"0": {"name": "Required"}, "3": {"account_id_": "Exists"}}}))
    with pytest.raises(ValidationError) as info:
        make_client().insert_bulk("account", [{"name": ""}] * 4)
    assert info.value.errors == {0: {"name": "Required"}, 3: {"account_id_": "Exists"}}
    assert "line 0: name: Required" in str(info.value)


@pytest.mark.parametrize(
    ("reply", "exc_type", "status"),
    [
        (Reply(404, {"error": {"not_found": "Unknown table 'debtorz'"}}), NotFound, 404),
        (
            Reply(400, {"error": {"action": "Action 'X' is not supported by the sandbox"}}),
            ValidationError,
            400,
        ),
        (Reply(413, {"error": {"request": "Request body too large (limit 20 MiB)"}}), ValidationError, 413),
        (Reply(400, {"error": {"request": "Malformed body"}}), ValidationError, 400),
        (Reply(500, {"error": {"server": "boom"}}), ServerError, 500),
        (Reply(502, {"error": {"server": "bad gateway"}}), ServerError, 502),
        (Reply(503, "<html>maintenance</html>"), ServerError, 503),
        (Reply(200, {"error": {"weird": ["kept", "verbatim"]}}), ValidationError, 200),
        (Reply(200, {"error": "plain text error"}), ValidationError, 200),
        (Reply(200, {"error": {"server": "late failure"}}), ServerError, 200),
        (Reply(200, "<html>proxy</html>"), BadResponse, 200),
        (Reply(200, {"rows": []}), BadResponse, 200),
        (Reply(200, {"result": [1, 2]}), BadResponse, 200),
        (Reply(404, "Not Found"), NotFound, 404),
    ],
)
def test_error_shapes(fake: FakeDynaccount, make_client, reply: Reply, exc_type: type, status: int) -> None:
    fake.reply(reply)
    with pytest.raises(exc_type) as info:
        make_client(retry=NO_RETRY).get("debtor")
    assert type(info.value) is exc_type
    assert info.value.status == status
    assert isinstance(info.value, DynaccountError)


def test_unknown_error_shape_is_kept_verbatim(fake: FakeDynaccount, make_client) -> None:
    fake.reply(Reply(200, {"error": {"weird": ["kept", "verbatim"]}}))
    with pytest.raises(ValidationError) as info:
        make_client().action("book_draft")
    assert info.value.error == {"weird": ["kept", "verbatim"]}
    assert info.value.errors == {"weird": ["kept", "verbatim"]}


def test_rate_limited_carries_retry_after(fake: FakeDynaccount, make_client) -> None:
    fake.reply(Reply(429, {"error": {"rate_limit": "Too many requests"}}, {"retry-after": "7"}))
    with pytest.raises(RateLimited) as info:
        make_client(retry=NO_RETRY).get("debtor")
    assert info.value.retry_after == 7.0
    assert info.value.status == 429
    assert str(info.value) == "Dynaccount is rate limiting get debtor, retry after 7 s"


def test_empty_error_is_success(fake: FakeDynaccount, make_client) -> None:
    fake.reply(Reply(200, {"result": [{"id": 1}], "error": {}}))
    assert make_client().get("debtor") == [{"id": 1}]


def test_document_json_error(fake: FakeDynaccount, make_client) -> None:
    fake.reply(Reply(404, {"error": {"not_found": "Unknown invoice 99"}}))
    with pytest.raises(NotFound) as info:
        make_client(retry=NO_RETRY).document("invoice", 99)
    assert str(info.value) == "Dynaccount: document invoice 99: not found (Unknown invoice 99)"


def test_connect_failure_is_transport_error() -> None:
    from dsobridge.dynaccount import DynaccountClient

    client = DynaccountClient(1234, "k" * 40, "s" * 40, base_url="http://127.0.0.1:9", retry=NO_RETRY)
    with client, pytest.raises(TransportError) as info:
        client.get("debtor")
    assert info.value.unsent is True
    assert info.value.status is None
    assert "get debtor" in str(info.value) and "127.0.0.1:9" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_successful_row_after_ok_helper(fake: FakeDynaccount, make_client) -> None:
    fake.reply(ok([{"id": 3}]))
    assert make_client().get("debtor", 3) == [{"id": 3}]


def test_broken_gzip_is_bad_response(fake: FakeDynaccount, make_client) -> None:
    fake.reply(
        Reply(200, b"not gzip at all", {"content-encoding": "gzip", "content-type": "application/json"})
    )
    with pytest.raises(BadResponse, match="decompressed"):
        make_client(retry=NO_RETRY).get("debtor")
