"""The FTP drop never fails open: only a completed transfer is imported.

A STOCK file cut in half used to be imported as if it were whole and cleared every item of its missing half.
Each scenario here starts from an account with 343 open items and sends the same 343-row STOCK file, cut
short: the account must not change, the partial file must not be imported, and the report (when the name
announces a file type) says ``INCOMPLETE_UPLOAD``.
"""

from __future__ import annotations

import contextlib
import ftplib
import io
import logging
import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mydso_sandbox_helpers import ACME, CLIENTS, ftp_report, item, items_csv, items_state, rows

from dsobridge.sandbox.mydso import ImportOptions, MyDsoSandbox

OPEN_ITEMS = 343
STOCK = items_csv(*(item(f"{n:05d}", f"{n}.00", client=f"C000{n % 3 + 1}") for n in range(1, OPEN_ITEMS + 1)))
# about half the file, cut after a closing quote in the middle of a line: the partial last row still parses
# (a short row, rejected), so the rest of the file is simply missing — as in the reported incident
HALF = STOCK.index(b'";"', len(STOCK) // 2) + 1
assert STOCK[HALF - 1 : HALF + 1] == b'";', "the cut must fall mid-line"
AT_LINE = STOCK.index(b"\r\n", HALF) + 2  # about half the file, cut right after a line

# why a file is refused (the report's message, after "<name>: "); each ends "not imported: ..."
CUT_SHORT = "the transfer did not complete (the connection was closed or reset before the end of the file"
NOT_RECEIVED = "the file was not received by a completed upload"
NO_LINE_BREAK = "the file does not end with a line break, so it may have been cut short"


@pytest.fixture
def stocked(sandbox: MyDsoSandbox) -> MyDsoSandbox:
    sandbox.import_file("acme", "clients", io.BytesIO(CLIENTS))
    report = sandbox.import_file("acme", "items", io.BytesIO(STOCK), ImportOptions(stock=True))
    assert report["added"] == OPEN_ITEMS
    return sandbox


Session = Callable[[], ftplib.FTP]


@pytest.fixture(params=["ftp", "ftps"])
def session(request: pytest.FixtureRequest, stocked: MyDsoSandbox) -> Iterator[Session]:
    tls = request.param == "ftps"
    address = stocked.start_ftp(tls=tls)
    opened: list[ftplib.FTP] = []

    def connect() -> ftplib.FTP:
        if tls:
            context = ssl.create_default_context(cadata=stocked.ftp.cert_pem.decode())  # type: ignore[union-attr]
            ftp: ftplib.FTP = ftplib.FTP_TLS(context=context)  # noqa: S321 - explicit TLS, verified
            ftp.connect(*address, timeout=10)
            ftp.login(*ACME)
            ftp.prot_p()  # type: ignore[attr-defined]
        else:
            ftp = ftplib.FTP()  # noqa: S321 - the sandbox drop on loopback
            ftp.connect(*address, timeout=10)
            ftp.login(*ACME)
        opened.append(ftp)
        return ftp

    yield connect
    for ftp in opened:
        ftp.close()
    stocked.stop_ftp()


def cut_upload(ftp: ftplib.FTP, name: str, body: bytes, *, how: str) -> None:
    """``STOR name``, send ``body``, then end the data connection as ``how`` says: ``close`` (FIN, and for
    TLS no close_notify) or ``reset`` (SO_LINGER 0: RST). The server's answer (226 or 426) is read."""
    conn = ftp.transfercmd(f"STOR {name}")
    conn.sendall(body)
    if how == "reset":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    with contextlib.suppress(ftplib.error_temp, ftplib.error_perm):
        ftp.voidresp()


def assert_untouched(sb: MyDsoSandbox, before: dict) -> None:
    assert sb.jobs.join(10)
    assert items_state(sb) == before
    assert sum(1 for remaining, payment, _ in before.values() if payment is None) == OPEN_ITEMS
    assert rows(sb, "SELECT count(*) FROM import WHERE channel = 'ftp'") == [(0,)]


def assert_incomplete_report(report: dict, name: str, reason: str) -> None:
    """Refused as ``INCOMPLETE_UPLOAD`` for ``reason`` (a cut can also be caught by a later check: the
    reason tells which check caught it)."""
    assert report["success"] is False
    assert report["error_code"] == "INCOMPLETE_UPLOAD"
    assert (report["file_type"], report["mode"], report["rows"], report["cleared"]) == (
        "items",
        "STOCK",
        0,
        0,
    )
    assert report["message"].startswith(f"{name}: {reason}"), report["message"]
    assert "; not imported: " in report["message"]


@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_stock_file_cut_in_half_under_its_final_name_is_not_imported(
    session: Session, stocked: MyDsoSandbox, how: str, request: pytest.FixtureRequest
) -> None:
    before = items_state(stocked)
    ftp = session()
    cut_upload(ftp, "items_20250630.stock.csv", STOCK[:HALF], how=how)
    # a plain-FTP close looks like an end: only the missing line break gives the cut away
    plain_close = (request.node.callspec.params["session"], how) == ("ftp", "close")
    assert_incomplete_report(
        ftp_report(ftp, "items_20250630.stock.csv.report.json"),
        "items_20250630.stock.csv",
        NO_LINE_BREAK if plain_close else CUT_SHORT,
    )
    assert_untouched(stocked, before)
    assert sorted(ftp.nlst()) == ["items_20250630.stock.csv.report.json"]  # the partial file is gone


@pytest.mark.parametrize("how", ["close", "reset"])
def test_renaming_an_incomplete_temporary_upload_does_not_import_it(
    session: Session, stocked: MyDsoSandbox, how: str, request: pytest.FixtureRequest
) -> None:
    before = items_state(stocked)
    ftp = session()
    cut_upload(ftp, "items_1.stock.csv.part", STOCK[:HALF], how=how)
    time.sleep(0.2)
    assert "items_1.stock.csv.part.report.json" not in ftp.nlst()  # a temporary name gets no report
    ftp.rename("items_1.stock.csv.part", "items_1.stock.csv")
    plain_close = (request.node.callspec.params["session"], how) == ("ftp", "close")
    assert_incomplete_report(
        ftp_report(ftp, "items_1.stock.csv.report.json"),
        "items_1.stock.csv",
        NO_LINE_BREAK if plain_close else NOT_RECEIVED,
    )
    assert_untouched(stocked, before)


def test_a_stock_file_cut_at_a_line_break_over_tls_is_not_imported(stocked: MyDsoSandbox) -> None:
    """TLS tells a cut from an end: the sender's close_notify. A cut exactly after a line is caught too."""
    address = stocked.start_ftp(tls=True)
    context = ssl.create_default_context(cadata=stocked.ftp.cert_pem.decode())  # type: ignore[union-attr]
    ftp = ftplib.FTP_TLS(context=context)  # noqa: S321
    ftp.connect(*address, timeout=10)
    ftp.login(*ACME)
    ftp.prot_p()
    before = items_state(stocked)
    cut_upload(ftp, "items_2.stock.csv", STOCK[:AT_LINE], how="close")
    assert_incomplete_report(ftp_report(ftp, "items_2.stock.csv.report.json"), "items_2.stock.csv", CUT_SHORT)
    assert_untouched(stocked, before)
    ftp.quit()


def test_abor_during_the_upload_is_not_imported(session: Session, stocked: MyDsoSandbox) -> None:
    before = items_state(stocked)
    ftp = session()
    conn = ftp.transfercmd("STOR items_3.stock.csv")
    conn.sendall(STOCK[:HALF])
    time.sleep(0.2)  # the server has the first half
    with contextlib.suppress(ftplib.Error, OSError):
        ftp.abort()
    conn.close()
    with contextlib.suppress(ftplib.Error, OSError):
        ftp.voidresp()
    assert_incomplete_report(ftp_report(ftp, "items_3.stock.csv.report.json"), "items_3.stock.csv", CUT_SHORT)
    assert_untouched(stocked, before)


def test_a_client_that_dies_mid_upload_is_one_log_line(
    session: Session, stocked: MyDsoSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The process is gone: data and control connections reset together. One warning, no traceback."""
    caplog.set_level(logging.DEBUG, logger="dsobridge")
    before = items_state(stocked)
    ftp = session()
    conn = ftp.transfercmd("STOR items_4.stock.csv")
    conn.sendall(STOCK[:HALF])
    for sock in (conn, ftp.sock):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    watcher = session()
    assert_incomplete_report(
        ftp_report(watcher, "items_4.stock.csv.report.json"), "items_4.stock.csv", CUT_SHORT
    )
    assert_untouched(stocked, before)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert warnings[0].name == "dsobridge.sandbox.mydso.ftp"
    assert "items_4.stock.csv" in warnings[0].getMessage() and "not imported" in warnings[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert ACME[1] not in caplog.text


def test_a_completed_upload_is_imported_and_a_resumed_one_too(
    session: Session, stocked: MyDsoSandbox
) -> None:
    ftp = session()
    ftp.storbinary("STOR items_5.stock.csv", io.BytesIO(STOCK))
    report = ftp_report(ftp, "items_5.stock.csv.report.json")
    assert (report["success"], report["unchanged"], report["cleared"]) == (True, OPEN_ITEMS, 0)
    # cut, then resumed with APPE: the completed transfer is what counts
    cut_upload(ftp, "items_6.csv.part", STOCK[:HALF], how="close")
    ftp.storbinary("APPE items_6.csv.part", io.BytesIO(STOCK[HALF:]))
    ftp.rename("items_6.csv.part", "items_6.csv")
    report = ftp_report(ftp, "items_6.csv.report.json")
    assert (report["success"], report["unchanged"]) == (True, OPEN_ITEMS)


def test_a_file_must_end_with_a_line_break(session: Session, stocked: MyDsoSandbox) -> None:
    """Plain FTP ends a file by closing the connection, so a cut looks like an end: a file is imported only
    when it ends with a line break, whether it arrived under its final name or was renamed to it."""
    before = items_state(stocked)
    ftp = session()
    unterminated = STOCK.rstrip(b"\r\n")
    ftp.storbinary("STOR items_7.stock.csv", io.BytesIO(unterminated))
    report = ftp_report(ftp, "items_7.stock.csv.report.json")
    assert report["error_code"] == "INCOMPLETE_UPLOAD" and "line break" in report["message"]
    assert_incomplete_report(report, "items_7.stock.csv", NO_LINE_BREAK)
    ftp.storbinary("STOR items_8.stock.csv.tmp", io.BytesIO(unterminated))
    ftp.rename("items_8.stock.csv.tmp", "items_8.stock.csv")
    report = ftp_report(ftp, "items_8.stock.csv.report.json")
    assert report["error_code"] == "INCOMPLETE_UPLOAD" and "line break" in report["message"]
    assert_incomplete_report(report, "items_8.stock.csv", NO_LINE_BREAK)
    assert_untouched(stocked, before)
    ftp.storbinary("STOR items_9.stock.csv", io.BytesIO(unterminated + b"\n"))
    report = ftp_report(ftp, "items_9.stock.csv.report.json")
    assert (report["success"], report["unchanged"]) == (True, OPEN_ITEMS)


def test_a_file_not_received_by_a_completed_upload_is_not_imported_on_rename(
    session: Session, stocked: MyDsoSandbox
) -> None:
    before = items_state(stocked)
    ftp = session()
    home: Path = stocked.ftp.home("acme")  # type: ignore[union-attr]
    (home / "items_11.stock.csv.part").write_bytes(STOCK[:HALF])  # put there by something else than FTP
    ftp.rename("items_11.stock.csv.part", "items_11.stock.csv")
    report = ftp_report(ftp, "items_11.stock.csv.report.json")
    assert report["error_code"] == "INCOMPLETE_UPLOAD"
    assert_incomplete_report(report, "items_11.stock.csv", NOT_RECEIVED)
    assert_untouched(stocked, before)


@pytest.mark.parametrize("renamed", [False, True], ids=["final-name", "renamed"])
def test_a_reset_at_a_line_break_over_plain_ftp_is_not_imported(stocked: MyDsoSandbox, renamed: bool) -> None:
    """Plain FTP: a cut right after a line passes the line-break check, so only the reset itself (RST, not
    FIN) tells it from an end."""
    address = stocked.start_ftp(tls=False)
    ftp = ftplib.FTP()  # noqa: S321 - the sandbox drop on loopback
    ftp.connect(*address, timeout=10)
    ftp.login(*ACME)
    before = items_state(stocked)
    name = "items_12.stock.csv"
    cut_upload(ftp, name + ".part" if renamed else name, STOCK[:AT_LINE], how="reset")
    if renamed:
        time.sleep(0.2)
        ftp.rename(name + ".part", name)
    assert_incomplete_report(
        ftp_report(ftp, name + ".report.json"), name, NOT_RECEIVED if renamed else CUT_SHORT
    )
    assert_untouched(stocked, before)
    ftp.quit()
    stocked.stop_ftp()


def test_a_file_waiting_for_its_import_cannot_be_changed(session: Session, stocked: MyDsoSandbox) -> None:
    """Between its check and its import a received file is busy: a new upload onto it, a rename from or onto
    it and its deletion are refused (550), so nothing can cut it short after the check."""
    ftp = session()
    with stocked.account_lock("acme"):  # the worker waits: the upload stays queued
        ftp.storbinary("STOR items_10.stock.csv", io.BytesIO(STOCK))
        ftp.storbinary("STOR items_11.csv.tmp", io.BytesIO(STOCK))
        busy = r"^550 items_10\.stock\.csv is being imported; try again when its report is there\.$"
        for attempt in (
            lambda: ftp.storbinary("STOR items_10.stock.csv", io.BytesIO(STOCK[:HALF])),
            lambda: ftp.storbinary("APPE items_10.stock.csv", io.BytesIO(b"x")),
            lambda: ftp.rename("items_10.stock.csv", "items_12.csv"),
            lambda: ftp.rename("items_11.csv.tmp", "items_10.stock.csv"),
            lambda: ftp.delete("items_10.stock.csv"),
        ):
            with pytest.raises(ftplib.error_perm, match=busy):
                attempt()
        assert sorted(ftp.nlst()) == ["items_10.stock.csv", "items_11.csv.tmp"]
    report = ftp_report(ftp, "items_10.stock.csv.report.json")
    assert (report["success"], report["unchanged"], report["cleared"]) == (True, OPEN_ITEMS, 0)
    assert sorted(ftp.nlst()) == ["items_10.stock.csv.report.json", "items_11.csv.tmp"]
    ftp.delete("items_10.stock.csv.report.json")
    ftp.storbinary("STOR items_10.stock.csv", io.BytesIO(STOCK))  # free again once its report is there
    assert ftp_report(ftp, "items_10.stock.csv.report.json")["unchanged"] == OPEN_ITEMS
