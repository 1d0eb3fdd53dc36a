"""The conversation a reporter has by mail, end to end through the real SMTP sink: report,
acknowledgement that threads, reply, the technician's portal comment, the resolution, and
the reply that reopens."""
from __future__ import annotations

import re

from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.enums import Status
from portal.incidents.models import Incident
from portal.mailin.models import InboundMail
from portal.mailin.pipeline import ingest
from tests.clients import csrf_token_from, log_in
from tests.mailin.helpers import INBOX_ADDRESS


def reply_to(message, body: str) -> bytes:
    """What a mail client sends when Rita answers ``message``: to its Reply-To, her reply
    address, which proves she wrote it (no trusted mail server vouches here)."""
    return (f"From: Rita <rita@example.com>\r\nTo: {message['Reply-To']}\r\n"
            f"Subject: Re: {message['Subject']}\r\n"
            f"Message-ID: <reply-{abs(hash(body))}@client.example.com>\r\n"
            f"In-Reply-To: {message['Message-ID']}\r\n"
            f"References: {message['References'] or ''} {message['Message-ID']}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n\r\nOn Wed, Dec 2, 2026 at 9:00 AM Incident Portal wrote:\r\n"
            "> earlier text\r\n").encode()


def test_a_reporter_converses_with_the_desk_by_mail(desk, mail_app, smtp, deliver, client):
    mail_app.config["MAIL_INBOX_ADDRESS"] = INBOX_ADDRESS
    first = (b"From: Rita <rita@example.com>\r\nTo: helpdesk@example.com\r\n"
             b"Subject: Badge reader at door B is dead\r\nMessage-ID: <first@client.example.com>"
             b"\r\nContent-Type: text/plain\r\n\r\nNo light, no beep.\r\n")
    with mail_app.app_context():
        incident_id = ingest(first).incident_id
    deliver()
    [ack] = [m for m in smtp.sink.to("rita@example.com")
             if m["Subject"].startswith(f"[INC-{incident_id}]")]
    assert ack["Subject"] == f"[INC-{incident_id}] We have your report: Badge reader at " \
                             "door B is dead"
    # Threads under Rita's own message; replies come back to the intake address, plus
    # her reply address for this incident.
    assert (ack["In-Reply-To"], ack["References"]) == ("<first@client.example.com>",) * 2
    local, domain = INBOX_ADDRESS.split("@")
    assert re.fullmatch(rf"{local}\+{incident_id}\.[0-9a-f]{{20}}@{domain}", ack["Reply-To"])
    assert ack["Auto-Submitted"] == "auto-generated"

    with mail_app.app_context():
        outcome = ingest(reply_to(ack, "It also beeps red now."))
    assert (outcome.action, outcome.incident_id) == ("commented", incident_id)
    assert db.session.get(InboundMail, outcome.inbound_id).sender_proof == \
        f"a reply to its reply address for INC-{incident_id}"
    incident = db.session.get(Incident, incident_id)
    assert incident.comments[-1].body == "It also beeps red now."

    lifecycle.assign(incident, actor=desk.admin, technician=desk.technician)
    db.session.commit()
    log_in(client, desk.technician)
    page = client.get(f"/admin/queue/details/?id={incident_id}").get_data(as_text=True)
    client.post(f"/admin/queue/comment/?id={incident_id}",
                data={"csrf_token": csrf_token_from(page), "body": "Replacing the reader."})
    deliver()
    [comment_mail] = [m for m in smtp.sink.to("rita@example.com")
                      if "New comment" in m["Subject"]]
    assert "Replacing the reader." in comment_mail.get_body(("plain",)).get_content()
    assert comment_mail["In-Reply-To"] == "<first@client.example.com>"

    incident = db.session.get(Incident, incident_id)
    lifecycle.start(incident, actor=desk.technician)
    lifecycle.resolve(incident, actor=desk.technician, resolution_notes="New reader fitted")
    db.session.commit()
    deliver()
    [resolved] = [m for m in smtp.sink.to("rita@example.com") if "Resolved" in m["Subject"]]
    with mail_app.app_context():
        outcome = ingest(reply_to(resolved, "Door B still does not open."))
    db.session.expire_all()
    incident = db.session.get(Incident, incident_id)
    assert (outcome.action, incident.status) == ("reopened", Status.assigned)
    assert incident.comments[-1].body == "Door B still does not open."
    deliver()
    told = [m["Subject"] for m in smtp.sink.to("tom@example.com")]
    assert f"[INC-{incident_id}] Reopened: Badge reader at door B is dead" in told
