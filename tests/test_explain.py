"""Errors that say what to do: every failure kind, produced by the real clients against real (loopback)
servers where one can be had, mapped by ``dsobridge.explain`` — and never a secret or a URL path in it."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner

from dsobridge.cli import cli
from dsobridge.company import CompanyRef
from dsobridge.explain import KINDS, CheckResult, Explanation, explain, explain_refusal
from dsobridge.mydso import AccessDenied, ImportRejected, ImportTimeout
from dsobridge.mydso.ftp import FtpDrop
from dsobridge.mydso.report import ImportReport
from dsobridge.sandbox import LoopbackServer
from dsobridge.sandbox.dynaccount import DynaccountSandbox
from dsobridge.sandbox.mydso import MyDsoSandbox
from dsobridge.sandbox.mydso.ftp import make_self_signed_certificate
from dsobridge.secret import Secret
from dsobridge.sync.config import ConfigError, DynaccountConfig, MyDsoConfig, load_config
from dsobridge.sync.delivery import dynaccount_client, mydso_client
from dsobridge.sync.extract import ExtractionError, Extractor
from dsobridge.sync.guards import GuardRefusal
from dsobridge.sync.state import Identity, SqliteStateStore, StateError, StateMismatch

TODAY = date(2026, 11, 20)
API_KEY = "5e7a" * 10
API_SECRET = "c4d1" * 10
PASSWORD = "mydso-password-7731"


def _assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in (API_KEY, API_SECRET, PASSWORD, API_KEY[:16]):
            assert secret not in text
        assert "/v5/592912/" not in text or "/v5/592912/***/" in text


def explained(exc: BaseException, company: CompanyRef) -> Explanation:
    why = explain(exc, company=company)
    assert why.kind in KINDS
    assert why.summary and why.action
    _assert_clean(why.summary, why.action, str(why))
    return why


def dyn_config(base_url: str, *, timeout: float = 5.0, key: str = API_KEY, secret: str = API_SECRET):
    return DynaccountConfig(
        api_id=592912,
        api_key=Secret(key),
        api_secret=Secret(secret),
        version="v5",
        base_url=base_url,
        timeout=timeout,
        page_size=1000,
        retries=1,
        retry_timeout=5.0,
    )


def mydso_config(login: str, password: Secret, base_url: str) -> MyDsoConfig:
    return MyDsoConfig(
        login=login,
        password=password,
        base_url=base_url,
        timeout=5.0,
        delivery="http",
        ftp_host="127.0.0.1",
        ftp_port=21,
        ftp_tls=False,
        ftp_cafile=None,
        ftp_login=login,
        ftp_password=password,
        report_timeout=5.0,
    )


def company_for(dyn_url: str = "", dso_url: str = "", state: str = "") -> CompanyRef:
    return CompanyRef(592912, "acme-api", dynaccount_url=dyn_url, mydso_url=dso_url, state_path=state)


def dynaccount_failure(base_url: str, *, transport: httpx2.BaseTransport | None = None, timeout: float = 5.0):
    """The exception the real client raises for ``get debtor`` against ``base_url``."""
    config = dyn_config(base_url, timeout=timeout)
    with dynaccount_client(config, transport=transport) as client, pytest.raises(Exception) as info:
        client.get("debtor", limit=(0, 1))
    return info.value


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def raw_server(serve) -> Iterator[int]:
    """A TCP server on loopback calling ``serve(connection)`` for each connection; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def loop() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, suppress(OSError, ssl.SSLError):
                serve(conn)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def tls_serve(certfile: Path, keyfile: Path):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)

    def serve(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True):
            pass  # the client gives up during the handshake

    return serve


# ---------------------------------------------------------------------------------------- the sandboxes


