"""Notification mail lists the incident's attachments as links to the portal (from
PORTAL_BASE_URL), never as attached files, and only those the recipient may see."""
from __future__ import annotations

from flask import current_app

from portal.attachments import service
from portal.extensions import db
from portal.incidents import lifecycle
from tests.attachments.helpers import attach, png


def bodies(message):
    return (message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content())


def test_mail_links_the_attachments_each_recipient_may_see(cast, smtp, deliver, backend):
    # A message is composed as the change commits: the files a report brings are added
    # after the "created" event is written, and its mail lists them.
    base = current_app.config["PORTAL_BASE_URL"]
    incident = lifecycle.create(actor=cast["reporter_of_it"], title="Printer jams",
                                description="Error 13.1")
    shot = service.add_attachment(incident, cast["reporter_of_it"], "jam.png", png())
    db.session.commit()
    attach(incident, cast["admin"], "vendor-contract.txt", b"confidential", internal=True)
    lifecycle.assign(incident, actor=cast["admin"], technician=cast["technician_on_it"])
    db.session.commit()
    deliver()

    created = smtp.sink.to(cast["admin"].email)[0]
    assert "New incident" in created["Subject"]
    assert "jam.png (" in bodies(created)[0]
    to_reporter, to_technician = (smtp.sink.to(user.email)[-1] for user in
                                  (cast["reporter_of_it"], cast["technician_on_it"]))
    assert "Assigned to" in to_reporter["Subject"]
    text, html = bodies(to_reporter)
    link = f"{base}/attachments/{shot.id}"
    assert "jam.png (" in text and link in text
    assert f'<a href="{link}">jam.png</a>' in html
    assert "vendor-contract.txt" not in text + html
    assert list(to_reporter.iter_attachments()) == [], "files are never attached to mail"
    assert "vendor-contract.txt" in bodies(to_technician)[0]
