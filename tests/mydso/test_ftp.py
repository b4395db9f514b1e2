"""FtpDrop against a pyftpdlib server on loopback that behaves like the drop folder."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from decimal import Decimal

import pytest

from dsobridge.mydso import (
    AccessDenied,
    Client,
    FtpDrop,
    ImportRejected,
    ImportTimeout,
    Item,
    RowError,
    TransportError,
)


def items(n: int) -> list[Item]:
    return [
        Item(
            client_code="C1",
            item_number=str(i),
            item_type="FAC",
            item_date_issue=date(2026, 1, 1),
            item_date_due=date(2026, 2, 1),
            item_amount_initial_inc_tax=Decimal("10.5"),
        )
        for i in range(n)
    ]


def drop_for(ftp_drop, **kwargs) -> FtpDrop:
    return FtpDrop("127.0.0.1", ftp_drop.port, "drop-user", "drop-pw", timeout=5, **kwargs)


def test_rows_are_uploaded_under_a_temporary_name_then_renamed(ftp_drop):
    report = drop_for(ftp_drop).deliver(
        "items", items(5000), when=datetime(2026, 11, 20, 22, 30, 15), stock=True, report_timeout=5
    )
    assert (report.success, report.rows, report.mode, report.file_type) == (True, 5000, "STOCK", "items")
    assert ftp_drop.seen_names == [".items_20261120_223015.stock.csv.part", "items_20261120_223015.stock.csv"]
    ((_name, data),) = ftp_drop.processed
    assert data.count(b"\r\n") == 5001  # the whole file, never a half
    assert sorted(os.listdir(ftp_drop.root)) == ["items_20261120_223015.stock.csv.report.json"]


def test_encoding_in_the_name_and_bytes_or_path(ftp_drop, tmp_path):
    drop = drop_for(ftp_drop)
    report = drop.deliver(
        "clients", [Client("C1", "Brødrene Ærø")], when=date(2026, 1, 2), encoding="ISO-8859-1"
    )
    assert report.rows == 1
    name, data = ftp_drop.processed[-1]
    assert name == "clients_20260102.iso-8859-1.csv"
    assert "Brødrene Ærø".encode("latin-1") in data
    source = tmp_path.parent / "users_source.csv"
    source.write_bytes(b'"user_email"\r\n"a@x.dk"\r\n"b@x.dk"\r\n')
    assert drop.deliver("users", source, when=date(2026, 1, 2)).rows == 2
    assert drop.deliver("users", source.read_bytes(), when=date(2026, 1, 3)).rows == 2


def test_a_stale_report_of_the_same_name_is_not_taken(ftp_drop):
    stale = os.path.join(ftp_drop.root, "clients_20260102.csv.report.json")
    with open(stale, "w") as fh:
        json.dump({"success": True, "rows": 999}, fh)
    ftp_drop.delay = 0.3  # the new report appears only later: the client must poll for it
    report = drop_for(ftp_drop).deliver("clients", [Client("C1", "A")], when=date(2026, 1, 2))
    assert report.rows == 1


def test_rejected_file_and_missing_report(ftp_drop):
    ftp_drop.mode = "reject"
    with pytest.raises(ImportRejected) as info:
        drop_for(ftp_drop).deliver("clients", [Client("C1", "A")])
    assert info.value.error_code == "CSV_BAD_SYNTAX"
    ftp_drop.mode = "silent"
    with pytest.raises(ImportTimeout, match=r"no clients_\d{8}_\d{6}\.csv\.report\.json after 0.3 s"):
        drop_for(ftp_drop).deliver("clients", [Client("C1", "A")], report_timeout=0.3)


def test_login_refused_and_unreachable(ftp_drop):
    with pytest.raises(AccessDenied) as info:
        FtpDrop("127.0.0.1", ftp_drop.port, "drop-user", "wrong-pw", timeout=5).deliver("clients", b"x")
    assert "wrong-pw" not in str(info.value)
    with pytest.raises(TransportError, match=r"FTP connection to 127\.0\.0\.1:1 failed"):
        FtpDrop("127.0.0.1", 1, "u", "p", timeout=2).deliver("clients", b"x")


def test_a_bad_row_leaves_nothing_on_the_server(ftp_drop):
    rows = [*items(3000), items(1)[0]]  # duplicate key on row 3001, after the first chunk went out
    with pytest.raises(RowError) as info:
        drop_for(ftp_drop).deliver("items", rows)
    assert info.value.row == 3001
    assert os.listdir(ftp_drop.root) == []
    assert ftp_drop.processed == []


def test_repr_has_no_credentials():
    drop = FtpDrop("ftp.example", 21, "login", "pw-123", tls=True)
    assert repr(drop) == "FtpDrop(host='ftp.example', port=21, tls=True)"