@pytest.fixture(scope="module")
def ends(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ends")
    dyn = DynaccountSandbox(tmp / "dyn.sqlite3", today=TODAY)
    dso = MyDsoSandbox(tmp / "dso.sqlite3", accounts={"acme": PASSWORD}, today=TODAY)
    dyn.seed(debtors=3, invoices=10, seed=3)
    with LoopbackServer(dyn.app) as dyn_srv, LoopbackServer(dso.app) as dso_srv:
        yield {"dyn": dyn, "dso": dso, "dyn_url": dyn_srv.url, "dso_url": dso_srv.url, "tmp": tmp}
    dyn.close()
    dso.close()


@pytest.fixture
def cli_env(ends, tmp_path, sync_config):
    def make(dyn_url: str | None = None, dso_url: str | None = None, **secrets: str) -> dict[str, str]:
        config, env = sync_config(
            tmp_path, ends["dyn"], dyn_url or ends["dyn_url"], dso_url or ends["dso_url"], PASSWORD
        )
        env.update({f"DSOBRIDGE_{k.upper()}": v for k, v in secrets.items()})
        return {"DSOBRIDGE_CONFIG": str(config), **env}

    return make


def run_check(env: dict[str, str], *args: str):
    result = CliRunner().invoke(cli, ["check", *args], env=env, catch_exceptions=False)
    real = [env[k] for k in env if k.startswith("DSOBRIDGE_") and k != "DSOBRIDGE_CONFIG"]
    for text in (result.stdout, result.stderr):
        assert not any(secret in text for secret in [*real, PASSWORD])
    return result


def test_check_json_names_kind_and_action_per_check(ends, cli_env) -> None:
    good = run_check(cli_env(), "--json")
    assert good.exit_code == 0, good.output
    assert [(c["check"], c["ok"], c["kind"], c["action"]) for c in json.loads(good.stdout)] == [
        ("Dynaccount", True, "ok", None),
        ("My DSO Manager", True, "ok", None),
        ("state store", True, "ok", None),
        ("freshness", True, "ok", None),
    ]
    api_id = ends["dyn"].credentials.api_id
    wrong = {
        "signature": cli_env(dynaccount_api_secret="0" * 40),
        "key": cli_env(dynaccount_api_key="f" * 40),
        "password": cli_env(mydso_password="not-the-password"),
    }
    checks = {}
    for name, env in wrong.items():
        result = run_check(env, "--json")
        assert result.exit_code == 1
        checks[name] = {c["check"]: c for c in json.loads(result.stdout)}
        assert all(set(c) == {"check", "ok", "detail", "kind", "action"} for c in checks[name].values())
    signature = checks["signature"]["Dynaccount"]
    assert signature["kind"] == "dynaccount_signature" and "API_SECRET is wrong" in signature["detail"]
    assert signature["action"] == (
        f"check DSOBRIDGE_DYNACCOUNT_API_SECRET (or dynaccount_api_secret in the secrets file) "
        f"for accounting {api_id}"
    )
    assert checks["signature"]["My DSO Manager"]["ok"] is True
    key = checks["key"]["Dynaccount"]
    assert key["kind"] == "dynaccount_auth" and f"API_ID {api_id}" in key["detail"]
    assert "DSOBRIDGE_DYNACCOUNT_API_KEY" in key["action"]
    not_hex = {
        c["check"]: c for c in json.loads(run_check(cli_env(dynaccount_api_key="not-a-key"), "--json").stdout)
    }
    assert (
        not_hex["Dynaccount"]["kind"] == "config" and "40 hex characters" in not_hex["Dynaccount"]["detail"]
    )
    password = checks["password"]["My DSO Manager"]
    assert password["kind"] == "mydso_auth" and "ACCESS_DENIED" in password["detail"]
    assert "DSOBRIDGE_MYDSO_PASSWORD" in password["action"] and "[mydso] login (acme)" in password["action"]


def test_check_explains_an_unreachable_dynaccount_and_logs_only_to_stderr(ends, cli_env) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = run_check(cli_env(dyn_url=url))
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first == (
        f"FAIL Dynaccount: cannot connect to Dynaccount at {url[7:]}: connection refused — next step: "
        f"check the host and port in [dynaccount] base_url ({url}): nothing accepts connections there from "
        "this machine (or a firewall rejects them)"
    )
    assert "TransportError" not in result.stdout and "ConnectError" not in result.stdout
    assert result.stdout.splitlines()[1].startswith("OK My DSO Manager")
    lines = result.stderr.splitlines()  # the client's one readable line, never the URL path
    assert lines == [line for line in lines if " - run=- dsobridge.dynaccount: " in line]
    assert lines and "giving up on get debtor after connection refused" in lines[-1]
    assert not any("/get/" in line for line in lines)


# ------------------------------------------------------------------------------------ network failures


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    why = explained(dynaccount_failure(url), company_for(url))
    assert why.kind == "connect" and url in why.action and "host and port" in why.action


def test_dns_failure() -> None:
    class NoSuchHost(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            try:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            except socket.gaierror as exc:
                raise httpx2.ConnectError(str(exc)) from exc

    url = "https://api.dynaccount.invalid"
    why = explained(dynaccount_failure(url, transport=NoSuchHost()), company_for(url))
    assert why.kind == "dns"
    assert why.summary == "cannot find the host api.dynaccount.invalid of Dynaccount (DNS lookup failed)"
    assert "getent hosts api.dynaccount.invalid" in why.action


def test_read_timeout() -> None:
    def silent(conn: socket.socket) -> None:
        conn.recv(65536)
        threading.Event().wait(2)

    with raw_server(silent) as port:
        url = f"http://127.0.0.1:{port}"
        why = explained(dynaccount_failure(url, timeout=0.3), company_for(url))
    assert why.kind == "timeout" and "did not answer in time" in why.summary
    assert "[dynaccount] timeout" in why.action


def test_connection_dropped_mid_answer() -> None:
    with raw_server(lambda conn: conn.recv(65536)) as port:
        url = f"http://127.0.0.1:{port}"
        why = explained(dynaccount_failure(url), company_for(url))
    assert why.kind == "connection_lost"


def test_tls_untrusted_certificate(tmp_path) -> None:
    certfile, keyfile = make_self_signed_certificate(tmp_path)
    with raw_server(tls_serve(certfile, keyfile)) as port:
        url = f"https://127.0.0.1:{port}"
        why = explained(dynaccount_failure(url), company_for(url))
    assert why.kind == "tls" and "could not be verified: self-signed certificate" in why.summary
    assert f"[dynaccount] base_url ({url}) names the service's own host" in why.action


def test_tls_hostname_mismatch(tmp_path) -> None:
    certfile, keyfile = make_self_signed_certificate(tmp_path, hosts=("api.example.dk",))
    trusting = httpx2.HTTPTransport(verify=ssl.create_default_context(cafile=str(certfile)))
    with raw_server(tls_serve(certfile, keyfile)) as port:
        url = f"https://127.0.0.1:{port}"
        why = explained(dynaccount_failure(url, transport=trusting), company_for(url))
    assert why.kind == "tls" and "mismatch" in why.summary.lower()


# ------------------------------------------------------------------------------------- HTTP answers


def _answering(status: int, body: bytes, content_type: str = "application/json") -> httpx2.MockTransport:
    return httpx2.MockTransport(
        lambda request: httpx2.Response(status, content=body, headers={"content-type": content_type})
    )


@pytest.mark.parametrize(
    ("status", "body", "content_type", "kind", "words"),
    [
        (503, b'{"error": {"server": "maintenance"}}', "application/json", "server_error", "HTTP 503"),
        (429, b'{"error": {"rate_limit": "slow down"}}', "application/json", "rate_limited", "HTTP 429"),
        (200, b"<html>Log in to the proxy</html>", "text/html", "bad_response", "not its API's answer"),
        (404, b'{"error": {"not_found": "debtor"}}', "application/json", "not_found", "not found"),
        (400, b'{"error": {"select": "Unknown field x"}}', "application/json", "dynaccount_rejected", "x"),
    ],
)
def test_dynaccount_answers(status, body, content_type, kind, words) -> None:
    url = "https://api.dynaccount.com"
    why = explained(
        dynaccount_failure(url, transport=_answering(status, body, content_type)), company_for(url)
    )
    assert why.kind == kind and words in why.summary


def test_my_dso_manager_answers(ends) -> None:
    url = ends["dso_url"]
    config = mydso_config("acme", Secret("wrong-password-0000"), url)
    with mydso_client(config) as client, pytest.raises(AccessDenied) as info:
        client.import_file("contacts", b'"client_code";"contact_lastname"\r\n')
    why = explained(info.value, company_for(dso_url=url))
    assert why.kind == "mydso_auth" and "'acme-api'" in why.summary

    failing = mydso_config("acme", Secret(PASSWORD), "https://dso.example.dk")
    for status, kind in ((503, "server_error"), (429, "rate_limited")):
        transport = _answering(status, b"busy", "text/plain")
        with mydso_client(failing, transport=transport) as client, pytest.raises(Exception) as info:
            client._sleep = lambda seconds: None  # no real waiting between the client's own retries
            client.import_file("contacts", b'"client_code";"contact_lastname"\r\n"1";"x"\r\n')
        why = explained(info.value, company_for(dso_url="https://dso.example.dk"))
        assert why.kind == kind and f"HTTP {status}" in why.summary

    closed = f"http://127.0.0.1:{closed_port()}"
    unreachable = mydso_config("acme", Secret(PASSWORD), closed)
    with mydso_client(unreachable) as client, pytest.raises(Exception) as info:
        client._sleep = lambda seconds: None
        client.import_file("contacts", b'"client_code";"contact_lastname"\r\n"1";"x"\r\n')
    why = explained(info.value, company_for(dso_url=closed))
    assert why.kind == "connect" and f"[mydso] base_url ({closed})" in why.action


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("CSV_BAD_SYNTAX", "dsobridge export DIR"),
        ("BAD_ENCODING", "[format] encoding"),
        ("TOO_LARGE", 'channel = "async"'),
        ("BAD_OPTION", "[format]"),
        ("UNKNOWN_TYPE", "[mydso] base_url"),
        ("CSV_EMPTY", "[filters]"),
        ("JOB_FAILED", "run again"),
        ("QUOTA_EXCEEDED", "what QUOTA_EXCEEDED means"),
    ],
)
def test_import_rejected_codes(code, words) -> None:
    report = ImportReport(success=False, error_code=code, message="as the service said", file_type="items")
    why = explained(ImportRejected(code, report), company_for())
    assert why.kind == "import_rejected"
    assert why.summary.startswith(f"My DSO Manager refused the items file as {code}: ")
    assert "(as the service said)" in why.summary and words in why.action


