"""Fuzzing the sandbox's HTTP entry points: whatever a client sends, the answer is never a 5xx and no import
job ends ``INTERNAL_ERROR``.

Entry points: ``POST /api/{kind}`` and ``/apiPutFiles/{kind}`` (random options, content types and bodies:
CSV-shaped text in several encodings, or random bytes), ``GET /apiPutFiles/{id}``, the ledger's JSON
endpoints and the web page (random query strings), all with random authorization. In-process and over a
loopback socket (fewer examples there: each one is a real request). The FTP drop too: random names (options
in their tokens) and bodies.
"""

from __future__ import annotations

import base64
import ftplib
import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mydso_sandbox_helpers import ACME, CLIENTS, OTHER, TODAY, ftp_report, item, items_csv

from dsobridge.sandbox import InProcessTransport, LoopbackServer
from dsobridge.sandbox.mydso import COLUMNS, ImportOptions, MyDsoSandbox
from dsobridge.sandbox.mydso.importer import REQUIRED
from dsobridge.sandbox.mydso.options import kind_from_filename

EXAMPLES = {"inprocess": 200, "loopback": 30}


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[MyDsoSandbox]:
    """A sandbox with clients, open and cleared items in two currencies, credits and a payment on account."""
    sb = MyDsoSandbox(accounts=dict([ACME, OTHER]), today=TODAY, max_body_bytes=256 * 1024)
    sb.import_file("acme", "clients", io.BytesIO(CLIENTS))
    sb.import_file(
        "acme",
        "items",
        io.BytesIO(
            items_csv(
                item("1", "1000.00", issue="2024-11-03", due="2024-12-03"),
                item("2", "-250.00", kind="AVO", client="C0002"),
                item("3", "500.00", payment="2025-06-01", currency="EUR"),
                item("4", "-75.50", kind="RGL", client="C0003", issue="2023-02-28", due="2023-02-28"),
            )
        ),
        ImportOptions(stock=True),
    )
    yield sb
    sb.close()


@pytest.fixture(scope="module", params=["inprocess", "loopback"])
def client(request: pytest.FixtureRequest, fuzzed: MyDsoSandbox) -> Iterator[httpx2.Client]:
    if request.param == "inprocess":
        transport = InProcessTransport(fuzzed.app)
        with httpx2.Client(transport=transport, base_url="http://mydso.sandbox") as http:
            http.examples = EXAMPLES["inprocess"]  # type: ignore[attr-defined]
            yield http
        transport.close()
    else:
        with LoopbackServer(fuzzed.app) as server, httpx2.Client(base_url=server.url, timeout=60) as http:
            http.examples = EXAMPLES["loopback"]  # type: ignore[attr-defined]
            yield http


# -- strategies -------------------------------------------------------------------------------------------
SAMPLE_VALUES = [
    "2025-01-31", "31/01/2025", "2025/01/31", "20250131", "01-JAN-25", "31-dec-1999", "0001-01-01",
    "1899-12-31", "9999-12-31", "2025-02-30", "1 200,50", "6\u00a0580,10", "-100", "100-", "(42.10)", ".5",
    "1.234.567", "1e9", "NaN", "\u0663", "FAC", "AVO", "RGL", "DPA", "NF", "CM", "C0001", "C0002", "C0003",
    "DKK", "EUR", "eur", "€", "1", "0", "", " ", '"', ";", "\x00", "a\nb",
]  # fmt: skip
VALUES = st.one_of(st.text(max_size=24), st.sampled_from(SAMPLE_VALUES))
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "utf-7", "shift_jis"]
OPTION_NAMES = ["encoding", "clear_items_not_modified", "replace_users_association"]
SAMPLE_OPTIONS = [
    *ENCODINGS, "true", "false", "1", "0", "yes", "2", "undefined", "punycode", "hex", "zip", "rot13",
    "utf-16-be", "idna", "cp037", "utf-8\x00", "",
]  # fmt: skip
OPTION_VALUES = st.one_of(st.sampled_from(SAMPLE_OPTIONS), st.text(max_size=12))
SEGMENTS = st.text(min_size=1, max_size=10).map(lambda text: quote(text, safe=""))  # one path segment
KINDS = st.one_of(st.sampled_from(sorted(COLUMNS)), SEGMENTS)


@st.composite
def csv_bodies(draw: st.DrawFn, kind: str) -> bytes:
    known = list(COLUMNS.get(kind, COLUMNS["items"]))
    header = draw(st.lists(st.one_of(st.sampled_from(known), st.text(max_size=10)), max_size=10))
    if draw(st.booleans()):
        header = list(REQUIRED.get(kind, ())) + header
    rows = draw(st.lists(st.lists(VALUES, max_size=len(header) + 2), max_size=6))
    delimiter = draw(st.sampled_from([";", ",", "\t"]))
    quoted = draw(st.booleans())
    line_end = draw(st.sampled_from(["\r\n", "\n", "\r", ""]))

    def line(fields: list[str]) -> str:
        if quoted:
            return delimiter.join('"' + f.replace('"', '""') + '"' for f in fields)
        return delimiter.join(fields)

    text = "\r\n".join(line(fields) for fields in [header, *rows]) + line_end
    encoding = draw(st.sampled_from(ENCODINGS))
    return text.encode(encoding, errors="replace")


