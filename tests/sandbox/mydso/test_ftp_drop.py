"""The FTP drop: pyftpdlib on loopback, one home per account, reports replace processed files."""

from __future__ import annotations

import ftplib
import io
import time

import pytest
from mydso_sandbox_helpers import CLIENTS, OTHER, ftp_report, item, items_csv, items_state, rows

from dsobridge.sandbox.mydso import MyDsoSandbox, options_from_filename
from dsobridge.sandbox.mydso.options import kind_from_filename


def test_upload_is_processed_and_replaced_by_its_report(ftp: ftplib.FTP, sandbox: MyDsoSandbox) -> None:
    ftp.storbinary("STOR clients_20250630.csv", io.BytesIO(CLIENTS))
    report = ftp_report(ftp, "clients_20250630.csv.report.json")
    assert (report["success"], report["file_type"], report["added"]) == (True, "clients", 3)
    sandbox.jobs.join(5)
    assert ftp.nlst() == ["clients_20250630.csv.report.json"]
    ftp.storbinary("STOR items_20250630.stock.csv", io.BytesIO(items_csv(item("1"))))
    report = ftp_report(ftp, "items_20250630.stock.csv.report.json")
    assert (report["mode"], report["added"]) == ("STOCK", 1)
    assert rows(sandbox, "SELECT file_type, channel FROM import ORDER BY id") == [
        ("clients", "ftp"),
        ("items", "ftp"),
    ]
    assert (sandbox.ftp.home("acme") / "clients_20250630.csv.report.json").exists()


def test_temporary_names_wait_for_the_rename(ftp: ftplib.FTP, sandbox: MyDsoSandbox) -> None:
    ftp.storbinary("STOR clients.csv", io.BytesIO(CLIENTS))
    ftp_report(ftp, "clients.csv.report.json")
    for temporary in (".tmp-items_1.csv", "items_1.csv.part", "notes.txt"):
        ftp.storbinary(f"STOR {temporary}", io.BytesIO(items_csv(item("1"))))
    sandbox.jobs.join(5)
    time.sleep(0.1)
    assert sorted(ftp.nlst()) == [
        ".tmp-items_1.csv",
        "clients.csv.report.json",
        "items_1.csv.part",
        "notes.txt",
    ]
    assert items_state(sandbox) == {}
    ftp.rename("items_1.csv.part", "items_1.csv")
    report = ftp_report(ftp, "items_1.csv.report.json")
    assert (report["mode"], report["added"]) == ("DELTA", 1)
    assert "items_1.csv" not in ftp.nlst()


def test_encoding_in_the_name_and_failed_reports(ftp: ftplib.FTP, sandbox: MyDsoSandbox) -> None:
    latin = "client_code;client_business_name\r\nC7;Café Ørsted\r\n".encode("iso-8859-1")
    ftp.storbinary("STOR clients_x.iso-8859-1.csv", io.BytesIO(latin))
    assert ftp_report(ftp, "clients_x.iso-8859-1.csv.report.json")["added"] == 1
    assert rows(sandbox, "SELECT business_name FROM client") == [("Café Ørsted",)]
    ftp.storbinary("STOR clients_y.csv", io.BytesIO(latin))
    report = ftp_report(ftp, "clients_y.csv.report.json")
    assert (report["success"], report["error_code"]) == (False, "BAD_ENCODING")


def test_homes_are_per_account_and_passwords_checked(ftp: ftplib.FTP, sandbox: MyDsoSandbox) -> None:
    host, port = sandbox.ftp.address
    other = ftplib.FTP()  # noqa: S321
    other.connect(host, port, timeout=10)
    other.login(*OTHER)
    other.storbinary("STOR clients.csv", io.BytesIO(CLIENTS))
    ftp_report(other, "clients.csv.report.json")
    assert ftp.nlst() == []
    assert rows(sandbox, "SELECT account, count(*) FROM client GROUP BY account") == [("other", 3)]
    other.close()
    refused = ftplib.FTP()  # noqa: S321
    refused.connect(host, port, timeout=10)
    with pytest.raises(ftplib.error_perm, match=r"^530"):
        refused.login("acme", "not-the-password")
    refused.close()


@pytest.mark.parametrize(
    ("name", "kind", "stock", "encoding", "replace"),
    [
        ("items_20261120.txt", "items", False, "utf-8", False),
        ("items_20261120.stock.csv", "items", True, "utf-8", False),
        ("ITEMS.delta.cp1252.csv", "items", False, "cp1252", False),
        ("users_a.replace.csv", "users", False, "utf-8", True),
        ("contacts-1.latin1.txt", "contacts", False, "iso8859-1", False),
        ("items_1.csv.part", None, None, None, None),
        ("items_1.csv.report.json", None, None, None, None),
        ("invoices.csv", None, None, None, None),
    ],
)
def test_names_announce_type_and_options(name, kind, stock, encoding, replace) -> None:
    assert kind_from_filename(name) == kind
    if kind is not None:
        options = options_from_filename(name)
        assert (options.stock, options.encoding, options.replace_users_association) == (
            stock,
            encoding,
            replace,
        )