def test_import_timeout_and_access_denied_code() -> None:
    assert explained(ImportTimeout("job 7 not done after 120 s"), company_for()).kind == "import_timeout"
    report = ImportReport(success=False, error_code="ACCESS_DENIED")
    assert explained(ImportRejected("ACCESS_DENIED", report), company_for()).kind == "mydso_auth"


def test_ftp_failures() -> None:
    port = closed_port()
    with pytest.raises(Exception) as info:
        FtpDrop("127.0.0.1", port, "acme", PASSWORD, timeout=2).deliver(
            "contacts", b'"client_code"\r\n"1"\r\n'
        )
    why = explained(info.value, company_for())
    assert (
        why.kind == "connect"
        and f"check the host and port in the FTP settings for My DSO Manager (127.0.0.1:{port})" in why.action
    )
    refused = explained(AccessDenied("FTP login refused (530)"), company_for())
    assert refused.kind == "mydso_auth" and "FTP" in refused.summary


# -------------------------------------------------------------------------------- the sync's own errors


def test_an_extraction_failure_keeps_its_cause() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with dynaccount_client(dyn_config(url)) as client, pytest.raises(ExtractionError) as info:
        list(Extractor(client).debtors())
    why = explained(info.value, company_for(url))
    assert why.kind == "connect"
    expected = "reading 'debtor' from Dynaccount failed, no item was sent or cleared: cannot connect"
    assert why.summary.startswith(expected)
    bare = ExtractionError("debtor_invoice", RuntimeError("x"))
    bare.__context__ = None
    assert explained(bare, company_for()).summary.startswith("reading 'debtor_invoice'")


