"""Issue 28, finding 4: the blocked-extension check walked around with a trailing dot.

The review uploaded ``run.bat.``, ``payload.vbs.``, ``run.cmd...`` and ``x.lnk.``: the
deny-list read the extension after the last dot (none), so they were accepted, and
Windows, which drops trailing dots and spaces when it saves a file, saved them as the
scripts they are. Names are now made what Windows makes of them before every check:
trailing dots and spaces go (the name stored and sent is the one Windows saves), and a
name Windows reads as an alternate data stream or a device is refused. The same on
every way in: the API, the portal's forms, and mail in (pipe and IMAP).
"""
from __future__ import annotations

import html
import io

import pytest
from sqlalchemy import select

from portal.attachments.models import Attachment
from portal.extensions import db
from portal.incidents.enums import Status
from portal.incidents.models import Incident
from tests.clients import bearer, csrf_token_from, log_in
from tests.factories import make_incident, make_user
from tests.mailin.helpers import INBOX_ADDRESS, last_inbound

#: (as sent, the name stored, or None when refused, with these words in the refusal)
NAMES = [
    ("run.bat.", None, ".bat files may not be attached"),
    ("payload.vbs.", None, ".vbs files may not be attached"),
    ("run.cmd...", None, ".cmd files may not be attached"),
    ("x.lnk.", None, ".lnk files may not be attached"),
    ("tool.exe . .", None, ".exe files may not be attached"),
    ("x.html.", "x.html", None),
    ("report.pdf. .", "report.pdf", None),
    ("a.txt:evil.bat", None, "may not contain ':' (Windows reads a.txt:evil.bat as a hidden "
                             "stream"),
    ("notes.txt::$DATA", None, "may not contain ':'"),
    ("CON", None, "CON is a device name on Windows"),
    ("NUL.txt", None, "NUL is a device name on Windows"),
    ("com1.log", None, "COM1 is a device name on Windows"),
    ("lpt9 .tar.gz", None, "LPT9 is a device name on Windows"),
    ("...", None, "a file name may not be only dots and spaces"),
]
IDS = [sent for sent, _, _ in NAMES]
TEXT = b"error 13 at 09:00\n"


@pytest.fixture
def world():
    admin, technician = make_user("admin"), make_user("technician")
    rita = make_user("reporter", username="rita")
    incident = make_incident(reporter=rita, admin=admin, technician=technician,
                             status=Status.assigned, title="VPN drops every 10 minutes")
    return {"reporter": rita, "incident": incident}


def names_of(incident_id: int) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Attachment.filename).where(
        Attachment.incident_id == incident_id).order_by(Attachment.id)))


@pytest.mark.parametrize("sent,kept,words", NAMES, ids=IDS)
def test_the_api_sees_the_name_windows_saves(client, world, sent, kept, words):
    incident = world["incident"]
    response = client.post(f"/api/v1/incidents/{incident.id}/attachments",
                           headers=bearer(world["reporter"]), content_type="multipart/form-data",
                           data={"file": (io.BytesIO(TEXT), sent)})
    if kept is None:
        assert response.status_code == 422, response.get_json()
        assert words in response.get_json()["message"]
        assert names_of(incident.id) == []
        return
    assert response.status_code == 201 and response.get_json()["filename"] == kept
    with client.get(response.get_json()["content_url"], headers=bearer(world["reporter"])) \
            as download:
        assert download.headers["Content-Disposition"].endswith(f"filename={kept}")
    assert names_of(incident.id) == [kept]


@pytest.mark.parametrize("sent,kept,words", NAMES, ids=IDS)
def test_the_portal_sees_the_name_windows_saves(client, world, sent, kept, words):
    incident = world["incident"]
    log_in(client, world["reporter"])
    page = client.get(f"/admin/mine/details/?id={incident.id}").get_data(as_text=True)
    response = client.post(f"/admin/mine/comment/?id={incident.id}", follow_redirects=True,
                           content_type="multipart/form-data", data={
                               "csrf_token": csrf_token_from(page), "body": "The log",
                               "attachments": [(io.BytesIO(TEXT), sent)]})
    assert response.status_code == 200
    if kept is None:
        assert words in html.unescape(response.get_data(as_text=True))
        assert names_of(incident.id) == []
        assert db.session.get(Incident, incident.id).comments == []  # all or nothing
    else:
        assert names_of(incident.id) == [kept]


def test_mail_in_sees_the_name_windows_saves(world, mail_door):
    """One reply carrying every name: what fits is attached under the name Windows saves,
    the rest is named in the comment (mail cannot be asked again)."""
    parts = b"".join(
        b"--B\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\""
        + sent.encode() + b"\"\r\n\r\n" + TEXT for sent, _, _ in NAMES)
    incident = world["incident"]
    mail_door.send(
        f"From: Rita <rita@example.com>\r\nTo: {INBOX_ADDRESS}\r\n"
        f"Subject: Re: [{incident.number}] VPN drops every 10 minutes\r\n"
        f"Message-ID: <names-{mail_door.name}@client.example.com>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
        "Content-Type: text/plain\r\n\r\nThe logs.\r\n".encode() + parts + b"--B--\r\n")
    assert last_inbound().action == "commented"
    assert names_of(incident.id) == [kept for _, kept, _ in NAMES if kept]
    comment = db.session.get(Incident, incident.id).comments[-1].body
    refused = [words for _, kept, words in NAMES if kept is None]
    assert comment.count("Not attached: ") == len(refused)
    for words in refused:
        assert words in comment
