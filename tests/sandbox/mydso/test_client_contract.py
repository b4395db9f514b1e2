"""The contract again, driven by our client (``dsobridge.mydso.MyDsoClient``), in-process and on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mydso_sandbox_helpers import ACME, CLIENTS, item, items_csv, items_state

from dsobridge.mydso import AccessDenied, ImportRejected, MyDsoClient, RejectedRow
from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.mydso import MyDsoSandbox


@pytest.fixture(params=["inprocess", "loopback"])
def client(request: pytest.FixtureRequest, sandbox: MyDsoSandbox) -> Iterator[MyDsoClient]:
    if request.param == "inprocess":
        transport = InProcessTransport(sandbox.app)
        with MyDsoClient(*ACME, base_url="http://mydso.sandbox/api/", transport=transport) as c:
            yield c
        transport.close()
    else:
        with LoopbackServer(sandbox.app) as server, MyDsoClient(*ACME, base_url=server.url + "/api/") as c:
            yield c


def test_client_imports_and_reads_the_counts(client: MyDsoClient, sandbox: MyDsoSandbox) -> None:
    report = client.import_file("clients", CLIENTS)
    assert (report.success, report.file_type, report.rows, report.added) == (True, "clients", 3, 3)
    report = client.import_file(
        "items", items_csv(item("1"), item("2"), item("3", client="C0404")), stock=True
    )
    assert (report.mode, report.rows, report.added, report.rejected) == ("STOCK", 3, 2, 1)
    assert report.rejected_rows == [RejectedRow(line=4, column="client_code", reason="UNKNOWN_CLIENT")]
    sandbox.advance(1)
    report = client.import_file("items", items_csv(item("2")), stock=True)
    assert (report.unchanged, report.cleared) == (1, 1)
    assert items_state(sandbox) == {
        "C0001|FAC|1|2025": ("0.00", "2025-07-01", "STOCK"),
        "C0001|FAC|2|2025": ("1000.00", None, None),
    }


def test_client_sees_file_level_errors_and_access_denied(client: MyDsoClient, sandbox: MyDsoSandbox) -> None:
    seed = b'"item_type";"item_date_issue";"item_date_issue"\r\n"FAC";"2025-03-13";"2025-03-20"\r\n'
    with pytest.raises(ImportRejected) as info:
        client.import_file("items", seed)
    assert info.value.error_code == "CSV_BAD_SYNTAX"
    assert info.value.report.raw["column"] == "item_date_issue"
    with (
        MyDsoClient(
            "acme", "wrong", base_url="http://mydso.sandbox/api/", transport=InProcessTransport(sandbox.app)
        ) as bad,
        pytest.raises(AccessDenied),
    ):
        bad.import_file("clients", CLIENTS)


def test_client_async_path(client: MyDsoClient, sandbox: MyDsoSandbox) -> None:
    client.import_file("clients", CLIENTS)
    report = client.import_file_async("items", items_csv(item("1"), item("2")), stock=False, timeout=20)
    assert (report.success, report.mode, report.added) == (True, "DELTA", 2)
    assert sorted(items_state(sandbox)) == ["C0001|FAC|1|2025", "C0001|FAC|2|2025"]
