"""MyDsoClient against httpx2.MockTransport: wire format, reports, errors, retries, the asynchronous path."""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
import tracemalloc
from datetime import date
from decimal import Decimal

import httpx2
import pytest

from dsobridge.mydso import (
    AccessDenied,
    BadResponse,
    Client,
    CsvOptions,
    ImportRejected,
    ImportReport,
    ImportTimeout,
    Item,
    MyDsoClient,
    RejectedRow,
    RowError,
    TransportError,
    User,
)
from dsobridge.sandbox import KeepAlive, LoopbackServer
from dsobridge.sandbox.mydso import MyDsoSandbox


def make_item(n: int = 1) -> Item:
    return Item(
        client_code="C0001",
        item_number=f"{n:08d}",
        item_type="FAC",
        item_date_issue=date(2025, 3, 13),
        item_date_due=date(2025, 3, 20),
        item_amount_initial_inc_tax=Decimal("6580.10"),
    )


OK = {
    "success": True,
    "error_code": None,
    "message": "ok",
    "file_type": "items",
    "mode": "STOCK",
    "rows": 2,
    "added": 1,
    "updated": 1,
    "unchanged": 0,
    "cleared": 3,
    "rejected": 0,
    "rejected_rows": [],
}


class Fake:
    """Scripted answers; records every request (method, url, headers, body)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []
        self.bodies: list[bytes] = []
        self.chunked: list[bool] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.chunked.append(request.headers.get("transfer-encoding") == "chunked")
        self.bodies.append(request.read())
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx2.Response):
            return answer
        status, body, *headers = answer
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx2.Response(status, content=content, headers=headers[0] if headers else {})


def client_for(fake: Fake, **kwargs) -> tuple[MyDsoClient, list[float]]:
    sleeps: list[float] = []
    client = MyDsoClient(
        "api-login", "s3cret-pw", transport=httpx2.MockTransport(fake), sleep=sleeps.append, **kwargs
    )
    return client, sleeps


def test_sync_import_wire_format_and_report(tmp_path):
    fake = Fake(
        (
            200,
            {
                **OK,
                "rejected": 1,
                "rejected_rows": [{"line": 3, "column": "client_code", "reason": "MISSING_REQUIRED"}],
                "extra": [1],
            },
        )
    )
    client, _ = client_for(fake)
    report = client.import_file("items", [make_item(1), make_item(2)], stock=True)
    request = fake.requests[0]
    assert request.method == "POST"
    assert str(request.url) == (
        "https://account.mydsomanager.com/api/items?encoding=UTF-8&clear_items_not_modified=true"
    )
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"api-login:s3cret-pw").decode()
    assert request.headers["content-type"] == "text/csv; charset=UTF-8"
    assert fake.chunked == [True]  # rows are streamed, not built in memory first
    assert fake.bodies[0].count(b"\r\n") == 3
    assert report == ImportReport(
        success=True,
        error_code=None,
        message="ok",
        file_type="items",
        mode="STOCK",
        rows=2,
        added=1,
        updated=1,
        unchanged=0,
        cleared=3,
        rejected=1,
        rejected_rows=[RejectedRow(3, "client_code", "MISSING_REQUIRED")],
    )
    assert report.raw["extra"] == [1]


def test_options_per_kind_and_bytes_and_paths(tmp_path):
    fake = Fake((200, OK))
    client, _ = client_for(fake, base_url="http://127.0.0.1:9/api")
    client.import_file("users", b'"user_email"\r\n"a@x.dk"\r\n', replace_users_association=True)
    path = tmp_path / "clients.csv"
    path.write_bytes(b'"client_code";"client_business_name"\r\n"C1";"\xc6r\xf8"\r\n')
    client.import_file("clients", path, encoding="ISO-8859-1")
    client.import_file("items", str(path), stock=False)
    urls = [str(r.url) for r in fake.requests]
    assert urls == [
        "http://127.0.0.1:9/api/users?encoding=UTF-8&replace_users_association=1",
        "http://127.0.0.1:9/api/clients?encoding=ISO-8859-1",
        "http://127.0.0.1:9/api/items?encoding=UTF-8&clear_items_not_modified=false",
    ]
    assert fake.bodies[1] == path.read_bytes()
    assert fake.requests[1].headers["content-type"] == "text/csv; charset=ISO-8859-1"
    with pytest.raises(ValueError, match="items files only"):
        client.import_file("clients", path, stock=True)
    with pytest.raises(ValueError, match="users files only"):
        client.import_file("items", path, replace_users_association=False)
    with pytest.raises(FileNotFoundError):
        client.import_file("items", tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="disagrees"):
        client.import_file("items", [make_item()], encoding="UTF-8", options=CsvOptions(encoding="cp1252"))


def test_rows_are_written_in_the_declared_encoding():
    fake = Fake((200, OK))
    client, _ = client_for(fake)
    client.import_file("clients", [Client("C1", "Brødrene Ærø")], encoding="ISO-8859-1", options=None)
    assert str(fake.requests[0].url).endswith("/api/clients?encoding=ISO-8859-1")
    assert "Brødrene Ærø".encode("latin-1") in fake.bodies[0]


@pytest.mark.parametrize(
    ("answer", "error", "code"),
    [
        ((401, b"Unauthorized"), AccessDenied, "ACCESS_DENIED"),
        ((200, {"success": False, "error_code": "ACCESS_DENIED"}), AccessDenied, "ACCESS_DENIED"),
        (
            (400, {"success": False, "error_code": "CSV_BAD_SYNTAX", "message": "header: duplicate column"}),
            ImportRejected,
            "CSV_BAD_SYNTAX",
        ),
        ((413, {"success": False, "error_code": "TOO_LARGE"}), ImportRejected, "TOO_LARGE"),
        (
            (200, {"success": False, "error_code": "QUOTA_EXCEEDED_2027", "new_field": 1}),
            ImportRejected,
            "QUOTA_EXCEEDED_2027",
        ),
    ],
)
def test_file_level_errors(answer, error, code):
    client, _ = client_for(Fake(answer))
    with pytest.raises(error) as info:
        client.import_file("contacts", b"x")
    assert info.value.error_code == code
    assert "s3cret-pw" not in str(info.value)
    if error is ImportRejected:
        assert info.value.report.success is False
        assert info.value.report.raw == answer[1]


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        ((200, b"<html>maintenance</html>"), BadResponse, "HTTP 200: the answer is not JSON"),
        ((200, [1, 2]), BadResponse, "HTTP 200: the answer is not an import report (no 'success' field)"),
        ((200, {"success": True, "rows": "many"}), BadResponse, "HTTP 200: field 'rows' is not a count"),
        ((500, b"boom"), TransportError, "My DSO Manager answered HTTP 500"),
        ((503, b"busy"), TransportError, "My DSO Manager answered HTTP 503"),
        (httpx2.ConnectError("refused"), TransportError, "cannot reach My DSO Manager (ConnectError)"),
        (httpx2.ReadTimeout("slow"), TransportError, "timeout talking to My DSO Manager (ReadTimeout)"),
    ],
)
def test_bad_answers(answer, error, message):
    client, _ = client_for(Fake(answer))
    with pytest.raises(error) as info:
        client.import_file("contacts", b"x")
    assert str(info.value) == message


def test_stock_items_and_clients_are_retried_honouring_retry_after():
    fake = Fake((503, b"busy", {"Retry-After": "7"}), httpx2.ConnectError("reset"), (200, OK))
    client, sleeps = client_for(fake)
    report = client.import_file("items", [make_item(1)], stock=True)
    assert report.success and len(fake.requests) == 3
    assert sleeps == [7.0, 2.0]  # Retry-After, then the backoff of the second attempt
    assert fake.bodies[0] == fake.bodies[2]  # the rows were written again, identically
    fake = Fake((429, b"", {"Retry-After": "3600"}), (200, OK))
    client, sleeps = client_for(fake, max_retry_wait=30.0)
    client.import_file("clients", b'"client_code";"client_business_name"\r\n"C1";"A"\r\n')
    assert sleeps == [30.0]  # capped


def test_retries_are_bounded():
    fake = Fake((503, b"busy"))
    client, sleeps = client_for(fake, max_attempts=4)
    with pytest.raises(TransportError, match="HTTP 503"):
        client.import_file("clients", b"x")
    assert len(fake.requests) == 4 and sleeps == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("kind", "data", "stock"),
    [
        ("items", b"x", False),
        ("items", b"x", None),
        ("contacts", b"x", None),
        ("users", b"x", None),
        ("items", (make_item(i) for i in range(1, 3)), True),  # a generator cannot be replayed
        ("clients", (Client(f"C{i}", "A") for i in range(2)), None),
    ],
)
def test_non_idempotent_or_non_replayable_files_are_never_resent(kind, data, stock):
    fake = Fake((503, b"busy", {"Retry-After": "1"}))
    client, sleeps = client_for(fake)
    with pytest.raises(TransportError):
        client.import_file(kind, data, stock=stock)
    assert len(fake.requests) == 1 and sleeps == []


def test_a_bad_row_aborts_the_upload_with_row_error():
    fake = Fake((200, OK))
    client, _ = client_for(fake)
    with pytest.raises(RowError) as info:
        client.import_file("users", [User("a@x.dk"), User("b@x.dk"), User(None)])
    assert (info.value.row, info.value.column) == (3, "user_email")


def test_repr_and_messages_hold_no_secret():
    client, _ = client_for(Fake((401, b"")))
    assert repr(client) == "MyDsoClient(base_url='https://account.mydsomanager.com/api/')"
    with pytest.raises(AccessDenied) as info:
        client.import_file("items", b"x")
    assert "s3cret" not in repr(info.value) and "api-login" not in str(info.value)


def test_async_submit_poll_done():
    fake = Fake(
        (202, {"success": True, "job_id": "j-42", "status": "queued"}),
        (200, {"status": "queued"}),
        (200, {"status": "running"}, {"Retry-After": "2"}),
        (200, {"status": "reticulating"}),
        (200, {"status": "done", "report": {**OK, "rows": 2.0}}),
    )
    client, sleeps = client_for(fake, base_url="http://127.0.0.1:8/api/")
    report = client.import_file_async("items", [make_item(1)], stock=True, timeout=60)
    assert report.rows == 2 and report.cleared == 3
    assert [(r.method, str(r.url)) for r in fake.requests] == [
        ("POST", "http://127.0.0.1:8/apiPutFiles/items?encoding=UTF-8&clear_items_not_modified=true"),
        ("GET", "http://127.0.0.1:8/apiPutFiles/j-42"),
        ("GET", "http://127.0.0.1:8/apiPutFiles/j-42"),
        ("GET", "http://127.0.0.1:8/apiPutFiles/j-42"),
        ("GET", "http://127.0.0.1:8/apiPutFiles/j-42"),
    ]
    assert sleeps == [0.2, 2.0, pytest.approx(0.512)]


def test_async_failures():
    rejected = {"success": False, "error_code": "CSV_EMPTY", "message": "no data row"}
    client, _ = client_for(Fake((200, {"status": "failed", "report": rejected})))
    with pytest.raises(ImportRejected) as info:
        client.wait_async("j1")
    assert info.value.error_code == "CSV_EMPTY"
    client, _ = client_for(Fake((200, {"status": "failed"})))
    with pytest.raises(ImportRejected) as info:
        client.wait_async("j1")
    assert info.value.error_code == "JOB_FAILED"
    client, _ = client_for(Fake((200, {"status": "done", "report": rejected})))
    with pytest.raises(ImportRejected, match="CSV_EMPTY"):
        client.wait_async("j1")
    client, _ = client_for(Fake((401, b"")))
    with pytest.raises(AccessDenied):
        client.submit_async("items", b"x")
    client, _ = client_for(Fake((400, {"success": False, "error_code": "BAD_OPTION"})))
    with pytest.raises(ImportRejected, match="BAD_OPTION"):
        client.submit_async("items", b"x")
    client, _ = client_for(Fake((202, {"success": True})))
    with pytest.raises(BadResponse, match="no job_id"):
        client.submit_async("items", b"x")
    client, _ = client_for(Fake((404, {"error": "no such job"})))
    with pytest.raises(BadResponse, match="has no 'status'"):
        client.wait_async("nope")


def test_async_timeout():
    client, _ = client_for(Fake((200, {"status": "running"})))
    with pytest.raises(ImportTimeout, match=r"job j9 not done after 0\.01 s") as info:
        client.wait_async("j9", timeout=0.01)
    assert isinstance(info.value, TransportError)


def test_a_large_row_upload_is_streamed_not_buffered():
    received = {"bytes": 0, "chunks": 0}

    def consume(request: httpx2.Request) -> httpx2.Response:
        for chunk in request.stream:  # consumed as it comes, like a socket would
            received["bytes"] += len(chunk)
            received["chunks"] += 1
        return httpx2.Response(200, json={**OK, "rows": 50_000})

    rows = (
        Item(client_code="C0001", item_number=str(n), item_type="FAC", item_date_issue=date(2025, 3, 13),
             item_date_due=date(2025, 3, 20), item_amount_initial_inc_tax=Decimal("6580.10"))
        for n in range(50_000)
    )  # fmt: skip

    class Streaming(httpx2.BaseTransport):  # MockTransport reads the whole body first; a socket does not
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            return consume(request)

    client = MyDsoClient("u", "p", transport=Streaming())
    tracemalloc.start()
    try:
        report = client.import_file("items", rows, stock=True, options=CsvOptions(check_duplicates=False))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.rows == 50_000
    assert received["bytes"] > 5_000_000 and received["chunks"] == 1 + 25  # header + 50,000 / 2,048 rows
    assert peak < 2_500_000  # a few chunks, never the 5.5 MB body


def _refused(message: str = "[Errno 111] Connection refused") -> httpx2.ConnectError:
    exc = httpx2.ConnectError(message)
    exc.__cause__ = ConnectionRefusedError(111, "Connection refused")  # as httpx2 chains the OS error
    return exc


def _log(caplog) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "dsobridge.mydso"]


def test_a_retry_is_one_readable_line(caplog):
    caplog.set_level(logging.DEBUG)
    fake = Fake((503, b"busy", {"Retry-After": "7"}), _refused(), (200, OK))
    client, _ = client_for(fake)
    client.import_file("items", [make_item(1)], stock=True)
    assert _log(caplog) == [
        (
            logging.WARNING,
            "retrying import items file after HTTP 503 Retry-After 7 (attempt 2 of 3, waiting 7.0 s)",
        ),
        (
            logging.WARNING,
            "retrying import items file after connection refused (attempt 3 of 3, waiting 2.0 s)",
        ),
    ]
    assert not any("stamina" in r.name or "s3cret" in r.getMessage() for r in caplog.records)


def test_the_final_failure_is_one_error_line(caplog):
    caplog.set_level(logging.WARNING)
    client, _ = client_for(Fake((429, b"", {"Retry-After": "3600"})), max_attempts=2, max_retry_wait=30.0)
    with pytest.raises(TransportError):
        client.submit_async("clients", b"x")
    client, _ = client_for(Fake((503, b"busy", {"Retry-After": "1"})))
    with pytest.raises(TransportError):
        client.import_file("items", b"x", stock=False)
    client, _ = client_for(Fake((500, b"oops")))
    with pytest.raises(TransportError):
        client.import_file("clients", b"x")
    client, _ = client_for(Fake(httpx2.ReadTimeout("timed out")), max_attempts=2)
    with pytest.raises(TransportError):
        client.wait_async("j-42")
    assert _log(caplog) == [
        (
            logging.WARNING,
            "retrying submit clients file after HTTP 429 Retry-After 3600 (attempt 2 of 2, waiting 30.0 s)",
        ),
        (logging.ERROR, "giving up on submit clients file after HTTP 429 Retry-After 3600 (attempt 2 of 2)"),
        (
            logging.ERROR,
            "giving up on import items file after HTTP 503 Retry-After 1 (attempt 1 of 1, "
            "not re-sent: importing this file twice is not safe, the outcome is unknown)",
        ),
        (
            logging.ERROR,
            "giving up on import clients file after HTTP 500 (attempt 1 of 3, HTTP 500 is not retried)",
        ),
        (logging.WARNING, "retrying poll job j-42 after timeout (attempt 2 of 2, waiting 1.0 s)"),
        (logging.ERROR, "giving up on poll job j-42 after timeout (attempt 2 of 2)"),
    ]


def test_a_streamed_upload_says_why_it_is_not_resent(caplog):
    caplog.set_level(logging.WARNING)
    client, _ = client_for(Fake(_refused()))
    with pytest.raises(TransportError):
        client.import_file("clients", (Client(f"C{i}", "A") for i in range(2)))
    assert _log(caplog) == [
        (
            logging.ERROR,
            "giving up on import clients file after connection refused (attempt 1 of 1, "
            "not re-sent: its rows were streamed once and cannot be sent again)",
        )
    ]


def test_a_refused_port_over_real_sockets_reads_as_connection_refused(caplog):
    caplog.set_level(logging.WARNING)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = MyDsoClient(
        "api-login", "s3cret-pw", base_url=f"http://127.0.0.1:{port}/api/", sleep=lambda s: None
    )
    with pytest.raises(TransportError):
        client.import_file("clients", b'"client_code";"client_business_name"\r\n"C1";"A"\r\n')
    assert [m for _, m in _log(caplog)] == [
        "retrying import clients file after connection refused (attempt 2 of 3, waiting 1.0 s)",
        "retrying import clients file after connection refused (attempt 3 of 3, waiting 2.0 s)",
        "giving up on import clients file after connection refused (attempt 3 of 3)",
    ]


@pytest.mark.slow
def test_an_idle_connection_is_let_go_after_4_s():
    """My DSO Manager's limits are not public: the client keeps an idle connection 4 s, below a 5 s server."""
    sandbox = MyDsoSandbox(accounts={"acme": "pw-acme"}, today=date(2026, 11, 20))
    try:
        with (
            LoopbackServer(sandbox.app, keepalive=KeepAlive(timeout=60)) as server,
            MyDsoClient("acme", "pw-acme", base_url=server.url + "/api/") as client,
        ):
            client.import_file("clients", [Client("C1", "Firm A")])
            client.import_file("clients", [Client("C2", "Firm B")])
            assert server.connections == 1
            time.sleep(4.5)
            client.import_file("clients", [Client("C3", "Firm C")])
            assert server.connections == 2
    finally:
        sandbox.close()
