"""``FtpDrop(tls=True)`` (explicit FTPS) against the My DSO Manager sandbox's FTPS drop on loopback."""

from __future__ import annotations

import re
import ssl
import traceback
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import pytest

from dsobridge.mydso import AccessDenied, Client, FtpDrop, Item, TransportError
from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.sandbox.mydso.ftp import make_self_signed_certificate

PASSWORD = "s3cret-ftps-pw"


@pytest.fixture
def sandbox() -> Iterator[MyDsoSandbox]:
    sb = MyDsoSandbox(accounts={"acme": PASSWORD}, today=date(2026, 11, 20))
    yield sb
    sb.close()


@pytest.fixture
def ftps(sandbox: MyDsoSandbox) -> tuple[str, int]:
    """The sandbox drop with a generated certificate; TLS required on control and data channels."""
    return sandbox.start_ftp(tls=True)


def trusting(sandbox: MyDsoSandbox) -> ssl.SSLContext:
    assert sandbox.ftp is not None and sandbox.ftp.cert_pem is not None
    return ssl.create_default_context(cadata=sandbox.ftp.cert_pem.decode())


def drop(sandbox: MyDsoSandbox, **changes: object) -> FtpDrop:
    host, port = sandbox.ftp.address  # type: ignore[union-attr]
    kwargs: dict[str, object] = {"tls": True, "ssl_context": trusting(sandbox), "timeout": 5, **changes}
    return FtpDrop(host, port, "acme", PASSWORD, **kwargs)  # type: ignore[arg-type]


def items(numbers: range) -> list[Item]:
    return [
        Item(
            client_code="C1",
            item_number=f"F{n:05d}",
            item_type="FAC",
            item_date_issue=date(2026, 10, 1),
            item_date_due=date(2026, 10, 31),
            item_amount_initial_inc_tax=Decimal("1250.40"),
        )
        for n in numbers
    ]


def open_items(sandbox: MyDsoSandbox) -> dict[str, tuple[str, str | None]]:
    conn = sandbox.store.connect()
    try:
        query = "SELECT item_number, amount_remaining, payment_date FROM item WHERE account = 'acme'"
        return {number: (remaining, paid) for number, remaining, paid in conn.execute(query)}
    finally:
        conn.close()


def assert_no_secret(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc)) + repr(exc)
    chained = exc.__context__
    while chained is not None:
        text += repr(chained) + str(chained)
        chained = chained.__context__
    assert PASSWORD not in text


def test_stock_items_over_ftps_yield_the_report_and_change_the_ledger(sandbox, ftps) -> None:
    client = drop(sandbox)
    clients = client.deliver("clients", [Client("C1", "Nordisk Handel ApS")], when=date(2026, 11, 20))
    assert (clients.success, clients.added) == (True, 1)
    first = client.deliver(
        "items", items(range(200)), when=datetime(2026, 11, 20, 8, 0, 0), stock=True, report_timeout=5
    )
    assert (first.success, first.file_type, first.mode, first.rows, first.added) == (
        True,
        "items",
        "STOCK",
        200,
        200,
    )
    sandbox.advance(1)
    second = client.deliver(
        "items", items(range(1, 200)), when=datetime(2026, 11, 21, 8, 0, 0), stock=True, report_timeout=5
    )
    assert (second.mode, second.rows, second.added, second.unchanged, second.cleared) == (
        "STOCK",
        199,
        0,
        199,
        1,
    )
    ledger = open_items(sandbox)
    assert ledger["F00000"] == ("0.00", "2026-11-21")  # absent from the STOCK file: cleared on import date
    assert ledger["F00199"] == ("1250.40", None)
    assert sum(1 for _, paid in ledger.values() if paid is None) == 199
    # the drop required PROT P for every data connection, so the uploads and reports travelled encrypted;
    # only the reports remain in the home: the temporary .part names were renamed, then processed
    assert sorted(p.name for p in sandbox.ftp.home("acme").iterdir()) == [  # type: ignore[union-attr]
        "clients_20261120.csv.report.json",
        "items_20261120_080000.stock.csv.report.json",
        "items_20261121_080000.stock.csv.report.json",
    ]


def test_a_client_that_does_not_start_tls_is_refused(sandbox, ftps) -> None:
    with pytest.raises(TransportError) as info:
        drop(sandbox, tls=False, ssl_context=None).deliver("clients", [Client("C1", "A")], report_timeout=2)
    host, port = ftps
    assert str(info.value) == (
        f"FTP connection to {host}:{port} failed: error_perm: 550 SSL/TLS required on the control channel."
    )
    assert_no_secret(info.value)
    assert open_items(sandbox) == {}
    assert not sandbox.ftp.home("acme").exists()  # type: ignore[union-attr]  # no login ever succeeded


