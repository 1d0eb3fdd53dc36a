"""Admins see every inbound message under Audit → Inbound mail, and decide on the
quarantined ones: accept as a new incident, attach to an incident, or discard."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db
from portal.incidents.models import Incident
from portal.mailin.models import InboundMail
from portal.mailin.pipeline import ingest
from tests.clients import csrf_token_from, log_in

STRANGER = (b"From: Mallory <mallory@elsewhere.example>\r\nTo: helpdesk@example.com\r\n"
            b"Subject: Re: Wifi in the lobby\r\nMessage-ID: <q-1@elsewhere.example>\r\n"
            b"Content-Type: text/plain\r\n\r\nThe lobby wifi is down.\r\n")


@pytest.fixture
def quarantined(desk, client):
    row = db.session.get(InboundMail, ingest(STRANGER).inbound_id)
    log_in(client, desk.admin)
    return row


def decide(client, row, decision, **data):
    page = client.get(f"/admin/inbound/details/?id={row.id}").get_data(as_text=True)
    return client.post(f"/admin/inbound/decide/?id={row.id}",
                       data={"csrf_token": csrf_token_from(page), "decision": decision,
                             **data},
                       follow_redirects=True).get_data(as_text=True)


def test_admins_see_the_message_its_status_and_why(quarantined, client):
    listing = client.get("/admin/inbound/").get_data(as_text=True)
    assert "mallory@elsewhere.example" in listing and "quarantined" in listing
    assert "is not one of MAIL_INBOX_ALLOWED_DOMAINS" in listing
    details = client.get(f"/admin/inbound/details/?id={quarantined.id}").get_data(
        as_text=True)
    assert "The lobby wifi is down." in details and "Accept as a new incident" in details


def test_accepting_opens_an_incident_reported_by_the_sender(quarantined, client):
    page = decide(client, quarantined, "accept")
    db.session.expire_all()
    row = db.session.get(InboundMail, quarantined.id)
    incident = db.session.get(Incident, row.incident_id)
    assert f"{incident.number} opened from the message." in page
    assert (row.status, row.action) == ("processed", "created")
    assert incident.title == "Wifi in the lobby"
    assert incident.reporter.email == "mallory@elsewhere.example"
    assert db.session.scalar(select(User).where(
        User.email == "mallory@elsewhere.example")).role_names == {"reporter"}


def test_attaching_adds_the_admins_comment_quoting_the_sender(quarantined, client, desk):
    page = decide(client, quarantined, "attach", incident=f"INC-{desk.incident.id}")
    db.session.expire_all()
    comment = db.session.get(Incident, desk.incident.id).comments[-1]
    assert f"The message was added to INC-{desk.incident.id}." in page
    assert comment.author_id == desk.admin.id
    assert comment.body == "By mail from mallory@elsewhere.example:\n\nThe lobby wifi is down."


@pytest.mark.parametrize("typed", ["", "INC-99999999", "nonsense", "99999999999999999999"])
def test_attaching_to_no_incident_says_so(quarantined, client, typed):
    page = decide(client, quarantined, "attach", incident=typed)
    assert "Incident number: no incident with that number." in page
    db.session.expire_all()
    assert db.session.get(InboundMail, quarantined.id).status == "quarantined"


def test_discarding_sets_it_aside_and_a_second_decision_is_refused(quarantined, client):
    assert "The message was discarded." in decide(client, quarantined, "discard")
    db.session.expire_all()
    row = db.session.get(InboundMail, quarantined.id)
    assert row.status == "ignored" and row.reason.startswith("discarded by ada")
    page = decide(client, quarantined, "accept")
    assert f"message {row.id} is ignored, not quarantined" in page
    assert db.session.scalar(select(Incident.id).where(Incident.title == "Wifi in the lobby")) \
        is None
