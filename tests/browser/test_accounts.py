"""A visitor creates an account in a real browser, at desk and phone width: registers,
cannot log in before the address is confirmed, asks for the link again ("Confirmation
mail lost?"), reads the mail the worker's round delivered to a real SMTP server, follows
the link and logs in. No page is wider than the screen; axe-core finds no serious or
critical violation on the account pages."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.portal import DESKTOP, LANDINGS, PHONE

EMAIL, USERNAME, PASSWORD = "nora@example.com", "nora", "lamp-orchid-glacier-42"


def confirmation_path(message) -> str:
    """The path of the confirmation link in ``message`` (the link is built from
    ``PORTAL_BASE_URL``; the browser follows it on the server under test)."""
    body = message.get_body(("plain",)).get_content()
    found = re.search(r"https?://\S+?(/confirm/\S+)", body)
    assert found, body
    return urlsplit(found.group(0)).path


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desk", "phone"])
def test_a_visitor_registers_confirms_by_mail_and_logs_in(open_portal, smtp, deliver,
                                                          viewport):
    tab = open_portal(**viewport)
    page = tab.page

    def check() -> None:
        page.wait_for_load_state()
        assert tab.wider_than_screen() <= 0, \
            f"{page.url} is wider than the screen: {tab.overflowing()}"

    def log_in() -> None:
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()

    page.goto("/login")
    page.get_by_role("link", name="Create an account").click()
    expect(page.locator("h1")).to_have_text("Create an account")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    check()
    page.get_by_role("button", name="Create the account").click()
    tab.expect_flash(f"We have mailed a link to {EMAIL}")

    # Not before the address is confirmed: the form says why, to whoever knows the password.
    page.goto("/login")
    log_in()
    expect(page.locator("form")).to_contain_text("address is not confirmed yet")

    page.get_by_role("link", name="Confirmation mail lost?").click()
    expect(page.locator("h1")).to_have_text("Confirm your address")
    page.get_by_label("Email").fill(EMAIL)
    check()
    page.get_by_role("button", name="Send the link again").click()
    tab.expect_flash("a new link is on its way")

    deliver()  # the worker's round: the outbox (the demo's mail too) to the SMTP server
    registered, again = smtp.sink.to(EMAIL)  # the registration's link, and the new one
    assert f'"{USERNAME}"' in again.get_body(("plain",)).get_content()
    page.goto(confirmation_path(again))
    expect(page).to_have_url(re.compile(r"/login$"))
    tab.expect_flash("your address is confirmed")
    check()
    log_in()
    expect(page).to_have_url(re.compile(f"{re.escape(LANDINGS['reporter'])}$"))
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(USERNAME)


def test_axe_finds_no_serious_violation_on_the_account_pages(open_portal):
    tab = open_portal(bypass_csp=True, **DESKTOP)
    found = {}
    for path in ("/register", "/confirm", "/login"):
        tab.page.goto(path)
        violations = tab.axe_violations()
        if violations:
            found[path] = violations
    assert found == {}, "\n".join(f"{page}: {v}" for page, vs in found.items() for v in vs)
