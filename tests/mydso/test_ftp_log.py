"""FtpDrop's final failure is one ERROR line on ``dsobridge.mydso``, worded like the HTTP clients' lines."""

from __future__ import annotations

import logging
import socket

import pytest

from dsobridge.mydso import FtpDrop, TransportError


def test_an_unreachable_drop_is_one_error_line(caplog):
    caplog.set_level(logging.DEBUG)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransportError):
        FtpDrop("127.0.0.1", port, "drop-user", "drop-pw", timeout=2).deliver("clients", b"x")
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "dsobridge.mydso"] == [
        (
            logging.ERROR,
            f"giving up on FTP connection to 127.0.0.1:{port} after connection refused "
            "(attempt 1 of 1, FTP deliveries are not retried automatically)",
        )
    ]
    assert not any("drop-pw" in r.getMessage() for r in caplog.records)