CONTENT_TYPES = [
    None, "text/csv", "text/csv; charset=iso-8859-1", "text/csv; charset=klingon", "text/csv; charset=",
    "multipart/form-data", "multipart/form-data; boundary=xyz", "application/octet-stream",
]  # fmt: skip


@st.composite
def uploads(draw: st.DrawFn) -> tuple[str, dict[str, str], dict[str, str], bytes]:
    """Mostly a known type with known options (so that the file gets parsed), sometimes anything."""
    kind = draw(st.one_of(st.sampled_from(sorted(COLUMNS)), KINDS))
    params = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "encoding": OPTION_VALUES,
                "clear_items_not_modified": OPTION_VALUES,
                "replace_users_association": OPTION_VALUES,
            },
        )
    )
    params.update(draw(st.dictionaries(st.text(max_size=8), OPTION_VALUES, max_size=1)))
    body = draw(st.one_of(csv_bodies(kind), csv_bodies(kind), st.binary(max_size=600)))
    headers = {}
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type is not None:
        headers["Content-Type"] = content_type
    if content_type == "multipart/form-data; boundary=xyz" and draw(st.booleans()):
        body = (
            b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
            + body
            + b"\r\n--xyz--\r\n"
        )
    return kind, params, headers, body


VALID_AUTH = {"Authorization": "Basic " + base64.b64encode(f"{ACME[0]}:{ACME[1]}".encode()).decode()}


def authorizations() -> st.SearchStrategy[dict[str, str]]:
    def basic(raw: bytes) -> dict[str, str]:
        return {"Authorization": ("Basic " + base64.b64encode(raw).decode()).strip()}

    return st.one_of(
        st.just(VALID_AUTH),
        st.just({}),
        st.binary(max_size=30).map(basic),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(
            lambda text: {"Authorization": text.strip()}
        ),
        st.sampled_from(
            [{"Authorization": "Basic"}, {"Authorization": "Basic ===="}, {"Authorization": "Bearer x"}]
        ),
    )


QUERY_NAMES = ["as_of", "currency", "months", "status", "client_code", "group", "credits"]
SAMPLE_QUERY_VALUES = [
    "2025-06-30", "0001-01-01", "1899-12-31", "1900-01-01", "9999-12-31", "2025-02-30", "12", "0", "-1",
    "120", "121", "999999999999999999999", "DKK", "EUR", "dkk", "ÆØÅ", "€€€", "open", "cleared", "all",
    "column", "by_date", "C0001", "Retail", "",
]  # fmt: skip
QUERY_VALUES = st.one_of(st.sampled_from(SAMPLE_QUERY_VALUES), st.text(max_size=12))
QUERIES = st.dictionaries(
    st.one_of(st.sampled_from(QUERY_NAMES), st.text(max_size=6)), QUERY_VALUES, max_size=4
)
LEDGER_PATHS = st.one_of(
    st.sampled_from(["/ledger/clients", "/ledger/items", "/ledger/aging", "/ledger/dso"]),
    st.one_of(st.sampled_from(["C0001", "C0002", "nope"]), SEGMENTS).map(
        lambda code: f"/ledger/clients/{code}/statement"
    ),
)
UI_PATHS = st.one_of(
    st.just("/ui"),
    st.one_of(st.sampled_from(["acme", "other", "nobody"]), SEGMENTS).map(lambda a: f"/ui/{a}"),
    st.tuples(st.sampled_from(["acme", "other"]), st.sampled_from(["C0001", "C0003", "nope"])).map(
        lambda ac: f"/ui/{ac[0]}/clients/{ac[1]}"
    ),
)


# -- the properties ---------------------------------------------------------------------------------------
def assert_no_server_error(response: httpx2.Response) -> Any:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.headers.get("content-type", "").startswith("application/json"):
        payload = response.json()
        if isinstance(payload, dict):
            assert payload.get("error_code") != "INTERNAL_ERROR", payload
        return payload
    return None


