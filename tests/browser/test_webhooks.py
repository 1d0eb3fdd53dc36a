"""An admin registers a webhook endpoint in a real browser, at desk and phone width: from
the Admin menu, through the form, to the secret shown once, a test event, and the
delivery log once the worker's round has sent it to a real receiver. No page is wider
than the screen; the desk-width run saves the README's webhook screenshots."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.portal import DESKTOP, PHONE


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desk", "phone"])
def test_an_admin_registers_a_webhook_and_reads_its_log(open_portal, receiver,
                                                        allow_loopback, send, viewport,
                                                        app, monkeypatch):
    # One request at a time, so the first test event is the one the receiver refuses
    # (with several at once either may reach it first).
    monkeypatch.setitem(app.config, "WEBHOOK_PARALLEL_PER_ENDPOINT", 1)
    phone = viewport is PHONE
    ada = open_portal("admin", **viewport)
    page = ada.page

    def check(shot: str, phone_too: bool = True) -> None:
        page.wait_for_load_state()
        assert ada.wider_than_screen() <= 0, \
            f"{page.url} is wider than the screen: {ada.overflowing()}"
        if not phone:
            ada.shoot(shot)
        elif phone_too:
            ada.shoot(f"phone-{shot}")

    if phone:
        ada.open_menu()
    ada.open_dropdown("Admin")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.locator("h1")).to_contain_text("Webhooks")
    page.get_by_role("link", name="Register an endpoint").click()
    page.get_by_label("URL", exact=True).fill(receiver.url)
    page.get_by_label("Description", exact=True).fill("Ops chat bridge")
    page.get_by_label(re.compile(r"^incident\.updated")).uncheck()
    if not phone:
        ada.shoot("webhook-form")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#webhook-secret")).to_have_text(re.compile(r"^whsec_"))
    secret = page.locator("#webhook-secret").inner_text()
    expect(page.locator(".webhook-secret")).to_contain_text("Standard Webhooks")
    check("webhook-secret", phone_too=False)
    # Two test events: the receiver refuses the first (it is retried), takes the second.
    receiver.answers = [503]
    for sent in (1, 2):
        page.get_by_role("button", name="Send a test event").click()
        # Both answers carry the same flash: the log's rows tell the second page apart.
        expect(page.locator(".webhook-log td.col-event")).to_have_count(sent)
        ada.expect_flash("A test event is queued")
    expect(page.locator("#webhook-secret")).to_have_count(0)  # shown once

    assert send() == 1  # the worker's round, against the same database
    assert [request.verified(secret)["type"] for request in receiver.received] == \
        ["webhook.test"] * 2
    page.reload()
    expect(page.locator(".webhook-log tbody tr").nth(1)).to_contain_text(
        "the receiver answered 503")
    newest = page.locator(".webhook-log tbody tr").first
    expect(newest).to_contain_text("sent")
    expect(newest).to_contain_text("200")
    newest.locator("summary").click()
    expect(newest.locator("pre")).to_contain_text('"ok": true')
    check("webhook-log")

    page.locator(".breadcrumb").get_by_role("link", name="Webhooks").click()
    row = page.locator(".webhook-grid tbody tr", has_text="Ops chat bridge")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("incident.created, incident.assigned and 8 more")
    check("webhooks")