def test_a_certificate_from_another_issuer_fails_verification(sandbox, ftps, tmp_path) -> None:
    other_cert, _ = make_self_signed_certificate(tmp_path)
    context = ssl.create_default_context(cafile=str(other_cert))
    with pytest.raises(TransportError) as info:
        drop(sandbox, ssl_context=context).deliver("clients", [Client("C1", "A")], report_timeout=2)
    host, port = ftps
    expected = (
        rf"FTPS certificate of {re.escape(host)}:{port} failed verification: self[- ]signed certificate"
    )
    assert re.fullmatch(expected, str(info.value))  # OpenSSL 3 writes "self-signed", 1.1 "self signed"
    assert_no_secret(info.value)
    with pytest.raises(TransportError, match=r"failed verification: self[- ]signed certificate$") as info:
        drop(sandbox, ssl_context=None).deliver("clients", [Client("C1", "A")])  # the system trust store
    assert_no_secret(info.value)
    assert not sandbox.ftp.home("acme").exists()  # type: ignore[union-attr]  # no login ever succeeded


def test_a_certificate_for_another_host_name_fails_verification(sandbox, tmp_path) -> None:
    cert, key = make_self_signed_certificate(tmp_path, hosts=("localhost",))
    host, port = sandbox.start_ftp(tls=True, certfile=cert, keyfile=key)
    context = ssl.create_default_context(cafile=str(cert))
    with pytest.raises(TransportError) as info:
        FtpDrop(host, port, "acme", PASSWORD, tls=True, ssl_context=context, timeout=5).deliver(
            "clients", [Client("C1", "A")]
        )
    assert str(info.value) == (
        f"FTPS certificate of {host}:{port} failed verification: "
        "IP address mismatch, certificate is not valid for '127.0.0.1'."
    )
    report = FtpDrop("localhost", port, "acme", PASSWORD, tls=True, ssl_context=context, timeout=5).deliver(
        "clients", [Client("C1", "A")], report_timeout=5
    )
    assert (report.success, report.added) == (True, 1)


def test_passwords_never_appear_in_errors(sandbox, ftps) -> None:
    with pytest.raises(AccessDenied) as denied:
        FtpDrop(
            *ftps, "acme", "wrong-" + PASSWORD, tls=True, ssl_context=trusting(sandbox), timeout=5
        ).deliver("clients", [Client("C1", "A")])
    assert str(denied.value) == "FTP login refused (530)"
    assert "wrong-" + PASSWORD not in "".join(traceback.format_exception(denied.value))
    assert_no_secret(denied.value)
    sandbox.stop_ftp()
    host, port = sandbox.start_ftp()  # a plain FTP server: AUTH TLS is not understood
    with pytest.raises(TransportError) as refused:
        FtpDrop(host, port, "acme", PASSWORD, tls=True, timeout=5).deliver("clients", [Client("C1", "A")])
    assert (
        str(refused.value) == f'FTP server {host}:{port} refused AUTH TLS: 500 Command "AUTH" not understood.'
    )
    assert_no_secret(refused.value)
    assert (
        repr(FtpDrop(host, port, "acme", PASSWORD, tls=True))
        == f"FtpDrop(host={host!r}, port={port}, tls=True)"
    )


def test_an_ssl_context_without_tls_is_a_mistake() -> None:
    with pytest.raises(ValueError, match=r"^ssl_context is for tls=True$"):
        FtpDrop("127.0.0.1", 21, "acme", PASSWORD, ssl_context=ssl.create_default_context())


def test_cli_send_via_ftps_trusts_the_cafile_from_the_environment(sandbox, ftps, tmp_path, monkeypatch):
    """`dsobridge mydso send --via ftp` with MYDSO_FTP_TLS=1 and MYDSO_FTP_CAFILE = the sandbox's FTP_CERT."""
    from click.testing import CliRunner

    from dsobridge.cli import cli

    cafile = tmp_path / "sandbox-ftp.pem"
    cafile.write_bytes(sandbox.ftp.cert_pem)  # type: ignore[union-attr]
    data = tmp_path / "clients.csv"
    data.write_text('"client_code";"client_business_name"\r\n"C9";"Ni ApS"\r\n', encoding="utf-8")
    host, port = ftps
    env = {
        "MYDSO_LOGIN": "acme",
        "MYDSO_PASSWORD": PASSWORD,
        "MYDSO_FTP_HOST": host,
        "MYDSO_FTP_PORT": str(port),
        "MYDSO_FTP_TLS": "1",
        "MYDSO_FTP_CAFILE": str(cafile),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = ["mydso", "send", "clients", str(data), "--via", "ftp", "--json", "--timeout", "10"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert '"added": 1' in result.output
    assert PASSWORD not in result.output

    monkeypatch.delenv("MYDSO_FTP_CAFILE")  # the system trust store does not know the sandbox's certificate
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 1
    assert "failed verification" in refused.output
