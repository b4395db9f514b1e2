"""A client that disconnects in the middle of an HTTP upload: nothing is imported, one log line, no traceback.

Over a real loopback socket (the in-process transport has no connection to lose).
"""

from __future__ import annotations

import base64
import io
import logging
import socket
import struct
import time

import pytest
from mydso_sandbox_helpers import ACME, CLIENTS, item, items_csv, items_state, rows

from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.mydso import ImportOptions, MyDsoSandbox

STOCK = items_csv(*(item(f"{n:05d}", f"{n}.00", client=f"C000{n % 3 + 1}") for n in range(1, 344)))


def send_half(url_port: int, path: str, *, how: str, chunked: bool) -> None:
    token = base64.b64encode(f"{ACME[0]}:{ACME[1]}".encode()).decode()
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(STOCK)}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: mydso\r\nAuthorization: Basic {token}\r\n{framing}\r\n\r\n".encode()
    )
    half = STOCK[: len(STOCK) // 2]
    body = b"%x\r\n%s\r\n" % (len(half), half) if chunked else half
    sock = socket.create_connection(("127.0.0.1", url_port), timeout=10)
    sock.sendall(head + body)
    time.sleep(0.2)  # the server is reading the body
    if how == "reset":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def wait_for(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize(
    "path", ["/api/items?clear_items_not_modified=true", "/apiPutFiles/items/?clear_items_not_modified=true"]
)
@pytest.mark.parametrize("how", ["close", "reset"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_client_that_disconnects_mid_upload_is_one_log_line(
    sandbox: MyDsoSandbox, caplog: pytest.LogCaptureFixture, path: str, how: str, chunked: bool
) -> None:
    sandbox.import_file("acme", "clients", io.BytesIO(CLIENTS))
    sandbox.import_file("acme", "items", io.BytesIO(STOCK), ImportOptions(stock=True))
    before = items_state(sandbox)
    caplog.set_level(logging.INFO)
    uvicorn_log = logging.getLogger("uvicorn")  # uvicorn's own loggers do not propagate to the root
    with LoopbackServer(sandbox.app) as server:
        uvicorn_log.addHandler(caplog.handler)
        try:
            send_half(server.port, path, how=how, chunked=chunked)
            wait_for(lambda: any(r.levelno >= logging.WARNING for r in caplog.records))
            time.sleep(0.2)  # anything else it would log
        finally:
            uvicorn_log.removeHandler(caplog.handler)
    assert sandbox.jobs.join(10)
    assert items_state(sandbox) == before
    assert rows(sandbox, "SELECT count(*) FROM import") == [(2,)]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert warnings[0].name == "dsobridge.sandbox.mydso.app"
    assert (
        message.startswith("HTTP upload of items by acme ended before the end of the body")
        and "not imported" in message
    )
    assert not any(r.exc_info for r in caplog.records)
    assert ACME[1] not in caplog.text
