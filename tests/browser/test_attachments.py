"""A reporter attaches a screenshot while reporting, in a real browser, and sees its
preview on the incident page once the worker made it ("Preview pending" until then); the
download link serves the same bytes."""
from __future__ import annotations

from PIL import Image
from playwright.sync_api import expect

from tests.processes import app_env, start_process
from tests.waiting import wait_until


def test_report_with_a_screenshot_shows_its_preview(open_portal, tmp_path, database_url,
                                                     processes):
    screenshot = tmp_path / "vpn-error.png"
    Image.new("RGB", (800, 450), (30, 90, 200)).save(screenshot)

    rita = open_portal("reporter")
    page = rita.page
    page.get_by_role("link", name="Report an incident").first.click()
    page.get_by_label("Title").fill("VPN client shows error 809")
    page.get_by_label("Description").fill("Since this morning, on every connect.")
    page.get_by_label("Attachments").set_input_files(str(screenshot))
    page.get_by_role("button", name="Report incident").click()

    expect(page.locator("h1")).to_contain_text("VPN client shows error 809")
    attachments = page.locator("section.attachments")
    expect(attachments).to_contain_text("vpn-error.png")
    expect(attachments).to_contain_text("Preview pending")
    # The worker, as make run starts it beside the web server (the server's folder).
    processes.append(start_process(
        ["worker", "--job", "attachment-previews"],
        app_env(database_url, ATTACHMENTS_DIR=str(tmp_path / "attachments")),
        tmp_path / "worker.log"))
    preview = attachments.locator("img.attachment-preview")

    def shown() -> bool:
        page.reload()
        return preview.count() == 1

    assert wait_until(shown, timeout=60, interval=0.5), (tmp_path / "worker.log").read_text()
    expect(preview).to_be_visible()
    # Visible is not loaded: wait for the image itself (a busy machine serves it later).
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=preview.element_handle())
    assert preview.evaluate("img => img.naturalWidth") == 320  # the thumbnail
    rita.shoot("attachments")

    link = attachments.get_by_role("link", name="vpn-error.png", exact=True)
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "vpn-error.png"
    assert download.path().read_bytes() == screenshot.read_bytes()
