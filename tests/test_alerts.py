"""Alerts through apprise, received by a local SMTP server (aiosmtpd) and a local HTTP receiver: exactly one
alert per incident over many failing runs, one "resolved" message, one staleness alert — and no secret."""

from __future__ import annotations

import email
import email.policy
import io
import logging
import socket
import ssl
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from dsobridge.alerts import Alerter, MemoryIncidentLog
from dsobridge.company import CompanyRef
from dsobridge.dynaccount import AuthError
from dsobridge.explain import explain
from dsobridge.logs import setup_logging, teardown_logging
from dsobridge.sandbox.mydso.ftp import make_self_signed_certificate
from dsobridge.secret import Secret

ACME = CompanyRef(592912, "acme-api", dynaccount_url="https://api.dynaccount.com")
SMTP_PASSWORD = "smtp-password-0451"
from tests.conftest import ALERT_HOOK_TOKEN as HOOK_TOKEN  # noqa: E402

API_SECRET = "a7c3" * 10
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


class Mailbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def texts(self) -> list[tuple[str, str]]:
        return [(m["Subject"], m.get_body(("plain",)).get_content()) for m in self.messages]


class LoopbackSmtp(Controller):
    """aiosmtpd on 127.0.0.1, port 0: the port the OS chose is read before the readiness probe."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def mailbox():
    box = Mailbox()
    server = LoopbackSmtp(box, hostname="127.0.0.1", port=0)
    server.start()
    box.url = (
        f"mailto://127.0.0.1:{server.port}?from=dsobridge@example.dk&to=finance@example.dk&mode=insecure"
    )
    yield box
    server.stop()


@pytest.fixture
def webhook(alert_hook):
    return alert_hook


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signature_refused() -> AuthError:
    return AuthError(
        "Dynaccount refused the request signature: check API_SECRET for accounting 592912",
        status=401,
        operation="get debtor",
        error={"hash": "invalid"},
    )


def test_each_incident_is_alerted_exactly_once_by_mail_and_webhook(mailbox, webhook) -> None:
    hooks, hook_url = webhook
    incidents = MemoryIncidentLog()
    alerter = Alerter([mailbox.url, Secret(hook_url)], incidents, ACME)
    cause = explain(signature_refused(), company=ACME)

    assert len(alerter.after_run("failed", 11, cause)) == 1
    for run_id in (12, 13, 14):  # the same outage, night after night: no new alert
        assert alerter.after_run("failed", run_id, cause) == []
    assert len(mailbox.messages) == len(hooks) == 1
    subject, body = mailbox.texts()[0]
    assert subject == "dsobridge 592912→acme-api: sync run 11 failed"
    assert body.splitlines() == [
        "The sync of Dynaccount accounting 592912 → My DSO Manager login acme-api failed (run 11).",
        f"Cause: {cause.summary}",
        f"Next step: {cause.action}",
        "Details: dsobridge show 11",
        "Further failed runs are not alerted until a run succeeds; that run sends a 'resolved' message.",
    ]
    assert "DSOBRIDGE_DYNACCOUNT_API_SECRET" in body
    assert hooks[0]["title"] == subject and hooks[0]["message"] == "\n".join(body.splitlines())
    assert hooks[0]["type"] == "failure"

    refusal = (
        "2 client(s) skipped (10, 11): a STOCK items file would clear their items; refused (or use --force)"
    )
    assert len(alerter.after_run("refused", 15, refusal)) == 1  # another kind: its own incident
    assert alerter.after_run("refused", 16, refusal) == []
    assert alerter.after_run("dry-run", 17) == []  # a dry run delivers nothing: resolves nothing
    assert [i.kind for i in incidents.open_incidents()] == ["failed", "refused"]
    assert len(mailbox.messages) == len(hooks) == 2
    subject, body = mailbox.texts()[1]
    assert subject == "dsobridge 592912→acme-api: sync run 15 refused"
    assert f"Cause: {refusal}" in body and "dsobridge show 15" in body and hooks[1]["type"] == "warning"

    assert len(alerter.after_run("success", 18)) == 1
    assert alerter.after_run("success", 19) == []
    assert incidents.open_incidents() == []
    assert len(mailbox.messages) == len(hooks) == 3
    subject, body = mailbox.texts()[2]
    assert subject == "dsobridge 592912→acme-api: resolved, run 18 succeeded"
    lines = body.splitlines()
    assert lines[0].endswith("succeeded again (run 18). Resolved:")
    assert lines[1].startswith("- failed (since run 11, ") and lines[1].endswith(cause.summary)
    assert lines[2].startswith("- refused (since run 15, ")
    assert hooks[2]["type"] == "success"

    assert len(alerter.after_run("failed", 20, cause)) == 1  # a new outage is a new incident
    assert len(mailbox.messages) == len(hooks) == 4


def test_staleness_is_alerted_once_and_resolved_by_the_next_success(webhook) -> None:
    hooks, hook_url = webhook
    incidents = MemoryIncidentLog()
    alerter = Alerter([hook_url], incidents, ACME)
    assert alerter.check_staleness(NOW - timedelta(hours=20), NOW, 26) == []
    assert alerter.check_staleness(NOW - timedelta(hours=30), NOW, 0) == []  # 0: no staleness alert
    assert len(alerter.check_staleness(NOW - timedelta(hours=30), NOW, 26)) == 1
    for later in (1, 2, 3):
        assert alerter.check_staleness(NOW - timedelta(hours=30), NOW + timedelta(hours=later), 26) == []
    assert len(hooks) == 1
    assert hooks[0]["title"] == "dsobridge 592912→acme-api: no successful sync for 26 hours"
    assert "(30.0 hours ago)" in hooks[0]["message"] and "dsobridge history" in hooks[0]["message"]
    alerter.after_run("success", 40)
    assert len(hooks) == 2 and "- stale (since " in hooks[1]["message"]

    never = Alerter([hook_url], MemoryIncidentLog(), ACME)
    assert len(never.check_staleness(None, NOW, 26)) == 1
    assert "Last success: never" in hooks[2]["message"]
    off = Alerter([hook_url], MemoryIncidentLog(), ACME, on_stale=False)
    assert off.check_staleness(None, NOW, 26) == []
    assert len(hooks) == 3


def test_an_alert_nobody_received_is_sent_again_after_the_next_run(webhook) -> None:
    hooks, hook_url = webhook
    incidents = MemoryIncidentLog()
    cause = explain(signature_refused(), company=ACME)
    logged = io.StringIO()
    setup_logging("INFO", "text", logged)
    try:
        dead = f"json://127.0.0.1:{closed_port()}/hooks/{HOOK_TOKEN}"
        assert Alerter([dead], incidents, ACME).after_run("failed", 5, cause) == []
        assert incidents.open_incidents() == []
        assert len(Alerter([dead, hook_url], incidents, ACME).after_run("failed", 6, cause)) == 1
    finally:
        teardown_logging()
    assert len(hooks) == 1 and "run 6" in hooks[0]["title"]
    assert [i.run_id for i in incidents.open_incidents()] == [6]
    text = logged.getvalue()
    assert "alert URL #1 (json) did not accept the failed alert" in text
    assert "the failed alert reached no alert URL; it is tried again after the next run" in text
    assert HOOK_TOKEN not in text and "127.0.0.1:" not in text


def test_alert_kinds_can_be_turned_off_and_no_url_means_no_alerting(webhook) -> None:
    hooks, hook_url = webhook
    only_refused = Alerter([hook_url], MemoryIncidentLog(), ACME, on_failed=False)
    assert only_refused.after_run("failed", 1, "boom") == []
    assert len(only_refused.after_run("refused", 2, "refused by a guard")) == 1
    lock = "another sync run holds the lock (pid 4242 on db1 since 2026-12-06T02:30:00+00:00)"
    locked_out = MemoryIncidentLog()
    assert Alerter([hook_url], locked_out, ACME).after_run("refused", None, lock) == []  # never started
    assert locked_out.open_incidents() == []
    silent_log = MemoryIncidentLog()
    assert Alerter([], silent_log, ACME).after_run("failed", 3, "boom") == []
    assert silent_log.open_incidents() == [] and len(hooks) == 1


def test_mailtos_with_starttls_and_login_leaks_no_secret(tmp_path) -> None:
    certfile, keyfile = make_self_signed_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == SMTP_PASSWORD.encode())

    box = Mailbox()
    server = LoopbackSmtp(
        box,
        hostname="127.0.0.1",
        port=0,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    server.start()
    logged = io.StringIO()
    try:
        url = (
            f"mailtos://alerts:{SMTP_PASSWORD}@127.0.0.1:{server.port}"
            "?mode=starttls&verify=no&from=dsobridge@example.dk&to=finance@example.dk"
        )
        Secret(API_SECRET).reveal()  # as the config does when it builds the Dynaccount client
        leaky = RuntimeError(f"answer held /v5/592912/{'5e7a' * 10}/get/debtor/json/ and {API_SECRET}")
        setup_logging("DEBUG", "text", logged)  # apprise's own log lines included
        alerter = Alerter([Secret(url)], MemoryIncidentLog(), ACME)  # registers the URL's secrets
        logging.getLogger("apprise").debug("connecting to %s", url)
        sent = alerter.after_run("failed", 8, explain(leaky, company=ACME))
    finally:
        teardown_logging()
        server.stop()
    assert len(sent) == 1 and logins == [(b"alerts", SMTP_PASSWORD.encode())]
    ((subject, body),) = box.texts()
    assert subject == "dsobridge 592912→acme-api: sync run 8 failed"
    assert "/v5/592912/***/get/debtor/json/" in body and API_SECRET not in body and "5e7a" * 10 not in body
    text = logged.getvalue()
    assert text and SMTP_PASSWORD not in text and API_SECRET not in text
    assert "connecting to ***" in text
