"""The FTP drop over explicit FTPS: generated or given certificates, TLS required or offered, CLI flags."""

from __future__ import annotations

import ftplib
import io
import ipaddress
import os
import signal
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from mydso_sandbox_helpers import ACME, CLIENTS, ftp_report, rows

from dsobridge.cli import cli
from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.sandbox.mydso.ftp import make_self_signed_certificate

REPO = Path(__file__).resolve().parents[3]
SERVE_FTPS = (
    "sandbox",
    "mydso",
    "serve",
    "--port",
    "0",
    "--ftp-port",
    "0",
    "--ftps",
    "--account",
    ":".join(ACME),
)


def tls_session(address: tuple[str, int], context: ssl.SSLContext, *, protect: bool = True) -> ftplib.FTP_TLS:
    ftp = ftplib.FTP_TLS(context=context)  # noqa: S321 - explicit TLS, verified
    ftp.connect(*address, timeout=10)
    ftp.login(*ACME)  # AUTH TLS first, then USER/PASS
    if protect:
        ftp.prot_p()
    return ftp


def test_generated_certificate_serves_ftps_and_goes_away(sandbox: MyDsoSandbox) -> None:
    address = sandbox.start_ftp(tls=True)
    drop = sandbox.ftp
    assert drop is not None and drop.tls and drop.certfile is not None
    tls_dir = drop.certfile.parent
    assert REPO not in tls_dir.parents and sorted(p.name for p in tls_dir.iterdir()) == [
        "cert.pem",
        "key.pem",
    ]
    assert stat.S_IMODE((tls_dir / "key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(tls_dir.stat().st_mode) == 0o700
    pem = drop.cert_pem
    assert pem is not None and b"PRIVATE KEY" not in pem and pem.count(b"BEGIN CERTIFICATE") == 1
    cert = x509.load_pem_x509_certificate(pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert cert.issuer == cert.subject
    context = ssl.create_default_context(cadata=pem.decode())
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # Python 3.13's default: the certificate must pass it too
    ftp = tls_session(address, context)
    assert isinstance(ftp.sock, ssl.SSLSocket) and ftp.sock.version() in ("TLSv1.2", "TLSv1.3")
    ftp.storbinary("STOR clients_20250630.csv", io.BytesIO(CLIENTS))
    report = ftp_report(ftp, "clients_20250630.csv.report.json")
    assert (report["success"], report["file_type"], report["added"]) == (True, "clients", 3)
    ftp.quit()
    assert rows(sandbox, "SELECT file_type, channel FROM import") == [("clients", "ftp")]
    sandbox.stop_ftp()
    assert not tls_dir.exists()


def test_tls_required_refuses_plain_logins_and_clear_data(sandbox: MyDsoSandbox) -> None:
    address = sandbox.start_ftp(tls=True)
    plain = ftplib.FTP()  # noqa: S321 - the point: a client that never starts TLS
    plain.connect(*address, timeout=10)
    with pytest.raises(ftplib.error_perm, match=r"^550 SSL/TLS required on the control channel\.$"):
        plain.login(*ACME)
    plain.close()
    context = ssl.create_default_context(cadata=sandbox.ftp.cert_pem.decode())  # type: ignore[union-attr]
    clear_data = tls_session(address, context, protect=False)
    with pytest.raises(ftplib.error_perm, match=r"^550 SSL/TLS required on the data channel\.$"):
        clear_data.storbinary("STOR clients.csv", io.BytesIO(CLIENTS))
    clear_data.quit()
    sandbox.jobs.join(5)
    assert rows(sandbox, "SELECT count(*) FROM import") == [(0,)]
    assert os.listdir(sandbox.ftp.home("acme")) == []  # type: ignore[union-attr]


def test_tls_offered_but_optional_and_certificate_files(sandbox: MyDsoSandbox, tmp_path: Path) -> None:
    cert, key = make_self_signed_certificate(tmp_path, hosts=("127.0.0.1",))
    combined = tmp_path / "combined.pem"
    combined.write_bytes(cert.read_bytes() + key.read_bytes())  # the key may sit in the certificate file
    address = sandbox.start_ftp(
        tls=True, certfile=combined, tls_control_required=False, tls_data_required=False
    )
    assert sandbox.ftp.cert_pem == cert.read_bytes()  # type: ignore[union-attr]  # certificates only
    plain = ftplib.FTP()  # noqa: S321 - allowed when TLS is only offered
    plain.connect(*address, timeout=10)
    plain.login(*ACME)
    plain.storbinary("STOR clients_a.csv", io.BytesIO(CLIENTS))
    assert ftp_report(plain, "clients_a.csv.report.json")["added"] == 3
    plain.quit()
    secure = tls_session(address, ssl.create_default_context(cafile=str(cert)))
    secure.storbinary("STOR clients_b.csv", io.BytesIO(CLIENTS))
    assert ftp_report(secure, "clients_b.csv.report.json")["unchanged"] == 3
    secure.quit()
    assert cert.exists() and key.exists()  # given files are the caller's: never removed
    with pytest.raises(RuntimeError, match=r"^the FTP drop already runs with tls=True; stop_ftp\(\) first$"):
        sandbox.start_ftp()


def test_bad_certificate_options(sandbox: MyDsoSandbox, tmp_path: Path) -> None:
    cert, key = make_self_signed_certificate(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, other_key = make_self_signed_certificate(other)
    with pytest.raises(ValueError, match=r"^certfile/keyfile are for tls=True$"):
        sandbox.start_ftp(certfile=cert, keyfile=key)
    with pytest.raises(ValueError, match=rf"^{other_key} holds no private key matching {cert}$") as info:
        sandbox.start_ftp(tls=True, certfile=cert, keyfile=other_key)
    assert other_key.read_text().splitlines()[1] not in str(info.value)
    with pytest.raises(ValueError, match=rf"^{key} holds no usable PEM certificate$"):
        sandbox.start_ftp(tls=True, certfile=key, keyfile=key)
    with pytest.raises(FileNotFoundError, match=r"not found: .*missing\.pem$"):
        sandbox.start_ftp(tls=True, certfile=tmp_path / "missing.pem")
    assert sandbox.ftp is None


def test_cli_ftps_prints_the_certificate_to_trust_and_never_the_key() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "from dsobridge.cli import main; main()", *SERVE_FTPS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    found: dict[str, str] = {}
    try:
        assert process.stdout is not None
        for line in process.stdout:
            key, _, value = line.strip().partition("=")
            found[key] = value
            if key == "LOGIN":
                break
        assert list(found) == ["BASE_URL", "ASYNC_URL", "FTP", "FTP_TLS", "FTP_CERT", "LOGIN"]
        assert found["FTP_TLS"] == "required" and found["FTP_CERT"].endswith("/cert.pem")
        host, port = found["FTP"].split(":")
        ftp = tls_session((host, int(port)), ssl.create_default_context(cafile=found["FTP_CERT"]))
        ftp.storbinary("STOR clients.csv", io.BytesIO(CLIENTS))
        assert ftp_report(ftp, "clients.csv.report.json")["added"] == 3
        ftp.quit()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert "PRIVATE KEY" not in out + err and ACME[1] not in out + err
    assert "Traceback" not in err
    assert not Path(found["FTP_CERT"]).exists()  # the generated pair is removed at shutdown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ftps"], "--ftps, --ftps-allow-plain, --ftp-cert and --ftp-key need --ftp-port"),
        (
            ["--ftp-port", "0", "--ftps-allow-plain"],
            "--ftps-allow-plain, --ftp-cert and --ftp-key need --ftps",
        ),
    ],
)
def test_cli_ftps_option_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "mydso", "serve", "--port", "0", *args])
    assert result.exit_code == 2
    assert message in result.output
