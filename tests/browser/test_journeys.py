"""What a service desk does in a day, in a real browser, at desk and at phone width: a
reporter reports and gets the number; an admin triages with a quick filter and
bulk-assigns; the technician finds the new incident by its number in the search box,
takes it, starts, writes an internal note and resolves it; the reporter confirms the fix
from the banner. At phone width no page is wider than the screen. axe-core finds no
serious or critical violation on the pages people live in.

The desk-width run saves the README's screenshots (docs/screenshots/) and its frames
become the demo (docs/demo.gif, built with Debian's ffmpeg)."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from tests.browser.portal import DEMO_EMAILS, DESKTOP, LANDINGS, PHONE, ROOT
from tests.components import missing

DEMO = ROOT / "docs" / "demo.gif"
DEMO_MAX_BYTES = 2_000_000
HEADINGS = {"admin": "Service desk overview", "technician": "My queue",
            "reporter": "My incidents"}


class Journey:
    """The steps of the day, with the checks every page gets on the way."""

    def __init__(self, portal, *, phone: bool, frames: list | None, frame_dir):
        self.portal, self.page, self.phone = portal, portal.page, phone
        self.frames, self.frame_dir = frames, frame_dir

    def check(self, frame: bool = True) -> None:
        self.page.wait_for_load_state()
        assert self.portal.wider_than_screen() <= 0, \
            f"{self.page.url} is wider than the screen: {self.portal.overflowing()}"
        if frame and self.frames is not None:
            self.portal.frame(self.frames, self.frame_dir)

    def menu(self) -> None:
        """On a phone the top bar folds away behind its menu button."""
        if self.phone:
            self.portal.open_menu()

    def shoot(self, name: str) -> None:
        if not self.phone:
            self.portal.shoot(name)
        elif name in ("queue", "incident-page"):
            self.portal.shoot(f"phone-{name}")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desk", "phone"])
def test_a_day_at_the_service_desk(open_portal, tmp_path, viewport):
    phone = viewport is PHONE
    frames: list | None = None if phone else []
    title = "Printer on 3rd floor jams on every page"

    def journey(role: str) -> Journey:
        tab = open_portal(**viewport)
        page = tab.log_in(role, screenshot="login" if role == "admin" and not phone else None)
        assert page.url.endswith(LANDINGS[role])
        expect(page.locator("h1")).to_contain_text(HEADINGS[role])
        return Journey(tab, phone=phone, frames=frames, frame_dir=tmp_path)

    # A reporter reports an incident and gets its number.
    rita = journey("reporter")
    page = rita.page
    rita.check()
    page.get_by_role("link", name="Report incident").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill("HP LaserJet by the kitchen.\nError 13.1 since 9:00.")
    page.get_by_label("Priority").select_option("high")
    page.get_by_label("Category").select_option("hardware")
    rita.check()
    rita.shoot("report-form")
    page.get_by_role("button", name="Report incident").click()
    confirmation = page.get_by_role("status").filter(has_text="Reported as")
    expect(confirmation).to_be_visible()
    expect(confirmation).to_contain_text(re.compile(r"INC-\d+"))
    number = re.search(r"INC-\d+", confirmation.inner_text()).group(0)
    expect(confirmation.get_by_role("link", name=number)).to_be_visible()
    expect(page.locator("h1")).to_contain_text(title)
    rita.check()

    # An admin triages: the Unassigned quick filter, then assigns one in bulk.
    ada = journey("admin")
    page = ada.page
    expect(page.locator("canvas")).to_have_count(3)  # the dashboard's charts drew
    ada.check()
    ada.shoot("dashboard")
    ada.menu()
    page.get_by_role("link", name=re.compile("^All incidents")).click()
    page.get_by_role("link", name="Unassigned", exact=True).click()
    expect(page.locator(".chip.active")).to_have_text("Unassigned")
    waiting = page.locator("table.model-list tbody tr", has_not_text=title).first
    other = waiting.locator("td.col-id").inner_text()
    ada.check()
    ada.shoot("queue")
    page.get_by_label(f"Select {other}").check()
    page.get_by_role("button", name="With selected").click()
    page.get_by_role("link", name="Assign to…").click()
    expect(page.locator("h1")).to_contain_text("Assign to")
    tina = page.locator("#technician_id option", has_text=re.compile(r"^tina — \d+ active$"))
    page.get_by_label("Technician").select_option(tina.get_attribute("value"))
    ada.check()
    page.get_by_role("button", name="Assign").click()
    ada.portal.expect_flash(f"{other} assigned to tina — now Assigned.")
    ada.check()

    # The technician jumps to the new incident by its number, takes it and works it.
    tom = journey("technician")
    page = tom.page
    tom.menu()
    page.get_by_label("Search incidents").fill(number)
    page.get_by_label("Search incidents").press("Enter")
    expect(page.locator("h1")).to_contain_text(f"{number} {title}")
    tom.check()
    page.get_by_role("button", name="Assign to me").click()
    tom.portal.expect_flash(f"{number} assigned to you — now Assigned.")
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".incident-facts")).to_contain_text("In progress")
    # The tabs are Bootstrap's script, which runs after the page shows: a click before it
    # only changes the address. Wait for the new page's scripts, then for the tab shown.
    page.wait_for_load_state("load")
    page.get_by_role("tab", name="Internal note").click()
    expect(page.get_by_role("tab", name="Internal note")).to_have_attribute("aria-selected", "true")
    page.get_by_role("textbox", name=re.compile("^Internal note")).fill("Fuser unit worn; spare in B2.")
    page.get_by_role("button", name="Add internal note").click()
    note = page.locator(".timeline-entry.is-internal")
    expect(note).to_contain_text("Internal · staff only")
    tom.check()
    tom.shoot("incident-page")
    page.get_by_role("link", name="Resolve…").click()
    page.get_by_label("Resolution notes").fill("Replaced the fuser unit; printed 50 pages.")
    tom.check()
    page.get_by_role("button", name="Resolve").click()
    tom.portal.expect_flash(f"{number} resolved — now Resolved.")
    tom.check()

    # The reporter follows the mail's link, reads the resolution and confirms the fix.
    page = rita.page
    page.goto(f"/incidents/{number.split('-')[1]}")
    banner = page.get_by_role("region", name=re.compile("Is it fixed"))
    expect(banner).to_contain_text("Replaced the fuser unit")
    expect(page.locator(".timeline")).not_to_contain_text("Fuser unit worn")  # internal
    rita.check()
    rita.shoot("resolved-banner")
    banner.get_by_role("button", name="Yes, close it").click()
    rita.portal.expect_flash(f"{number} closed — now Closed.")
    expect(page.locator(".closed-note")).to_be_visible()
    rita.check()

    if frames is not None:
        build_demo(frames)


def build_demo(frames) -> None:
    """The journey's frames as an animated GIF, one frame a second and a half."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        missing("ffmpeg not found: the demo cannot be built (apt-get install -y ffmpeg)")
    pattern = frames[0].parent / "frame-%03d.png"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-framerate", "2/3", "-i",
                    str(pattern), "-vf", "scale=960:-1:flags=lanczos,split[a][b];"
                    "[a]palettegen=max_colors=96:stats_mode=diff[p];"
                    "[b][p]paletteuse=dither=none:diff_mode=rectangle",
                    "-loop", "0", str(DEMO)], check=True, timeout=120)
    assert 0 < DEMO.stat().st_size < DEMO_MAX_BYTES


