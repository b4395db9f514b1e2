"""Encodings and bytes: every bad encoding, NUL, over-wide or over-long input is a clear 4xx code, on the
synchronous path, the ``/apiPutFiles/`` jobs and the FTP drop; never a 500 nor an ``INTERNAL_ERROR`` job."""

from __future__ import annotations

import ftplib
import io
import json
from collections.abc import Iterator

import pytest
from mydso_sandbox_helpers import CLIENTS, Wire, ftp_report, item, items_csv, rows

from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.sandbox.mydso.reader import MAX_COLUMNS, MAX_FIELD_CHARS, MAX_SEPARATORS

UNUSABLE_ENCODINGS = [
    "undefined",  # always fails
    "punycode",  # a domain-name transform: fails on ordinary text
    "idna",
    "utf-8\x00",  # a NUL in the name
    "rot13",  # a text transform
    "base64",  # binary transforms
    "hex",
    "zip",
    "bz2",
    "unicode_escape",  # Python's own escape codecs rewrite backslashes
    "raw_unicode_escape",
    "klingon-8",  # unknown
    "",
    " ",
    "utf-8" * 20,
    "cp037",  # EBCDIC: a text encoding, but its line breaks and separators are not the CSV's bytes
]


def submitted(wire: Wire, sandbox: MyDsoSandbox, kind: str, body: bytes, params: dict) -> tuple[int, dict]:
    """``/apiPutFiles/``: the refusal at submission, or the finished job's report."""
    status, answer = wire.post(f"/apiPutFiles/{kind}", body, params)
    if status != 202:
        return status, answer
    assert sandbox.jobs.join(10)
    status, job = wire.get(f"/apiPutFiles/{answer['job_id']}")
    assert status == 200 and job["status"] in ("done", "failed")
    return 400 if job["status"] == "failed" else 200, job["report"]


def both_paths(
    wire: Wire, sandbox: MyDsoSandbox, kind: str, body: bytes, params: dict | None = None
) -> Iterator:
    yield wire.post(f"/api/{kind}", body, params or {})
    yield submitted(wire, sandbox, kind, body, params or {})


@pytest.mark.parametrize("encoding", UNUSABLE_ENCODINGS)
def test_unusable_encodings_are_bad_encoding(wire: Wire, sandbox: MyDsoSandbox, encoding: str) -> None:
    for status, body in both_paths(wire, sandbox, "clients", CLIENTS, {"encoding": encoding}):
        assert (status, body["success"], body["error_code"]) == (400, False, "BAD_ENCODING"), body
        assert "encoding" in body["message"]
    assert rows(sandbox, "SELECT count(*) FROM client") == [(0,)]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "UTF-16"])
def test_utf16_and_utf32_need_a_byte_order_mark(wire: Wire, sandbox: MyDsoSandbox, encoding: str) -> None:
    text = CLIENTS.decode()
    little_endian = encoding.lower() + "-le"
    for status, body in both_paths(
        wire, sandbox, "clients", text.encode(little_endian), {"encoding": encoding}
    ):
        assert (status, body["error_code"]) == (400, "BAD_ENCODING"), body
        assert "byte order mark" in body["message"]
    with_bom = text.encode(encoding)  # Python writes the BOM
    assert wire.post("/api/clients", with_bom, {"encoding": encoding})[1]["added"] == 3
    assert (
        wire.post("/api/clients", text.encode(little_endian), {"encoding": little_endian})[1]["unchanged"]
        == 3
    )


def test_real_text_encodings_still_work(wire: Wire) -> None:
    latin = "client_code;client_business_name\r\nC7;Café Ørsted\r\n"
    for encoding in ("ISO-8859-1", "cp1252", "mac-roman", "utf-8-sig", "utf-7", "utf-16-be"):
        status, body = wire.post("/api/clients", latin.encode(encoding), {"encoding": encoding})
        assert (status, body["success"]) == (200, True), (encoding, body)


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (b'"client_code";"client_business_name"\r\n"C1";"A\x00B"\r\n', 2),  # in a field
        (b'"client_code";"client_\x00business_name"\r\n"C1";"A"\r\n', 1),  # in the header
        (b"client_code;client_business_name\r\nC1;A\r\nC2;B\x00\r\n", 3),  # unquoted
    ],
)
def test_a_nul_is_csv_bad_syntax(wire: Wire, sandbox: MyDsoSandbox, body: bytes, line: int) -> None:
    for status, report in both_paths(wire, sandbox, "clients", body):
        assert (status, report["error_code"]) == (400, "CSV_BAD_SYNTAX"), report
        assert report["message"].startswith(f"line {line}: a NUL character")
    assert rows(sandbox, "SELECT count(*) FROM client") == [(0,)]


def test_utf16_sent_as_utf8_says_so(wire: Wire) -> None:
    status, body = wire.post("/api/clients", CLIENTS.decode().encode("utf-16-le"))
    assert (status, body["error_code"]) == (400, "CSV_BAD_SYNTAX")
    assert "is the file UTF-16?" in body["message"]


