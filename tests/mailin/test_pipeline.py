"""What a message does, as its (proven) sender, through the lifecycle: the security cases
(nothing attached, nobody notified), reopening, follow-ups to closed incidents, the storm
limit. What unproven mail may do is in ``tests/security/test_mail_sender_proof.py``."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.auth.models import User
from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.enums import Status
from portal.incidents.models import Comment, Incident
from portal.mailin.pipeline import ingest
from portal.notifications.threads import thread_root
from portal.notifications.models import OutboxMessage
from tests.factories import make_incident, make_user
from tests.mailin.helpers import counts, last_inbound, proven

_serial = iter(range(1, 10_000))


def mail(sender: str, subject: str, body: str = "Any news?", *, references: str = "") -> bytes:
    """A message from ``sender`` as the trusted mail server passes it on (DMARC passed)."""
    headers = [f"From: {sender}", "To: helpdesk@example.com", f"Subject: {subject}",
               f"Message-ID: <t{next(_serial)}@client.example.com>"]
    if references:
        headers += [f"In-Reply-To: {references}", f"References: {references}"]
    return proven(("\r\n".join(headers) + "\r\nContent-Type: text/plain; charset=utf-8"
                   "\r\n\r\n" + body + "\r\n").encode())


def _someone_elses_incident(desk):
    other = make_user("reporter", username="otto")
    return make_incident(reporter=other, admin=desk.admin, technician=desk.technician,
                         status=Status.assigned, title="Otto's secret project")


@pytest.mark.parametrize("case", ["another incident's tag", "forged References",
                                  "unknown sender", "inactive user", "no such incident"])
def test_suspicious_mail_is_quarantined_attaching_nothing_and_telling_nobody(desk, case):
    other = _someone_elses_incident(desk)
    if case == "another incident's tag":
        raw = mail("rita@example.com", f"Re: [INC-{other.id}] Otto's secret project")
    elif case == "forged References":
        raw = mail("rita@example.com", "Re: hello", references=thread_root(other.id))
    elif case == "unknown sender":
        raw = mail("mallory@evil.example", f"[INC-{other.id}] hi")
    elif case == "inactive user":
        make_user("reporter", username="ivan", active=False)
        raw = mail("ivan@example.com", "New laptop please")
    else:
        raw = mail("rita@example.com", "Re: [INC-99999999] hi")
    before = counts()
    outcome = ingest(raw)
    db.session.expire_all()
    assert (outcome.status, outcome.incident_id) == ("quarantined", None)
    assert db.session.scalar(select(func.count(Comment.id))) == 0
    assert db.session.scalar(select(func.count(Incident.id))) == 2
    assert counts() == (before[0] + 1, before[1])  # stored; no mail to anyone
    assert db.session.scalar(select(User).where(User.email == "mallory@evil.example")) is None


def test_a_guessed_tag_reads_the_same_whether_the_incident_exists_or_not(desk):
    other = _someone_elses_incident(desk)
    exists = ingest(mail("rita@example.com", f"[INC-{other.id}] x")).reason
    absent = ingest(mail("rita@example.com", "[INC-99999999] x")).reason
    assert exists.replace(str(other.id), "N") == absent.replace("99999999", "N")


def test_the_reporters_reply_to_a_resolved_incident_comments_and_reopens_it(desk):
    lifecycle.resolve(desk.incident, actor=desk.technician, resolution_notes="New driver")
    db.session.commit()
    outcome = ingest(mail("rita@example.com", f"Re: [INC-{desk.incident.id}] Resolved",
                          "Still broken after the update."))
    incident = db.session.get(Incident, desk.incident.id)
    assert (outcome.action, incident.status) == ("reopened", Status.assigned)
    assert incident.comments[-1].body == "Still broken after the update."


@pytest.mark.parametrize("reopens, sender, status", [
    (False, "rita@example.com", Status.resolved),   # MAIL_REPLY_REOPENS off
    (True, "tom@example.com", Status.resolved),     # the technician's reply only comments
])
def test_other_replies_to_a_resolved_incident_only_comment(desk, app, monkeypatch,
                                                           reopens, sender, status):
    monkeypatch.setitem(app.config, "MAIL_REPLY_REOPENS", reopens)
    lifecycle.resolve(desk.incident, actor=desk.technician, resolution_notes="New driver")
    db.session.commit()
    outcome = ingest(mail(sender, f"Re: [INC-{desk.incident.id}] Resolved", "Noted."))
    assert outcome.action == "commented"
    assert db.session.get(Incident, desk.incident.id).status is status


def test_a_reply_to_a_closed_incident_opens_a_new_one_naming_it(desk):
    closed = make_incident(reporter=desk.rita, admin=desk.admin, technician=desk.technician,
                           status=Status.closed, title="Printer jam")
    outcome = ingest(mail("rita@example.com", f"Re: [INC-{closed.id}] Printer jam",
                          "It jams again."))
    new = db.session.get(Incident, outcome.incident_id)
    assert outcome.action == "created" and new.id != closed.id
    assert new.title == "Printer jam" and new.reporter_id == desk.rita.id
    assert new.description.startswith(f"Follow-up to INC-{closed.id} (Printer jam)")
    assert "It jams again." in new.description


def test_a_sender_opening_too_many_incidents_in_an_hour_is_quarantined_beyond(
        desk, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_INBOX_MAX_PER_HOUR", 2)
    outcomes = [ingest(mail("rita@example.com", f"Problem {n}")) for n in range(3)]
    assert [o.status for o in outcomes] == ["processed", "processed", "quarantined"]
    assert "MAIL_INBOX_MAX_PER_HOUR is 2" in outcomes[2].reason
    # Replies are conversation, not a storm: still accepted.
    assert ingest(mail("rita@example.com", f"Re: [INC-{desk.incident.id}] x")).action == \
        "commented"


def test_a_new_incident_by_mail_acknowledges_the_reporter_and_tells_the_admins(desk):
    outcome = ingest(mail("rita@example.com", "Fwd: Re: Screen flickers", "Since Monday."))
    recipients = set(db.session.scalars(select(OutboxMessage.recipient).where(
        OutboxMessage.incident_id == outcome.incident_id)))
    assert recipients == {"rita@example.com", "ada@example.com"}
    assert db.session.get(Incident, outcome.incident_id).title == "Screen flickers"


@pytest.mark.parametrize("author, internal, told", [
    ("tom", False, {"rita@example.com"}),      # staff → the reporter
    ("tom", True, set()),                      # internal: nobody
    ("rita", False, {"tom@example.com"}),      # the reporter → the technician
])
def test_comments_notify_the_other_side(desk, author, internal, told):
    actor = {"tom": desk.technician, "rita": desk.rita}[author]
    before = set(db.session.scalars(select(OutboxMessage.id)))
    lifecycle.comment(desk.incident, actor=actor, body="See the attached log.",
                      internal=internal)
    db.session.commit()
    new = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.not_in(before)))
    new = list(new)
    assert {m.recipient for m in new} == told
    assert all("See the attached log." in m.text_body and m.event_kind == "commented"
               for m in new)


def test_the_reporters_comment_goes_to_the_admins_when_nobody_has_the_incident(desk):
    unassigned = make_incident(reporter=desk.rita, admin=desk.admin, title="Mouse")
    before = set(db.session.scalars(select(OutboxMessage.id)))
    ingest(mail("rita@example.com", f"Re: [INC-{unassigned.id}] Mouse", "Any news?"))
    assert set(db.session.scalars(select(OutboxMessage.recipient).where(
        OutboxMessage.id.not_in(before)))) == {"ada@example.com"}
    assert last_inbound().action == "commented"
