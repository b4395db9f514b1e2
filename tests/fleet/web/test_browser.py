"""The dashboard in headless Chromium, driven by Playwright (Debian's /usr/bin/chromium: never a download).

Log in, see the failing tenant first, open its page, click "run now", see the job queued. JavaScript is OFF:
the dashboard must work as plain HTML forms. Without a Chromium the test is skipped with the reason, except
under CI=true (where .ci/run installs it): there a missing browser fails the run.
"""

from __future__ import annotations

import os
import shutil
from decimal import Decimal

import pytest
from tests.fleet.web.conftest import PASSWORD, record_run

from dsobridge.sandbox import LoopbackServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    problem = None if path else "no chromium binary on this machine (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "playwright is not installed (pip install -e '.[test]')"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{problem}: under CI=true the browser test must run", pytrace=False)
        pytest.skip(problem)
    return str(path)


@pytest.fixture
def browser():
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def test_log_in_see_the_failing_tenant_first_and_run_it_now(fleet, browser, tmp_path):
    db = fleet.ctx.db
    record_run(
        db, fleet.beta, "success", mode="stock", open_count=12, open_total=Decimal("48210.75"), items=12
    )
    record_run(
        db, fleet.acme, "success", mode="stock", open_count=40, open_total=Decimal("9876.05"), items=40
    )
    record_run(
        db,
        fleet.acme,
        "failed",
        error="DynaccountUnavailable: HTTP 503 from Dynaccount",
        clearings={"matched": 3},
    )
    with LoopbackServer(fleet.app) as server:
        context = browser.new_context(java_script_enabled=False, viewport={"width": 1360, "height": 900})
        page = context.new_page()
        page.goto(f"{server.url}/")
        assert page.url.endswith("/login")
        page.fill("#name", "admin")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/")

        rows = page.locator("tr.tenant-row")
        assert rows.count() == 2
        first = rows.nth(0)
        assert first.get_attribute("data-tenant") == "acme"
        assert first.locator(".badge").inner_text() == "failed"
        assert "HTTP 503 from Dynaccount" in first.inner_text()
        page.screenshot(path=str(tmp_path / "fleet.png"), full_page=True)

        first.locator("a").click()
        page.wait_for_url(f"{server.url}/tenants/acme")
        assert f"/hooks/{fleet.token(fleet.acme)}/" == page.input_value("#hook-url")
        page.click("text=Run DELTA now")
        page.wait_for_url(f"{server.url}/tenants/acme")
        [job] = fleet.jobs(fleet.acme)
        assert page.locator(".flash").inner_text() == f"DELTA run of acme queued (job {job.id})."
        row = page.locator(f'tr.job-row[data-job="{job.id}"]')
        assert row.locator("td").all_inner_texts()[:4] == [str(job.id), "DELTA", "manual", "todo"]
        shot = tmp_path / "tenant.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshots: {tmp_path / 'fleet.png'} {shot}")

        page.click("text=Log out")
        page.wait_for_url(f"{server.url}/login")
        context.close()
    assert shot.stat().st_size > 10_000
