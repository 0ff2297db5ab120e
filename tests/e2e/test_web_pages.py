"""The web pages in a real browser (Debian's chromium driven by Playwright) against
`persona up`. Screenshots of each page land in test-artifacts/screenshots/."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import http
from tests.e2e.test_persona_up import REPO_ROOT, start_persona_up

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    yield from start_persona_up(tmp_path_factory, "--no-demo")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make install installs it where apt-get can)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


def test_the_dashboard_shows_the_privacy_queue_and_the_outbox(running, browser):
    _, endpoints, state_dir = running
    api = endpoints["api_url"]
    status, created = http("POST", api + "/v1/privacy-requests", {"type": "access", "subject_id": "C-WEB", "contact": "web@example.org"})
    assert status == 202
    outbox = subprocess.run([sys.executable, "-m", "persona.cli", "outbox", "--json", "--state-dir", str(state_dir)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    link = next(m["link"] for m in json.loads(outbox.stdout) if m["request_id"] == created["request_id"])

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(api + "/dashboard.html")
    page.get_by_label("Admin API key").fill("wrong-key")
    page.get_by_role("button", name="Show").click()
    page.get_by_text("Could not load").wait_for()  # a wrong key is refused, and said so

    page.get_by_label("Admin API key").fill(endpoints["admin_api_key"])
    page.get_by_role("button", name="Show").click()
    queue = page.locator("#queue tbody tr", has_text=created["request_id"])
    queue.wait_for()
    assert "pending_verification" in queue.inner_text()
    message = page.locator("#outbox tbody tr", has_text=created["request_id"])
    assert "web@example.org" in message.inner_text()
    assert message.get_by_role("link").get_attribute("href") == link
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-privacy.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # phone width: nothing overflows the page
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.close()
