"""A form the browser sends twice (finding 5 of issue 29): the copy, with the same one-time
key, is answered as the first and writes nothing (``portal.admin.form_keys``)."""
from __future__ import annotations

import re

from playwright.sync_api import expect


def test_a_reply_sent_twice_with_the_same_key_is_one_reply(open_portal):
    rita = open_portal("reporter")
    page = rita.page
    page.locator("table.model-list tbody tr td.col-title a").first.click()
    expect(page.locator("#reply-body")).to_be_visible()
    incident_page = page.url
    body = "The printer still jams after the new toner."
    page.locator("#reply-body").fill(body)
    with page.expect_request(lambda request: request.method == "POST"
                             and "/comment/" in request.url) as sent:
        page.get_by_role("button", name="Send reply").click()
    rita.expect_flash("reply added")
    expect(page.get_by_text(body)).to_have_count(1)
    first = sent.value
    assert re.search(rb'name="form_key"\r\n\r\n[0-9a-f]{32}\r\n', first.post_data_buffer)

    # The same request again, as a browser retrying after a lost answer sends it: the
    # same cookies (the tab's context), the same body, the same one-time key.
    again = rita.context.request.post(first.url, data=first.post_data_buffer, headers={
        "Content-Type": first.headers["content-type"]}, max_redirects=0)
    assert again.status == 302 and page.url.endswith(again.headers["location"])

    page.goto(incident_page)
    expect(page.get_by_text(body)).to_have_count(1)
