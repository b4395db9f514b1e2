"""Webhooks of every tenant on one endpoint: routed by path, verified with THAT tenant's secret, recorded, one
coalesced DELTA queued; the single-company receiver's bounds; never a 5xx for what a caller sends."""

from __future__ import annotations

import json
import logging
import socket
import time

import httpx2
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.fleet.test_tenants import SECRETS
from tests.fleet.web.conftest import ALL_SECRETS, BETA_SECRETS, make_context, signed

from dsobridge.fleet import FleetDatabase, Keyring, TenantRegistry
from dsobridge.fleet.web import build_app, hook_url
from dsobridge.sandbox import InProcessTransport, LoopbackServer

ACME_SECRET = SECRETS["dynaccount_api_secret"]
BETA_SECRET = BETA_SECRETS["dynaccount_api_secret"]
BODY = json.dumps(
    {"method": "insert", "table": "debtor_invoice", "result": {"id": 7, "module_id_": 10001}}
).encode()


def post(http: httpx2.Client, base: str, token: str, body: bytes, secret) -> httpx2.Response:
    url = f"{base}/hooks/{token}/"
    return http.post(url, content=body, headers=signed(url, body, secret))


def test_each_call_reaches_its_tenant_verified_with_its_own_secret(served):
    fleet, base, client = served
    acme, beta = fleet.token(fleet.acme), fleet.token(fleet.beta)
    assert acme != beta and len(acme) >= 32
    with client() as http:
        ok_acme = post(http, base, acme, BODY, ACME_SECRET)
        ok_beta = post(http, base, beta, BODY, BETA_SECRET)
        crossed = post(http, base, acme, BODY, BETA_SECRET)  # beta's secret on acme's address
        unsigned = http.post(f"/hooks/{acme}/", content=BODY)
    assert ok_acme.status_code == ok_beta.status_code == 202, ok_acme.text
    assert ok_acme.json()["ok"] is True and ok_acme.json()["trigger"] > 0
    assert (crossed.status_code, crossed.json()["error"]) == (401, "BAD_HASH")
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "BAD_HASH")
    assert fleet.triggers(fleet.acme)["pending"] == 1 and fleet.triggers(fleet.beta)["pending"] == 1
    for tenant in (fleet.acme, fleet.beta):
        [job] = fleet.jobs(tenant)
        assert (job.mode, job.reason, job.status) == ("delta", "webhook", "todo")


def test_a_burst_gives_one_waiting_delta_and_every_trigger_is_kept(served):
    fleet, base, client = served
    token = fleet.token(fleet.acme)
    with client() as http:
        answers = [post(http, base, token, BODY, ACME_SECRET) for _ in range(5)]
    assert [a.status_code for a in answers] == [202] * 5
    assert len({a.json()["trigger"] for a in answers}) == 5
    assert fleet.triggers(fleet.acme)["pending"] == 5
    assert len(fleet.jobs(fleet.acme)) == 1 and fleet.jobs(fleet.beta) == []


def test_an_unknown_or_malformed_address_is_a_404_and_nothing_is_recorded(served):
    fleet, base, client = served
    with client() as http:
        unknown = post(http, base, "A" * 32, BODY, ACME_SECRET)
        malformed = post(http, base, "acme", BODY, ACME_SECRET)  # a tenant's NAME is not its address
        other_path = http.post("/hooks/", content=BODY)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "UNKNOWN_HOOK")
    assert (malformed.status_code, malformed.json()["error"]) == (404, "UNKNOWN_HOOK")
    assert other_path.status_code == 404
    assert fleet.triggers(fleet.acme)["pending"] == 0 and fleet.jobs(fleet.acme) == []


def test_a_disabled_tenant_keeps_its_verified_trigger_but_queues_nothing(served):
    fleet, base, client = served
    fleet.ctx.registry.set_enabled("acme", False)
    with client() as http:
        held = post(http, base, fleet.token(fleet.acme), BODY, ACME_SECRET)
        forged = post(http, base, fleet.token(fleet.acme), BODY, BETA_SECRET)
    assert held.status_code == 202 and held.json()["trigger"] > 0
    assert forged.status_code == 401
    assert fleet.triggers(fleet.acme)["pending"] == 1 and fleet.jobs(fleet.acme) == []
    # enabled again: the minute tick's safety net queues the DELTA that takes it
    fleet.ctx.registry.set_enabled("acme", True)
    assert fleet.ctx.queue.enqueue_orphaned_triggers(older_than=0) == 1
    assert [j.reason for j in fleet.jobs(fleet.acme)] == ["webhook"]


