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
from tests.browser.portal import Portal
from tests.components import missing
from harness.servers import gunicorn

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


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
                  extra_env={"ATTACHMENTS_DIR": str(tmp_path / "attachments"),
                             # the webhook journey's receiver listens on loopback
                             "WEBHOOK_ALLOW_ADDRESSES": "127.0.0.1/32"}) as base_url:
        yield base_url


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
