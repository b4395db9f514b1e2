"""The client against the My DSO Manager sandbox: in-process and over loopback (HTTP, async, FTP)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dsobridge.mydso import (
    AccessDenied,
    Client,
    Contact,
    FtpDrop,
    ImportRejected,
    Item,
    MyDsoClient,
    RejectedRow,
    RowError,
    User,
)
from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.mydso import MyDsoSandbox


def items(numbers, client="C1", amount="10.50"):
    return [
        Item(
            client_code=client,
            item_number=str(i),
            item_type="FAC",
            item_date_issue=date(2026, 1, 1),
            item_date_due=date(2026, 2, 1),
            item_amount_initial_inc_tax=Decimal(amount),
        )
        for i in numbers
    ]


@pytest.fixture
def sandbox():
    sb = MyDsoSandbox(accounts={"acme": "pw-acme"}, today=date(2026, 11, 20))
    yield sb
    sb.close()


@pytest.fixture(params=["in-process", "loopback"])
def client(request, sandbox):
    if request.param == "in-process":
        with MyDsoClient(
            "acme", "pw-acme", base_url="http://mydso.test/api/", transport=InProcessTransport(sandbox.app)
        ) as c:
            yield c
    else:
        with (
            LoopbackServer(sandbox.app) as server,
            MyDsoClient("acme", "pw-acme", base_url=server.url + "/api/") as c,
        ):
            c.server = server
            yield c


def test_stock_delta_and_rejections(client):
    assert client.import_file("clients", [Client("C1", "Firm A"), Client("C2", "Firm B")]).added == 2
    first = client.import_file("items", items(range(1000)), stock=True)
    assert (first.mode, first.rows, first.added, first.cleared) == ("STOCK", 1000, 1000, 0)
    # STOCK again without 100 items and with one for an unknown client: those 100 are cleared
    second = client.import_file("items", [*items(range(900)), *items(["x"], client="C9")], stock=True)
    assert (second.rows, second.unchanged, second.cleared, second.rejected) == (901, 900, 100, 1)
    assert second.rejected_rows == [RejectedRow(line=902, column="client_code", reason="UNKNOWN_CLIENT")]
    delta = client.import_file("items", items([5], amount="11.00"), stock=False)
    assert (delta.mode, delta.updated, delta.cleared) == ("DELTA", 1, 0)
    if hasattr(client, "server"):
        assert client.server.connections == 1  # one keep-alive connection for every import


def test_async_path(client):
    client.import_file("clients", [Client("C1", "Firm A")])
    report = client.import_file_async("items", items(range(50)), stock=True, timeout=30)
    assert (report.rows, report.added, report.mode) == (50, 50, "STOCK")
    job = client.submit_async("users", [User("a@x.dk", client_code="C1")])
    assert client.wait_async(job, timeout=30).added == 1
    with pytest.raises(ImportRejected) as info:
        client.wait_async("no-such-job", timeout=5)
    assert info.value.error_code == "UNKNOWN_JOB"


def test_file_level_errors(client, sandbox):
    with pytest.raises(ImportRejected) as info:
        client.import_file("clients", b'"client_code"\r\n"C1"\r\n')
    assert info.value.error_code == "CSV_BAD_SYNTAX"
    with pytest.raises(ImportRejected) as info:
        client.import_file("clients", b'"client_code";"client_business_name"\r\n')
    assert info.value.error_code == "CSV_EMPTY"
    with pytest.raises(ImportRejected) as info:
        client.import_file("clients", b'"client_code";"client_business_name"\r\n"C1";"\xff"\r\n')
    assert info.value.error_code == "BAD_ENCODING"
    wrong = MyDsoClient("acme", "not-it", base_url=client.base_url, transport=InProcessTransport(sandbox.app))
    with pytest.raises(AccessDenied):
        wrong.import_file("clients", [Client("C1", "A")])


def test_iso_8859_1_rows(client):
    report = client.import_file("clients", [Client("C1", "Brødrene Ærø A/S")], encoding="ISO-8859-1")
    assert report.added == 1


def test_ftp_drop(sandbox):
    host, port = sandbox.start_ftp()
    drop = FtpDrop(host, port, "acme", "pw-acme", timeout=10)
    assert drop.deliver("clients", [Client("C1", "Firm A")], report_timeout=20).added == 1
    report = drop.deliver("items", items(range(300)), stock=True, encoding="ISO-8859-1", report_timeout=20)
    assert (report.rows, report.added, report.mode) == (300, 300, "STOCK")
    assert drop.deliver("contacts", [Contact("C1", "Jackson", "Mike")], report_timeout=20).added == 1


def test_a_bad_row_mid_upload_imports_nothing(client):
    client.import_file("clients", [Client("C1", "Firm A")])
    rows = (*items(range(5000)), *items([7]))  # the duplicate comes after two chunks were sent
    with pytest.raises(RowError) as info:
        client.import_file("items", iter(rows), stock=True)
    assert info.value.row == 5001
    report = client.import_file("items", items([1]), stock=False)
    assert (report.added, report.updated, report.unchanged) == (1, 0, 0)  # the aborted file left nothing