#: The pages axe-core checks, per role: (path or step, name).
AXE_PAGES = {
    None: ["/login"],
    "reporter": ["/admin/mine/", "/admin/mine/new/", "incident"],
    "technician": ["/admin/queue/", "incident"],
    "admin": ["/admin/", "/admin/incidents/", "incident", "/admin/webhooks/",
              "/admin/webhooks/new/"],
}


def test_axe_finds_no_serious_violation_on_the_daily_pages(open_portal):
    found = {}
    for role, paths in AXE_PAGES.items():
        tab = open_portal(role, bypass_csp=True, **DESKTOP)
        for path in paths:
            if path == "incident":
                start = {"reporter": "/admin/mine/", "technician": "/admin/queue/",
                         "admin": "/admin/incidents/"}[role]
                tab.page.goto(start)
                tab.page.locator("td.col-title a").first.click()
                # The click only follows the link: wait for the incident's page.
                tab.page.wait_for_url(re.compile(r"/details/\?id=\d+"))
            else:
                tab.page.goto(path)
            violations = tab.axe_violations()
            if violations:
                found[f"{role} {tab.page.url}"] = violations
    assert found == {}, "\n".join(f"{page}: {v}" for page, vs in found.items() for v in vs)


def test_a_reporter_typing_another_incident_id_gets_not_found(open_portal):
    rob = open_portal("admin")
    rob.page.goto("/admin/incidents/")
    others = rob.page.locator("table.model-list tbody tr", has_not_text="rita").locator(
        "input.action-checkbox").first.get_attribute("value")
    rita = open_portal("reporter")
    response = rita.page.goto(f"/admin/mine/details/?id={others}")
    assert response.status == 404
    expect(rita.page.locator("h1")).to_contain_text("Not found")
    expect(rita.page.locator("nav")).to_contain_text(DEMO_EMAILS["reporter"].split("@")[0])
    assert rita.page.goto("/admin/incidents/").status == 403
