"""Browser tests: Playwright driving Debian's Chromium against the app under gunicorn,
loaded with the demo data (``fixtures/``), as a user meets it after ``make run``.

Without Chromium a plain ``make test`` skips them and says why; under CI (``CI=true``)
a missing Chromium fails the run instead, since ``.ci/run`` installs it.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from portal.seed import load_fixtures
from tests.components import missing
from harness.servers import gunicorn

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DEMO_PASSWORDS = {"admin": "admin-demo-2026", "technician": "tech-demo-2026",
                  "reporter": "reporter-demo-2026"}
DEMO_EMAILS = {"admin": "ada@example.com", "technician": "tom@example.com",
               "reporter": "rita@example.com"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium, shared by the run's browser tests."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing(f"Chromium not found at {CHROMIUM}: browser tests cannot run "
                "(apt-get install -y chromium, or set CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def demo_server(database_url, db, tmp_path):
    """The demo data in the test database, served by gunicorn; yields its base URL."""
    load_fixtures()
    db.session.commit()
    with gunicorn(database_url, workers=2, log_path=tmp_path / "gunicorn.log",
                  extra_env={"ATTACHMENTS_DIR": str(tmp_path / "attachments")}) as base_url:
        yield base_url


class Portal:
    """A browser tab on the portal, with the steps a person takes in it."""

    def __init__(self, browser, base_url: str, *, width: int = 1280, height: int = 800):
        self.context = browser.new_context(viewport={"width": width, "height": height},
                                           base_url=base_url)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.external_requests: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("request", self._watch_request)
        self.page.on("response", lambda response: response.status == 404 and
                     response.request.resource_type != "document" and
                     self.console_errors.append(f"404 {response.url}"))
        self.page.on("console", lambda message: message.type == "error" and
                     not message.text.startswith("Failed to load resource") and
                     self.console_errors.append(message.text))
        self.page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        self.base_url = base_url

    def _watch_request(self, request) -> None:
        if not request.url.startswith((self.base_url, "data:", "blob:")):
            self.external_requests.append(request.url)

    def log_in(self, role: str, *, screenshot: str | None = None):
        self.page.goto("/login")
        self.page.get_by_label("Email").fill(DEMO_EMAILS[role])
        self.page.get_by_label("Password").fill(DEMO_PASSWORDS[role])
        if screenshot:
            self.shoot(screenshot)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_load_state()
        return self.page

    def shoot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def flashes(self) -> str:
        return " ".join(self.page.locator(".alert").all_inner_texts())

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_portal(chromium, demo_server):
    """``open_portal(role)``: a fresh browser context logged in as that demo user."""
    tabs: list[Portal] = []

    def open_as(role: str | None = None, **kwargs) -> Portal:
        tab = Portal(chromium, demo_server, **kwargs)
        tabs.append(tab)
        if role:
            tab.log_in(role)
        return tab

    yield open_as
    for tab in tabs:
        assert tab.external_requests == [], "a page asked another host for something"
        assert tab.console_errors == [], "a page raised JavaScript errors"
        tab.close()