def wide_items(columns: int) -> bytes:
    """An items file with the required columns and extra ones up to ``columns`` in all."""
    names = ["client_code", "item_number", "item_date_issue", "item_date_due", "item_amount_initial_inc_tax"]
    extra = [f"erp_{n}" for n in range(columns - len(names))]
    values = ["C0001", "1", "2025-05-01", "2025-05-31", "10.00"] + [f"v{n}" for n in range(len(extra))]
    return (";".join(names + extra) + "\r\n" + ";".join(values) + "\r\n").encode()


def test_the_column_limit(wire: Wire, sandbox: MyDsoSandbox) -> None:
    wire.post("/api/clients", CLIENTS)
    status, body = wire.post("/api/items", wide_items(MAX_COLUMNS))
    assert (status, body["added"], len(body["unknown_columns"])) == (200, 1, MAX_COLUMNS - 5)
    data = json.loads(rows(sandbox, "SELECT data FROM item")[0][0])
    assert (len(data), data["erp_0"], data[f"erp_{MAX_COLUMNS - 6}"]) == (
        MAX_COLUMNS,
        "v0",
        f"v{MAX_COLUMNS - 6}",
    )
    for status, body in both_paths(wire, sandbox, "items", wide_items(MAX_COLUMNS + 1)):
        assert (status, body["error_code"]) == (400, "CSV_BAD_SYNTAX")
        assert body["message"] == "header: 1,001 columns, at most 1,000"
    # trailing nameless columns (Excel saves its used range) do not count, up to the widest sheet
    trailing = wide_items(5).replace(b"\r\n", b";" * (MAX_SEPARATORS - 4) + b"\r\n")
    assert wire.post("/api/items", trailing)[1]["success"] is True


def test_a_line_with_too_many_fields_is_refused_before_it_is_parsed(
    wire: Wire, sandbox: MyDsoSandbox
) -> None:
    wire.post("/api/clients", CLIENTS)
    header, row = wide_items(5).splitlines()
    hostile = header + b"\r\n" + row + b";" * 200_000 + b"\r\n"
    for status, body in both_paths(wire, sandbox, "items", hostile):
        assert (status, body["error_code"]) == (400, "CSV_BAD_SYNTAX")
        assert body["message"] == "line 2: more than 16,384 fields on one line"
    quoted = header + b"\r\n" + row + b';"' + b";" * 20_000 + b'"\r\n'  # separators inside quotes are data
    status, body = wire.post("/api/items", quoted)
    assert (status, body["rejected_rows"]) == (200, [{"line": 2, "column": None, "reason": "FIELD_COUNT"}])


def test_the_field_length_limit(wire: Wire, sandbox: MyDsoSandbox) -> None:
    def clients(name_length: int) -> bytes:
        return b'"client_code";"client_business_name"\r\n"C1";"' + b"x" * name_length + b'"\r\n'

    assert wire.post("/api/clients", clients(MAX_FIELD_CHARS))[1]["added"] == 1
    for status, body in both_paths(wire, sandbox, "clients", clients(MAX_FIELD_CHARS + 1)):
        assert (status, body["error_code"]) == (400, "CSV_BAD_SYNTAX")
        assert body["message"] == "line 2: a field longer than 131,072 characters"


def test_a_users_file_linking_one_user_to_many_clients(wire: Wire, sandbox: MyDsoSandbox) -> None:
    """``replace_users_association`` with more client links than SQLite has parameters (32,766)."""
    codes = [f"K{n:05d}" for n in range(33_000)]
    clients = "client_code;client_business_name\r\n" + "".join(f"{c};Client {c}\r\n" for c in codes)
    sandbox.max_body_bytes = 8 * 1024 * 1024
    assert wire.post("/api/clients", clients.encode())[1]["added"] == len(codes)
    users = "user_email;client_code\r\n" + "".join(f"a@b.dk;{c}\r\n" for c in codes)
    status, body = wire.post("/api/users", users.encode(), {"replace_users_association": "1"})
    assert (status, body["added"], body["updated"]) == (200, 1, len(codes) - 1)


# -- the FTP drop -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "body", "code"),
    [
        ("items_1.punycode.csv", items_csv(item("1")), "BAD_ENCODING"),
        ("items_2.hex.csv", items_csv(item("1")), "BAD_ENCODING"),
        ("items_3.csv.zip", items_csv(item("1")), "BAD_ENCODING"),
        ("items_4.utf-16.csv", items_csv(item("1")).decode().encode("utf-16-le"), "BAD_ENCODING"),
        ("items_5.csv", items_csv(item("1")).replace(b"C0001", b"C\x001"), "CSV_BAD_SYNTAX"),
        ("items_6.csv", wide_items(MAX_COLUMNS + 1), "CSV_BAD_SYNTAX"),
    ],
)
def test_the_ftp_drop_reports_the_same_codes(
    ftp: ftplib.FTP, sandbox: MyDsoSandbox, name: str, body: bytes, code: str
) -> None:
    sandbox.import_file("acme", "clients", io.BytesIO(CLIENTS))
    ftp.storbinary(f"STOR {name}", io.BytesIO(body))
    report = ftp_report(ftp, f"{name}.report.json")
    assert (report["success"], report["error_code"]) == (False, code)
    assert sandbox.jobs.join(10)
    assert rows(sandbox, "SELECT count(*) FROM item") == [(0,)]
    assert all(
        job.report is None or job.report["error_code"] != "INTERNAL_ERROR"
        for job in sandbox.jobs._jobs.values()
    )
