"""What a service desk does in a day, in a real browser: each role logs in and lands on
its page; a reporter reports; an admin assigns through the bulk action; the technician
starts and resolves; the reporter reads the resolution and closes it. Screenshots of the
main pages go to docs/screenshots/ (shown in the README)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_EMAILS

LANDINGS = {"admin": ("/admin/", "Dashboard"), "technician": ("/admin/queue/", "My queue"),
            "reporter": ("/admin/mine/", "My incidents")}


@pytest.mark.parametrize("role", LANDINGS)
def test_each_demo_login_lands_on_its_own_page(open_portal, role):
    portal = open_portal()
    page = portal.log_in(role, screenshot="login" if role == "admin" else None)
    path, heading = LANDINGS[role]
    assert page.url.endswith(path)
    expect(page.locator("nav")).to_contain_text(heading)
    expect(page.locator("nav")).to_contain_text(DEMO_EMAILS[role].split("@")[0])
    if role == "admin":
        expect(page.locator("canvas")).to_have_count(3)  # the charts drew
        portal.shoot("dashboard")


def test_report_assign_resolve_close(open_portal):
    title = "Printer on 3rd floor jams on every page"

    # A reporter reports an incident.
    rita = open_portal("reporter")
    page = rita.page
    page.get_by_role("link", name="Report an incident").first.click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill("HP LaserJet by the kitchen; error 13.1 since 9:00.")
    page.get_by_label("Priority").select_option("high")
    page.get_by_label("Category").select_option("hardware")
    rita.shoot("create-form")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("h1")).to_contain_text(title)
    number = re.search(r"INC-\d+", page.locator("h1").inner_text()).group(0)
    incident_id = number.split("-")[1]
    expect(page.locator("table")).to_contain_text("Open")

    # An admin picks it in the grid and assigns it to Tom with the bulk action.
    ada = open_portal("admin")
    page = ada.page
    page.get_by_role("link", name="All incidents").first.click()
    expect(page.locator("table.model-list")).to_contain_text(title)
    ada.shoot("admin-grid")
    page.locator(f"input.action-checkbox[value='{incident_id}']").check()
    page.get_by_role("button", name="With selected").click()
    page.get_by_role("link", name="Assign to…").click()
    expect(page.locator("h1")).to_contain_text("Assign to")
    expect(page.locator("body")).to_contain_text(number)
    page.get_by_label("Technician").select_option(label="tom")
    ada.shoot("assign-form")
    page.get_by_role("button", name="Assign").click()
    assert f"{number} assigned to tom — now Assigned." in ada.flashes()
    row = page.locator("table.model-list tr", has_text=title)
    expect(row).to_contain_text("Assigned")
    expect(row).to_contain_text("tom")

    # The technician finds it in their queue, starts it and resolves it with notes.
    tom = open_portal("technician")
    page = tom.page
    page.locator("table.model-list tr", has_text=title).get_by_title("View Record").click()
    page.get_by_role("button", name="Start").click()
    expect(page.locator("table")).to_contain_text("In progress")
    page.get_by_role("link", name="Resolve…").click()
    page.get_by_role("button", name="Resolve").click()  # without notes: the browser refuses
    assert page.get_by_label("Resolution notes").evaluate("box => box.validity.valueMissing")
    assert "/command/resolve/" in page.url
    page.get_by_label("Resolution notes").fill("Replaced the fuser unit; printed 50 pages.")
    tom.shoot("resolve-form")
    page.get_by_role("button", name="Resolve").click()
    assert f"{number} resolved — now Resolved." in tom.flashes()

    # The reporter sees the resolution and closes the incident.
    page = rita.page
    page.goto(f"/admin/mine/details/?id={incident_id}")
    expect(page.locator("table")).to_contain_text("Replaced the fuser unit")
    expect(page.locator(".history")).to_contain_text("resolved by tom")
    page.get_by_role("button", name="Close").click()
    expect(page.locator("table")).to_contain_text("Closed")
    expect(page.get_by_role("button", name="Close")).to_have_count(0)


def test_a_reporter_typing_another_incident_id_gets_not_found(open_portal):
    rob = open_portal("admin")
    rob.page.goto("/admin/incidents/")
    others = rob.page.locator("table.model-list tr", has_not_text="rita").locator(
        "input.action-checkbox").first.get_attribute("value")
    rita = open_portal("reporter")
    response = rita.page.goto(f"/admin/mine/details/?id={others}")
    assert response.status == 404
    expect(rita.page.locator("h1")).to_contain_text("Not found")
    assert rita.page.goto("/admin/incidents/").status == 403


def test_the_portal_fits_a_phone(open_portal):
    rita = open_portal("reporter", width=390, height=844)
    page = rita.page
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, "the page scrolls sideways on a phone"
    page.locator(".navbar-toggler").click()
    expect(page.get_by_role("link", name="Report an incident").first).to_be_visible()
