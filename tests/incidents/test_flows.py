"""The combined operations (``portal.flows``) called directly, as every front
door calls them: each rule as a table, and a refused flow leaves nothing behind once its
caller rolls back (the flows flush, the caller commits or rolls back)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.attachments.models import Attachment
from portal.attachments.service import AttachmentRefused
from portal.extensions import db
from portal import flows
from portal.incidents.enums import EventKind, Status
from portal.incidents.lifecycle import (InvalidTransition, InvalidValue, LifecycleError,
                                        NotAllowed, NotVisible)
from portal.incidents.models import TEXT_MAX, Comment, Incident, IncidentEvent
from portal.notifications.models import OutboxMessage
from tests.factories import make_incident

LOG = ("log.txt", b"error 13.1 at 09:00\n")
EXE = ("setup.exe", b"MZ\x90\x00" + b"\x00" * 60)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def files_of(incident: Incident) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(
        Attachment.incident_id == incident.id).order_by(Attachment.id)))


def run(flow, **kwargs):
    """Run ``flow`` as a front door does: commit, or roll back and return the refusal."""
    try:
        result = flow(**kwargs)
    except LifecycleError as refusal:
        db.session.rollback()
        return refusal
    db.session.commit()
    return result


def incident_in(cast, status: Status) -> Incident:
    return make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                         technician=cast["technician_on_it"], status=status)


# --- report an incident with files ------------------------------------------------------

@pytest.mark.parametrize("actor,names,files,expected", [
    ("reporter_of_it", None, [LOG], "reporter_of_it"),
    ("reporter_of_it", "reporter_of_it", [], "reporter_of_it"),
    ("admin", "other_reporter", [LOG, LOG], "other_reporter"),
    # Refused before the id is looked up: an absent id answers as an existing one.
    ("reporter_of_it", "other_reporter", [], NotAllowed),
    ("reporter_of_it", "nobody", [], NotAllowed),
    ("admin", "nobody", [], InvalidValue),
    # One file refused refuses the report: no incident without its files.
    ("reporter_of_it", None, [LOG, EXE], AttachmentRefused),
])
def test_report_incident(cast, actor, names, files, expected):
    reporter_id = {None: None, "nobody": 9_999_999}.get(names) or \
        (cast[names].id if names else None)
    outcome = run(flows.report_incident, actor=cast[actor], reporter_id=reporter_id,
                  files=files, title="VPN drops", description="Every 10 minutes")
    if isinstance(expected, type):
        assert isinstance(outcome, expected), outcome
        assert outcome.field in ("reporter_id", "file")
        assert (count(Incident), count(IncidentEvent), count(Attachment)) == (0, 0, 0)
        return
    assert outcome.reporter == cast[expected]
    assert [a.filename for a in files_of(outcome)] == [name for name, _ in files]
    assert [e.kind for e in outcome.events] == \
        [EventKind.created] + [EventKind.attachment_added] * len(files)


def test_the_rule_for_reporting_for_others_answers_the_same_words_for_any_id(cast):
    answers = {run(flows.report_incident, actor=cast["reporter_of_it"], reporter_id=user_id,
                   title="t", description="d").message
               for user_id in (cast["other_reporter"].id, 9_999_999)}
    assert answers == {"reporter_id: your role may not name a user here"}


# --- comment with files -----------------------------------------------------------------

@pytest.mark.parametrize("actor,internal,files,expected", [
    ("reporter_of_it", False, [LOG], None),
    ("technician_on_it", True, [LOG, LOG], None),
    ("reporter_of_it", True, [], NotAllowed),
    ("other_reporter", False, [LOG], NotVisible),
    ("reporter_of_it", False, [LOG, EXE], AttachmentRefused),
])
def test_comment_with_files(cast, actor, internal, files, expected):
    incident = incident_in(cast, Status.assigned)
    before = count(Attachment), count(IncidentEvent)
    outcome = run(flows.comment_with_files, incident=incident, actor=cast[actor],
                  body="See the log", internal=internal, files=files)
    if expected is not None:
        assert isinstance(outcome, expected), outcome
        assert (count(Comment), count(Attachment), count(IncidentEvent)) == (0, *before)
        return
    assert outcome.internal is internal
    # The files ride on the comment, and are as internal as it is.
    assert [(a.comment_id, a.internal) for a in files_of(incident)] == \
        [(outcome.id, internal)] * len(files)


@pytest.mark.parametrize("flow", [flows.comment_with_files, flows.comment_with_what_fits,
                                  flows.answer_by_mail])
def test_no_comment_on_a_closed_incident_nor_its_files(cast, flow):
    incident = incident_in(cast, Status.closed)
    outcome = run(flow, incident=incident, actor=cast["reporter_of_it"], body="Back again",
                  files=[LOG])
    assert isinstance(outcome, InvalidTransition)
    assert (count(Comment), count(Attachment)) == (0, 0)


# --- reopen with a reason ---------------------------------------------------------------

@pytest.mark.parametrize("actor,reason,expected", [
    ("reporter_of_it", "Still drops", Status.assigned),
    ("admin", "  Still drops\n", Status.assigned),
    ("reporter_of_it", "   ", InvalidValue),
    ("reporter_of_it", None, InvalidValue),
    ("reporter_of_it", "x" * (TEXT_MAX + 1), InvalidValue),
    ("technician_on_it", "Still drops", NotAllowed),
    ("other_reporter", "Still drops", NotVisible),
])
def test_reopen_with_reason(cast, actor, reason, expected):
    incident = incident_in(cast, Status.resolved)
    events = len(incident.events)
    outcome = run(flows.reopen_with_reason, incident=incident, actor=cast[actor],
                  reason=reason)
    db.session.expire_all()
    if isinstance(expected, type):
        assert isinstance(outcome, expected), outcome
        assert incident.status is Status.resolved and len(incident.events) == events
        return
    assert incident.status is expected
    # Written once: the reopen event's note, and no comment repeating it.
    assert incident.events[-1].kind is EventKind.reopened
    assert incident.events[-1].note == "Still drops"
    assert incident.comments == []


def test_the_technician_reads_the_reason_in_one_mail(cast):
    incident = incident_in(cast, Status.resolved)
    before = set(db.session.scalars(select(OutboxMessage.id)))
    run(flows.reopen_with_reason, incident=incident, actor=cast["reporter_of_it"],
        reason="Still drops")
    sent = [message for message in db.session.scalars(select(OutboxMessage))
            if message.id not in before]
    assert [(m.recipient, m.event_kind) for m in sent] == \
        [(cast["technician_on_it"].email, "reopened")]
    assert "Still drops" in sent[0].text_body and "Still drops" in sent[0].html_body


def test_a_blank_reason_is_refused_in_the_words_the_portal_shows(cast):
    outcome = run(flows.reopen_with_reason, incident=incident_in(cast, Status.resolved),
                  actor=cast["reporter_of_it"], reason="")
    assert outcome.message == flows.NO_REASON and outcome.field == "note"


# --- mail: an answer, and what fits -----------------------------------------------------

@pytest.mark.parametrize("actor,status,reopens,reopened", [
    ("reporter_of_it", Status.resolved, True, True),
    ("reporter_of_it", Status.resolved, False, False),   # MAIL_REPLY_REOPENS off
    ("admin", Status.resolved, True, False),             # only its reporter's answer
    ("technician_on_it", Status.resolved, True, False),
    ("reporter_of_it", Status.in_progress, True, False),
])
def test_answer_by_mail(cast, actor, status, reopens, reopened):
    incident = incident_in(cast, status)
    outcome = run(flows.answer_by_mail, incident=incident, actor=cast[actor],
                  body="Still broken", files=[LOG], reopens=reopens)
    db.session.expire_all()
    assert outcome is reopened
    assert incident.status is (Status.assigned if reopened else status)
    assert [(c.body, c.author) for c in incident.comments] == [("Still broken", cast[actor])]
    assert [a.filename for a in files_of(incident)] == ["log.txt"]
    if reopened:
        assert incident.events[-1].note == flows.REOPENED_BY_MAIL


def test_an_answer_keeps_what_fits_and_names_what_does_not(cast):
    incident = incident_in(cast, Status.assigned)
    run(flows.answer_by_mail, incident=incident, actor=cast["reporter_of_it"],
        body="Here are the files", files=[LOG, EXE])
    db.session.expire_all()
    assert [a.filename for a in files_of(incident)] == ["log.txt"]
    [comment] = incident.comments
    assert comment.body.startswith("Here are the files\n\nNot attached: setup.exe: ")


@pytest.mark.parametrize("files,comment", [
    ([LOG], None),
    ([LOG, EXE], "Not attached: setup.exe: "),
    ([], None),
])
def test_open_with_files(cast, files, comment):
    reporter = cast["reporter_of_it"]
    incident = run(flows.open_with_files, actor=reporter, title="Printer jam",
                   description="  ", files=files)
    assert incident.description == flows.NO_TEXT and incident.reporter == reporter
    assert [a.filename for a in files_of(incident)] == ["log.txt"] * bool(files)
    bodies = [c.body for c in incident.comments]
    assert bodies == ([] if comment is None else [bodies[0]])
    assert comment is None or bodies[0].startswith(comment)


def test_open_with_files_for_a_reporter_named_by_an_admin(cast):
    incident = run(flows.open_with_files, actor=cast["admin"], reporter=cast["other_reporter"],
                   title="Printer jam", description="Jammed", files=[EXE])
    assert incident.reporter == cast["other_reporter"]
    assert [(c.author, c.body[:25]) for c in incident.comments] == \
        [(cast["admin"], "Not attached: setup.exe: ")]


@pytest.mark.parametrize("text,expected", [
    ("  Hello \n", "Hello"),
    ("", flows.NO_TEXT),
    ("x" * TEXT_MAX, "x" * TEXT_MAX),
])
def test_mail_text(text, expected):
    assert flows.mail_text(text) == expected


def test_mail_text_cuts_a_long_text_and_says_so():
    cut = flows.mail_text("x" * (TEXT_MAX + 10))
    assert len(cut) == TEXT_MAX and cut.endswith(flows.SHORTENED)