def fuzz(client: httpx2.Client) -> Any:
    return settings(
        max_examples=client.examples,  # type: ignore[attr-defined]
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def test_imports_never_fail_with_a_server_error(client: httpx2.Client) -> None:
    @fuzz(client)
    @given(upload=uploads(), auth=st.one_of(st.just(VALID_AUTH), st.just(VALID_AUTH), authorizations()))
    def check(upload: tuple[str, dict[str, str], dict[str, str], bytes], auth: dict[str, str]) -> None:
        kind, params, headers, body = upload
        response = client.post(f"/api/{kind}", params=params, content=body, headers={**headers, **auth})
        assert_no_server_error(response)

    check()


def test_async_jobs_never_end_in_internal_error(client: httpx2.Client, fuzzed: MyDsoSandbox) -> None:
    @fuzz(client)
    @given(
        upload=uploads(),
        auth=st.one_of(st.just(VALID_AUTH), st.just(VALID_AUTH), authorizations()),
        job_id=SEGMENTS,
    )
    def check(
        upload: tuple[str, dict[str, str], dict[str, str], bytes], auth: dict[str, str], job_id: str
    ) -> None:
        kind, params, headers, body = upload
        submitted = client.post(
            f"/apiPutFiles/{kind}", params=params, content=body, headers={**headers, **auth}
        )
        answer = assert_no_server_error(submitted)
        if submitted.status_code == 202:
            assert fuzzed.jobs.join(30)
            job = assert_no_server_error(client.get(f"/apiPutFiles/{answer['job_id']}", headers=auth))
            assert job["status"] in ("done", "failed")
            assert job["report"] is not None and job["report"]["error_code"] != "INTERNAL_ERROR", job
        assert_no_server_error(client.get(f"/apiPutFiles/{job_id}", headers=auth))

    check()


def test_ledger_endpoints_never_fail_with_a_server_error(client: httpx2.Client) -> None:
    @fuzz(client)
    @given(path=LEDGER_PATHS, query=QUERIES, auth=authorizations())
    def check(path: str, query: dict[str, str], auth: dict[str, str]) -> None:
        assert_no_server_error(client.get(path, params=query, headers=auth))

    check()


def test_web_pages_never_fail_with_a_server_error(client: httpx2.Client) -> None:
    @fuzz(client)
    @given(path=UI_PATHS, query=QUERIES, auth=authorizations())
    def check(path: str, query: dict[str, str], auth: dict[str, str]) -> None:
        assert_no_server_error(client.get(path, params=query, headers=auth))

    check()


CLOCK_VALUES = st.one_of(
    st.integers(),
    st.text(max_size=12),
    st.sampled_from(["0001-01-01", "9999-12-31", "2025-06-30"]),
    st.none(),
    st.floats(allow_nan=True),
    st.lists(st.integers(), max_size=2),
)
CLOCK_BODIES = st.one_of(
    st.binary(max_size=40),
    st.dictionaries(st.sampled_from(["today", "advance_days", "x"]), CLOCK_VALUES).map(
        lambda d: json.dumps(d).encode()
    ),
)


@settings(max_examples=60, deadline=None)
@given(payload=CLOCK_BODIES)
def test_the_clock_and_the_ledger_after_it_never_fail(payload: bytes) -> None:
    """The operator's clock route takes any body; whatever date it accepts, the ledger still answers."""
    with MyDsoSandbox(accounts=dict([ACME]), today=TODAY) as sb:
        sb.import_file("acme", "clients", io.BytesIO(CLIENTS))
        sb.import_file("acme", "items", io.BytesIO(items_csv(item("1"), item("2", "-5.00", kind="AVO"))))
        transport = InProcessTransport(sb.app)
        with httpx2.Client(transport=transport, base_url="http://mydso.sandbox", auth=ACME) as http:
            assert_no_server_error(http.post("/_sandbox/clock", content=payload))
            assert isinstance(sb.today, date)
            for path in (
                "/ledger/dso",
                "/ledger/aging",
                "/ledger/clients",
                "/ui/acme",
                "/ui/acme/clients/C0001",
            ):
                assert_no_server_error(http.get(path))
        transport.close()


FILE_NAME_TOKENS = st.lists(
    st.one_of(
        st.sampled_from(["stock", "delta", "replace", "add", "csv", "txt", "20251120", "part", "tmp"]),
        st.sampled_from([*ENCODINGS, "hex", "zip", "punycode", "undefined", "cp037", "idna", "rot13"]),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=8),
    ),
    max_size=4,
)


@pytest.fixture(scope="module")
def drop(fuzzed: MyDsoSandbox) -> Iterator[ftplib.FTP]:
    host, port = fuzzed.start_ftp()
    session = ftplib.FTP()  # noqa: S321 - the sandbox drop on loopback
    session.connect(host, port, timeout=30)
    session.login(*ACME)
    yield session
    session.close()
    fuzzed.stop_ftp()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(COLUMNS)), tokens=FILE_NAME_TOKENS, data=st.data())
def test_the_ftp_drop_never_ends_in_internal_error(
    drop: ftplib.FTP, kind: str, tokens: list[str], data: st.DataObject
) -> None:
    """Any name and body through the FTP drop: a report (none for a temporary name), never
    ``INTERNAL_ERROR``."""
    body = data.draw(st.one_of(csv_bodies(kind), st.binary(max_size=400)))
    name = ".".join([f"{kind}_fuzz", *tokens])
    drop.storbinary(f"STOR {name}", io.BytesIO(body))
    if kind_from_filename(name) is None:  # a temporary name: the drop leaves it alone
        drop.delete(name)
        return
    report = ftp_report(drop, f"{name}.report.json")
    assert report["success"] or report["error_code"] != "INTERNAL_ERROR", report
    assert name not in drop.nlst()
    drop.delete(f"{name}.report.json")
