"""``--tls`` on both sandboxes: HTTPS with a generated self-signed certificate, whose CA file a client trusts
— explicitly (``ssl.create_default_context(cafile=…)``) or on its default https path (``SSL_CERT_FILE``)."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from dsobridge.dynaccount import DynaccountClient
from dsobridge.sandbox.dynaccount import DynaccountSandbox
from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.sandbox.tls import TlsServer, make_certificate

TODAY = dt.date(2026, 11, 20)


def test_certificate_names_the_loopback_and_the_host(tmp_path: Path) -> None:
    from cryptography import x509

    cert, key = make_certificate(tmp_path, "sandbox.local")
    names = x509.load_pem_x509_certificate(cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert {str(n.value) for n in names.value} == {"localhost", "127.0.0.1", "::1", "sandbox.local"}
    assert key.stat().st_mode & 0o077 == 0  # the key is private


def test_dynaccount_over_https(monkeypatch: pytest.MonkeyPatch) -> None:
    with DynaccountSandbox(today=TODAY) as sb:
        sb.seed(debtors=4, invoices=20, seed=1)
        with TlsServer(sb.app) as server:
            assert server.url.startswith("https://127.0.0.1:")
            trusted = ssl.create_default_context(cafile=str(server.certfile))
            with httpx2.Client(verify=trusted) as http:
                assert http.get(f"{server.url}/_sandbox/credentials").json() == {
                    "api_id": sb.credentials.api_id
                }
            monkeypatch.delenv("SSL_CERT_FILE", raising=False)
            with pytest.raises(httpx2.ConnectError):  # the system's CAs do not know the sandbox
                httpx2.get(f"{server.url}/_sandbox/credentials", verify=ssl.create_default_context())
            monkeypatch.setenv("SSL_CERT_FILE", str(server.certfile))  # the client's default https path
            c = sb.credentials
            with DynaccountClient(c.api_id, c.api_key, c.api_secret, base_url=server.url) as client:
                assert [r["name"] for r in client.get("vatcode", select=["name"], limit=(0, 2))] == [
                    "EI25",
                    "EU25",
                ]
            directory = server.certfile.parent
        assert not directory.exists()  # the generated certificate goes with the server


def test_mydso_over_https() -> None:
    sb = MyDsoSandbox(accounts={"acme": "pw"}, today=TODAY)
    try:
        with (
            TlsServer(sb.app) as server,
            httpx2.Client(verify=ssl.create_default_context(cafile=str(server.certfile))) as http,
        ):
            assert http.get(f"{server.url}/_sandbox/clock").json() == {"today": TODAY.isoformat()}
    finally:
        sb.close()


def _serve(*args: str) -> tuple[subprocess.Popen, dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", "from dsobridge.cli import main; main()", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    found: dict[str, str] = {}
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    while "CA_FILE" not in found and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        key, _, value = line.strip().partition("=")
        found[key] = value
    return process, found


@pytest.mark.parametrize("sandbox", ["dynaccount", "mydso"])
def test_serve_tls_prints_the_ca_file(tmp_path: Path, sandbox: str) -> None:
    args = ["--db", str(tmp_path / "db.sqlite3")] if sandbox == "dynaccount" else ["--account", "acme:pw"]
    if sandbox == "dynaccount":
        with DynaccountSandbox(tmp_path / "db.sqlite3", today=TODAY) as sb:
            sb.seed(debtors=2, invoices=5, seed=1)
    process, found = _serve(sandbox, "serve", "--port", "0", "--tls", *args)
    try:
        assert found["BASE_URL"].startswith("https://127.0.0.1:"), found
        ca = Path(found["CA_FILE"])
        assert ca.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
        base = found["BASE_URL"].removesuffix("/api/")
        path = "/_sandbox/credentials" if sandbox == "dynaccount" else "/_sandbox/clock"
        with httpx2.Client(verify=ssl.create_default_context(cafile=str(ca))) as http:
            assert http.get(base + path).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert not ca.exists()