def test_a_change_that_cannot_touch_receivables_is_verified_and_ignored(served):
    fleet, base, client = served
    body = json.dumps({"method": "put", "table": "product", "result": {"id": 3}}).encode()
    with client() as http:
        answer = post(http, base, fleet.token(fleet.acme), body, ACME_SECRET)
    assert answer.status_code == 202 and "ignored" in answer.json()
    assert fleet.triggers(fleet.acme)["pending"] == 0 and fleet.jobs(fleet.acme) == []


def test_the_public_address_is_what_is_hashed_and_shown(fleet, pg_url):
    ctx = make_context(fleet.ctx.db, pg_url, fleet.ctx.registry, public_url="https://fleet.example.dk/")
    token = fleet.token(fleet.acme)
    url = hook_url(ctx.serve.public_url, token)
    assert url == f"https://fleet.example.dk/hooks/{token}/"
    with (
        ctx.queue.open(),
        httpx2.Client(transport=InProcessTransport(build_app(ctx)), base_url="http://internal:8089") as http,
    ):
        good = http.post(f"/hooks/{token}/", content=BODY, headers=signed(url, BODY, ACME_SECRET))
        as_received = http.post(
            f"/hooks/{token}/",
            content=BODY,
            headers=signed(f"http://internal:8089/hooks/{token}/", BODY, ACME_SECRET),
        )
    assert good.status_code == 202 and good.json()["verified"] == "without_scheme"
    assert as_received.status_code == 401


def test_a_body_over_the_cap_is_refused_before_it_is_read(fleet):
    token = fleet.token(fleet.acme)
    with LoopbackServer(fleet.app) as server:
        for path in (f"/hooks/{token}/", "/hooks/" + "B" * 32 + "/"):  # known and unknown addresses
            with socket.create_connection((server.host, server.port)) as sock:
                sock.sendall(
                    f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
                    + b"Content-Length: 300000000\r\nX-Hash: "
                    + b"0" * 40
                    + b"\r\n\r\n"
                    + b"[" * 4096
                )
                sock.settimeout(5)
                answer = b""
                while b"}" not in answer and (chunk := sock.recv(4096)):
                    answer += chunk
            assert answer.startswith((b"HTTP/1.1 413", b"HTTP/1.1 404")), answer[:80]
            assert (b"TOO_LARGE" if path.endswith(f"{token}/") else b"UNKNOWN_HOOK") in answer
    assert fleet.triggers(fleet.acme)["pending"] == 0


def test_a_chunked_body_over_the_cap_is_refused_while_it_streams(fleet):
    def chunks():
        for _ in range(4096):
            yield b" " * 512  # 2 MiB against the 1 MiB cap

    with LoopbackServer(fleet.app) as server, httpx2.Client(base_url=server.url) as http:
        answer = http.post(
            f"/hooks/{fleet.token(fleet.acme)}/", content=chunks(), headers={"X-Hash": "0" * 40}
        )
    assert (answer.status_code, answer.json()["error"]) == (413, "TOO_LARGE")


def test_deep_json_with_a_valid_hash_is_a_400(served):
    fleet, base, client = served
    body = b"[" * 50_000 + b"]" * 50_000
    with client() as http:
        answer = post(http, base, fleet.token(fleet.acme), body, ACME_SECRET)
    assert (answer.status_code, answer.json()["error"]) == (400, "TOO_DEEP")
    assert fleet.triggers(fleet.acme)["pending"] == 0


def test_the_database_away_is_a_503_and_secrets_no_key_opens_too(fleet, pg_url, caplog):
    token = fleet.token(fleet.acme)
    lost = FleetDatabase("postgresql://postgres@127.0.0.1:1/none", schema=fleet.ctx.db.schema)
    lost.pool.timeout = 1  # fleet serve waits 5 s for a connection (the pool's default is 30 s)
    away = make_context(lost, pg_url, TenantRegistry(lost, fleet.ctx.registry.keyring))
    wrong_keys = make_context(
        fleet.ctx.db, pg_url, TenantRegistry(fleet.ctx.db, Keyring([Keyring.new_key()]))
    )
    answers = {}
    with caplog.at_level(logging.DEBUG):
        for name, ctx in (("away", away), ("wrong_keys", wrong_keys)):
            with httpx2.Client(
                transport=InProcessTransport(build_app(ctx)), base_url="http://fleet.test"
            ) as http:
                url = f"http://fleet.test/hooks/{token}/"
                answers[name] = http.post(url, content=BODY, headers=signed(url, BODY, ACME_SECRET))
    lost.close()
    assert (answers["away"].status_code, answers["away"].json()["error"]) == (503, "STATE_UNAVAILABLE")
    assert (answers["wrong_keys"].status_code, answers["wrong_keys"].json()["error"]) == (
        503,
        "SECRETS_UNREADABLE",
    )
    assert token not in ours(caplog)


