"""The dashboard: login required, CSRF-safe forms, failures first, a tenant's runs and reports, "run now"."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx2
import pytest
from tests.fleet.web.conftest import ALL_SECRETS, PASSWORD, csrf_of, log_in, record_run

from dsobridge.fleet.web import LoginThrottle
from dsobridge.sandbox import InProcessTransport
from dsobridge.secret import Secret


@pytest.fixture
def history(fleet):
    """beta delivered fine; acme succeeded once, then failed."""
    db = fleet.ctx.db
    record_run(
        db, fleet.beta, "success", mode="stock", open_count=12, open_total=Decimal("1234567.50"), items=12
    )
    record_run(
        db, fleet.acme, "success", mode="stock", open_count=40, open_total=Decimal("9876.05"), items=40
    )
    failed = record_run(
        db,
        fleet.acme,
        "failed",
        error="DynaccountUnavailable: HTTP 503 from Dynaccount",
        clearings={"matched": 3, "debtor_deleted": 1},
        items=4,
    )
    return failed


def client(fleet) -> httpx2.Client:
    return httpx2.Client(transport=InProcessTransport(fleet.app), base_url="http://fleet.test")


def test_every_page_wants_a_login(served):
    fleet, _, make = served
    with make() as http:
        for path in ("/", "/tenants/acme", "/tenants/acme/runs/1"):
            answer = http.get(path)
            assert (answer.status_code, answer.headers["location"]) == (303, "/login"), path
        assert http.post("/tenants/acme/run", data={"mode": "delta"}).status_code == 303
        assert fleet.jobs(fleet.acme) == []


def test_log_in_see_the_fleet_and_log_out(served, history):
    *_, make = served
    with make() as http:
        answer = log_in(http)
        assert (answer.status_code, answer.headers["location"]) == (303, "/")
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # http here
        page = http.get("/")
        assert page.status_code == 200 and "admin" in page.text
        token = csrf_of(page.text)
        assert http.post("/logout", data={"csrf": token}).headers["location"] == "/login"
        assert http.get("/").status_code == 303


def test_a_wrong_password_or_user_is_refused_alike(fleet):
    with client(fleet) as http:
        wrong = log_in(http, password="not the password at all")
        nobody = log_in(http, name="nobody")
        assert wrong.status_code == nobody.status_code == 401
        assert "Wrong user name or password." in wrong.text and "Wrong user name or password." in nobody.text
        assert http.get("/").status_code == 303


def test_logins_are_throttled_per_name(fleet):
    fleet.ctx.throttle = LoginThrottle(per_name=3, per_client=100, window=60)
    with client(fleet) as http:
        for _ in range(3):
            assert log_in(http, password="guess-guess-guess").status_code == 401
        blocked = log_in(http)  # even the right password waits
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        assert "Too many failed logins" in blocked.text


def test_the_throttle_forgets_after_its_window_and_a_success_clears_the_name():
    now = [1000.0]
    throttle = LoginThrottle(per_name=2, per_client=3, window=60, clock=lambda: now[0])
    throttle.failed("Admin", "10.0.0.1")
    throttle.failed("admin", "10.0.0.2")
    assert throttle.retry_after("admin", "10.0.0.3") == 60
    now[0] += 61
    assert throttle.retry_after("admin", "10.0.0.3") == 0
    for name in ("a", "b", "c"):
        throttle.failed(name, "10.0.0.9")
    assert throttle.retry_after("d", "10.0.0.9") > 0  # one client trying many names
    throttle.failed("e", "10.0.0.5")
    throttle.succeeded("e")
    assert throttle.retry_after("e", "10.0.0.5") == 0


def test_forms_without_or_with_a_wrong_csrf_token_are_refused(fleet):
    with client(fleet) as http:
        login_page = http.get("/login").text
        no_token = http.post("/login", data={"name": "admin", "password": PASSWORD})
        assert no_token.status_code == 403 and "CSRF_REFUSED" in no_token.text
        log_in(http)
        assert csrf_of(login_page)  # the token of the session before the login is not the one after
        for data in (
            {"mode": "delta"},
            {"mode": "delta", "csrf": "x" * 43},
            {"mode": "delta", "csrf": csrf_of(login_page)},
        ):
            refused = http.post("/tenants/acme/run", data=data)
            assert refused.status_code == 403, data
        assert http.post("/logout", data={}).status_code == 403
        assert http.get("/").status_code == 200  # still logged in
    assert fleet.jobs(fleet.acme) == []


def test_run_now_queues_exactly_one_job_and_a_second_click_joins_it(served):
    fleet, _, make = served
    with make() as http:
        log_in(http)
        token = csrf_of(http.get("/tenants/acme").text)
        first = http.post("/tenants/acme/run", data={"csrf": token, "mode": "delta"})
        assert (first.status_code, first.headers["location"]) == (303, "/tenants/acme")
        page = http.get("/tenants/acme").text
        [job] = fleet.jobs(fleet.acme)
        assert (job.mode, job.reason, job.status) == ("delta", "manual", "todo")
        assert f"DELTA run of acme queued (job {job.id})." in page
        assert re.search(
            rf'data-job="{job.id}"><td>{job.id}</td><td>DELTA</td><td>manual</td><td>todo</td>', page
        )
        http.post("/tenants/acme/run", data={"csrf": token, "mode": "delta"})
        assert "already waiting" in http.get("/tenants/acme").text
        assert len(fleet.jobs(fleet.acme)) == 1
        http.post("/tenants/acme/run", data={"csrf": token, "mode": "stock"})
        assert sorted(j.mode for j in fleet.jobs(fleet.acme)) == ["delta", "stock"]
        assert fleet.jobs(fleet.beta) == []


def test_bad_requests_are_4xx_pages(fleet, history):
    with client(fleet) as http:
        log_in(http)
        token = csrf_of(http.get("/").text)
        assert http.get("/tenants/nobody").status_code == 404
        assert http.get("/tenants/acme/runs/999999").status_code == 404
        assert http.get(f"/tenants/beta/runs/{history}").status_code == 404  # acme's run, not beta's
        assert http.get("/no/such/page").status_code == 404
        assert http.post("/tenants/acme/run", data={"csrf": token, "mode": "everything"}).status_code == 400
        assert http.post("/tenants/nobody/run", data={"csrf": token, "mode": "delta"}).status_code == 404
        huge = http.post(
            "/tenants/acme/run",
            content=b"csrf=" + b"x" * 100_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert huge.status_code == 413
        assert http.post(
            "/tenants/acme/run",
            content=b"\xff\xfe=%%%",
            headers={"content-type": "application/x-www-form-urlencoded"},
        ).status_code in (400, 403)
        fleet.ctx.registry.set_enabled("beta", False)
        assert http.post("/tenants/beta/run", data={"csrf": token, "mode": "delta"}).status_code == 409
    assert fleet.jobs(fleet.acme) == [] and fleet.jobs(fleet.beta) == []


def test_the_fleet_shows_failures_first_with_freshness_and_open_amounts(served, history):
    *_, make = served
    with make() as http:
        log_in(http)
        page = http.get("/").text
    rows = re.findall(r'data-tenant="([a-z]+)"', page)
    assert rows == ["acme", "beta"]  # acme's last run failed: first, though beta succeeded later
    acme_row = page[page.index('data-tenant="acme"') : page.index('data-tenant="beta"')]
    assert '<tr class="tenant-row is-failing" data-tenant="acme">' in page
    assert 'class="badge failing">failed' in acme_row
    assert "HTTP 503 from Dynaccount" in acme_row and "9,876.05" in acme_row and ">40<" in acme_row
    assert " ago</span>" in acme_row
    assert "1,234,567.50" in page
    assert re.search(r"<b>1</b>failing", page)


def test_the_tenant_page_shows_runs_reports_reasons_and_its_webhook_url(fleet, history):
    with client(fleet) as http:
        log_in(http)
        page = http.get("/tenants/acme").text
        run_page = http.get(f"/tenants/acme/runs/{history}").text
    token = fleet.token(fleet.acme)
    assert f'value="/hooks/{token}/"' in page and "DSOBRIDGE_FLEET_PUBLIC_URL" in page
    assert page.count('class="run-row') == 2 and "matched 3" in page and "debtor_deleted 1" in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0[12]:00", page)  # Copenhagen, with its offset
    assert "settled by payments or credit notes booked in Dynaccount" in run_page
    assert "its debtor no longer exists in Dynaccount" in run_page
    assert "rejected line 3, column due_date: not a date" in run_page
    assert "DynaccountUnavailable: HTTP 503 from Dynaccount" in run_page
    for text in (page, run_page):
        for secret in ALL_SECRETS:
            assert secret not in text


def test_pages_are_not_framed_cached_or_scripted(fleet):
    with client(fleet) as http:
        answer = http.get("/login")
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert "script-src" not in answer.headers["content-security-policy"]  # default-src 'none': no script
    assert "<script" not in answer.text


def test_a_removed_user_or_a_new_password_ends_the_sessions(fleet):
    fleet.ctx.users.add("ops", Secret("another long password"))
    with client(fleet) as first, client(fleet) as second:
        log_in(first)
        log_in(second, "ops", "another long password")
        fleet.ctx.users.set_password("admin", Secret("a brand new password"))
        fleet.ctx.users.remove("ops")
        assert first.get("/").status_code == 303 and second.get("/").status_code == 303
        assert log_in(first, password="a brand new password").status_code == 303
        assert first.get("/").status_code == 200


def test_health_answers_with_the_database(served):
    *_, make = served
    with make() as http:
        assert http.get("/healthz").json() == {"ok": True, "database": "up"}


def test_secure_cookies_behind_an_https_address(fleet, pg_url):
    from tests.fleet.web.conftest import make_context

    from dsobridge.fleet.web import build_app

    ctx = make_context(fleet.ctx.db, pg_url, fleet.ctx.registry, public_url="https://fleet.example.dk")
    with httpx2.Client(
        transport=InProcessTransport(build_app(ctx)), base_url="https://fleet.example.dk"
    ) as http:
        answer = http.get("/login")
    assert "secure" in answer.headers["set-cookie"].lower()
