"""A browser tab on the portal for the browser tests: the demo users, the viewports, and
the steps a person takes, each waiting for the page it leads to (a busy machine answers
late, so no step reads the page before it has answered)."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.components import missing

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
#: Where each demo user lands after logging in.
LANDINGS = {"admin": "/admin/", "technician": "/admin/queue/", "reporter": "/admin/mine/"}
#: How long a step waits for the state it checks (Playwright's ``expect`` and actions) before
#: it fails. Only a failing step waits this long; a page that answers goes on at once. The
#: 5 s default of ``expect`` was too short with ``stress-ng --cpu 2`` and other suites on the
#: two cores: a link's page arrived after it and the step read the old page.
STEP_TIMEOUT_MS = 20_000
expect.set_options(timeout=STEP_TIMEOUT_MS)


class Portal:
    """A browser tab on the portal, with the steps a person takes in it."""

    def __init__(self, browser, base_url: str, *, width: int = 1280, height: int = 800,
                 bypass_csp: bool = False):
        # bypass_csp only for the accessibility checks: axe-core is injected as an inline
        # script, which the portal's CSP (rightly) refuses; the journeys run under it.
        self.context = browser.new_context(viewport={"width": width, "height": height},
                                           base_url=base_url, bypass_csp=bypass_csp)
        self.context.set_default_timeout(STEP_TIMEOUT_MS)
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
        """Log in as the demo user of ``role``; returns the page once it shows their landing."""
        self.page.goto("/login")
        self.page.get_by_label("Email").fill(DEMO_EMAILS[role])
        self.page.get_by_label("Password").fill(DEMO_PASSWORDS[role])
        if screenshot:
            self.shoot(screenshot)
        self.page.get_by_role("button", name="Log in").click()
        # The click only sends the form: wait for the page it leads to.
        expect(self.page).to_have_url(re.compile(f"{re.escape(LANDINGS[role])}$"))
        # The address changes before the landing's scripts run; wait for them too.
        self.page.wait_for_load_state("load")
        return self.page

    def open_menu(self) -> None:
        """Unfold the phone's top bar behind its menu button. The button is Bootstrap's
        script: a click before the page's scripts have run does nothing, so wait for them."""
        self.page.wait_for_load_state("load")
        self.page.get_by_role("button", name="Menu").click()
        # Unfolded, not unfolding: while Bootstrap's transition runs ("collapsing") the
        # items move under the pointer, and a click on one can land on nothing.
        expect(self.page.locator("#portal-nav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))

    def open_dropdown(self, name: str) -> None:
        """Open the top bar's ``name`` menu (Admin, the account) and wait until it shows."""
        toggle = self.page.get_by_role("button", name=name, exact=True)
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(self.page.locator(f'[aria-labelledby="{toggle.get_attribute("id")}"]')) \
            .to_be_visible()

    def expect_flash(self, text: str) -> None:
        """Wait until the page shows one flash message containing ``text``."""
        expect(self.page.locator(".alert").filter(has_text=text)).to_have_count(1)

    def shoot(self, name: str) -> None:
        """Save a full-page screenshot for the README (docs/screenshots/)."""
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

    def close(self) -> None:
        """Close the tab's browser context."""
        self.context.close()