def ours(caplog) -> str:
    """What dsobridge logged (the test's own HTTP client logs its URLs)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("dsobridge"))


def test_a_removed_tenant_or_a_new_address_stops_the_old_one(fleet):
    old = fleet.token(fleet.acme)
    new = fleet.ctx.paths.rotate(fleet.acme.id)
    assert new != old and fleet.ctx.paths.tenant_of(old) is None
    assert fleet.ctx.paths.tenant_of(new).name == "acme"
    fleet.ctx.registry.remove("acme")
    assert fleet.ctx.paths.tenant_of(new) is None
    assert set(fleet.ctx.paths.tokens()) == {fleet.beta.id}


def test_secrets_and_addresses_never_reach_the_log(served, caplog):
    fleet, base, client = served
    with caplog.at_level(logging.DEBUG), client() as http:
        post(http, base, fleet.token(fleet.acme), BODY, ACME_SECRET)
        post(http, base, fleet.token(fleet.acme), BODY, BETA_SECRET)
    logged = ours(caplog)
    assert "webhook for acme: trigger" in logged
    for secret in ALL_SECRETS:
        assert secret not in caplog.text
    assert fleet.token(fleet.acme) not in logged


# anything a caller may send: bytes, or JSON of any shape
BODIES = st.one_of(
    st.binary(max_size=300),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=BODIES,
    sign=st.sampled_from(["acme", "beta", "none"]),
    address=st.sampled_from(["acme", "beta", "unknown", "garbage"]),
    content_type=st.sampled_from(["application/json", "text/plain", "", "multipart/form-data"]),
)
def test_no_body_no_header_and_no_address_gives_a_5xx(fleet, body, sign, address, content_type):
    tokens = {"acme": fleet.token(fleet.acme), "beta": fleet.token(fleet.beta), "unknown": "Z" * 40}
    path = f"/hooks/{tokens.get(address, '..%2F%00é')}/"
    url = f"http://fleet.test{path}"
    secret = {"acme": ACME_SECRET, "beta": BETA_SECRET}.get(sign)
    headers = signed(url, body, secret) if secret else {"X-Hash": "zz"}
    if content_type:
        headers["Content-Type"] = content_type
    with httpx2.Client(transport=InProcessTransport(fleet.app), base_url="http://fleet.test") as http:
        answer = http.post(path, content=body, headers=headers)
    assert answer.status_code in (202, 400, 401, 404, 413), answer.text


def test_a_database_error_while_recording_is_a_503_not_a_500(fleet, monkeypatch):
    import dsobridge.fleet.web.hooks as hooks

    def broken(*args, **kwargs):
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(hooks, "accept_trigger", broken)
    url = f"http://fleet.test/hooks/{fleet.token(fleet.acme)}/"
    with httpx2.Client(transport=InProcessTransport(fleet.app), base_url="http://fleet.test") as http:
        answer = http.post(url, content=BODY, headers=signed(url, BODY, ACME_SECRET))
    assert (answer.status_code, answer.json()["error"]) == (503, "STATE_UNAVAILABLE")


def test_a_tenant_changed_meanwhile_is_seen_once_its_receiver_expires(fleet, pg_url):
    ctx = make_context(fleet.ctx.db, pg_url, fleet.ctx.registry, tenant_cache_seconds=0.3)
    old = fleet.token(fleet.acme)
    with (
        ctx.queue.open(),
        httpx2.Client(transport=InProcessTransport(build_app(ctx)), base_url="http://f.test") as http,
    ):
        assert post(http, "http://f.test", old, BODY, ACME_SECRET).status_code == 202
        new = ctx.paths.rotate(fleet.acme.id)
        fleet.ctx.registry.set_enabled("acme", False)
        assert post(http, "http://f.test", old, BODY, ACME_SECRET).status_code == 202  # cached a moment
        time.sleep(0.4)
        assert post(http, "http://f.test", old, BODY, ACME_SECRET).status_code == 404
        with fleet.ctx.db.pool.connection() as conn:  # the waiting DELTA ran meanwhile
            conn.execute("DELETE FROM procrastinate_jobs")
        assert post(http, "http://f.test", new, BODY, ACME_SECRET).status_code == 202
    assert fleet.jobs(fleet.acme) == []  # disabled: held, not queued
    assert fleet.triggers(fleet.acme)["pending"] == 3
