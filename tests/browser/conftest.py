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
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
#: axe-core from the pinned Node tools (``make node-tools``).
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
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
                  extra_env={"ATTACHMENTS_DIR": str(tmp_path / "attachments"),
                             # the webhook journey's receiver listens on loopback
                             "WEBHOOK_ALLOW_ADDRESSES": "127.0.0.1/32"}) as base_url:
        yield base_url


class Portal:
    """A browser tab on the portal, with the steps a person takes in it."""

    def __init__(self, browser, base_url: str, *, width: int = 1280, height: int = 800,
                 bypass_csp: bool = False):
        # bypass_csp only for the accessibility checks: axe-core is injected as an inline
        # script, which the portal's CSP (rightly) refuses; the journeys run under it.
        self.context = browser.new_context(viewport={"width": width, "height": height},
                                           base_url=base_url, bypass_csp=bypass_csp)
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

    def frame(self, frames: list[Path], directory: Path) -> None:
        """One frame of the demo: what the screen shows now."""
        path = directory / f"frame-{len(frames):03d}.png"
        self.page.screenshot(path=str(path))
        frames.append(path)

    def wider_than_screen(self) -> int:
        """How far the page's content reaches past the right edge of the screen (px)."""
        return self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")

    def overflowing(self) -> list[str]:
        """The innermost elements that reach past the screen's right edge (to fix them)."""
        return self.page.evaluate("""() => {
            const edge = document.documentElement.clientWidth;
            return [...document.querySelectorAll("body *")]
                .filter(e => e.getBoundingClientRect().right > edge + 1 &&
                        ![...e.children].some(c => c.getBoundingClientRect().right > edge + 1))
                .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")}`
                                      + ` (${Math.round(e.getBoundingClientRect().right)} px)`);
        }""")

    def axe_violations(self) -> list[str]:
        """The serious and critical axe-core violations of the page shown."""
        if not AXE.exists():
            missing(f"{AXE} not found: run make node-tools")
        self.page.add_script_tag(path=str(AXE))
        found = self.page.evaluate("""async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.filter(v => ["serious", "critical"].includes(v.impact))
                .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(
                    n => n.target.join(" ")).slice(0, 3).join(", ")}`);
        }""")
        return found

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