def test_state_store_errors(tmp_path) -> None:
    path = tmp_path / "state.sqlite3"
    company = company_for(state=str(path))
    with SqliteStateStore(path) as first, SqliteStateStore(path) as second:
        first.acquire_lock()
        with pytest.raises(StateError) as info:
            second.acquire_lock()
        first.release_lock()
    locked = explained(info.value, company)
    assert locked.kind == "state_locked" and locked.summary.startswith(
        "another sync run holds the lock (pid "
    )

    bound = Identity(111111, "https://api.dynaccount.com", "other-login", "https://account.mydsomanager.com")
    wanted = Identity(592912, "https://api.dynaccount.com", "acme-api", "https://account.mydsomanager.com")
    mismatch = explained(StateMismatch(bound, wanted), company)
    assert mismatch.kind == "state_mismatch" and str(path) in mismatch.summary
    with pytest.raises(StateError) as info:
        SqliteStateStore(tmp_path)  # a folder, not a database file
    assert explained(info.value, company).kind == "state_store"


def test_config_guard_and_unexpected(tmp_path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "missing.toml")
    assert explained(info.value, company_for()).kind == "config"
    refusal = GuardRefusal("2 client(s) skipped (10, 11): refused (fix the debtors, or use --force)")
    assert explained(refusal, company_for()) == explain_refusal(str(refusal))
    assert explain_refusal(str(refusal)).kind == "refused"
    with pytest.raises(OSError) as info:
        (tmp_path / "no-such-folder" / "clients.csv").write_text("x")
    disk = explained(info.value, company_for())
    assert disk.kind == "filesystem" and disk.summary.startswith("No such file or directory: ")
    oops = explained(ZeroDivisionError("division by zero"), company_for())
    assert oops.kind == "unexpected" and "ZeroDivisionError" in oops.summary and "-vv" in oops.action


def test_secrets_and_url_paths_never_reach_a_message() -> None:
    for value in (API_KEY, API_SECRET, PASSWORD):
        Secret(value).reveal()  # as the config does when it builds the clients
    leaky = RuntimeError(
        f"POST https://api.dynaccount.com/v5/592912/{API_KEY}/get/debtor failed; {API_SECRET}"
    )
    why = explained(leaky, company_for())
    assert "/v5/592912/***/get/debtor" in why.summary and "***" in why.summary
    check = CheckResult.failed("Dynaccount", leaky, company=company_for())
    _assert_clean(json.dumps(check.to_json()))
    assert CheckResult.passed("x", f"uses {PASSWORD}").detail == "uses ***"
