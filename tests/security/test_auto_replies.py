"""Issue 28, finding 8: auto-replies without RFC 3834 headers became comments, and replies
had no per-sender cap, so two responders could answer each other through the desk for
ever (each reply a comment, each comment a notification to the other one).

Now mail is recognised as a machine's by more of its headers (``Precedence:
auto_reply``, ``List-Id``) and by out-of-office subjects in several languages, and is
ignored (kept under Inbound mail with the reason, never answered, as the other
auto-replies); a sender's replies beyond ``MAIL_INBOX_MAX_REPLIES_PER_HOUR`` are
quarantined, as new incidents beyond ``MAIL_INBOX_MAX_PER_HOUR`` were. Our own
notifications say ``Auto-Submitted: auto-generated`` and ``X-Auto-Response-Suppress:
All``, so well-behaved responders stay quiet; the loop test has two that do not.
"""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.enums import Status
from portal.incidents.models import Comment, Incident
from portal.mailin.imap import Poller
from portal.mailin.models import InboundMail
from tests.factories import make_incident, make_user
from tests.mailin.helpers import INBOX_ADDRESS
from tests.security.mail_doors import INTAKE

_serial = itertools.count(1)


@pytest.fixture
def world():
    admin, tom = make_user("admin", username="ada"), make_user("technician", username="tom")
    rita = make_user("reporter", username="rita")
    incident = make_incident(reporter=rita, admin=admin, technician=tom,
                             status=Status.assigned, title="VPN drops every 10 minutes")
    return {"admin": admin, "tom": tom, "rita": rita, "incident": incident}


def answer(incident, *, subject: str | None = None, headers: str = "",
           body: str = "I am out of the office until Monday.",
           sender: str = "rita@example.com") -> bytes:
    """A reply to ``incident`` (tagged, as every notification's subject is)."""
    subject = subject if subject is not None else f"Re: [{incident.number}] {incident.title}"
    return (f"From: {sender}\r\nTo: {INBOX_ADDRESS}\r\nSubject: {subject}\r\n"
            f"Message-ID: <auto-{next(_serial)}@mail.example.com>\r\n{headers}"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def comments_on(incident) -> list[Comment]:
    db.session.expire_all()
    return db.session.get(Incident, incident.id).comments


#: What gives a responder away that the pipeline did not read: (case, subject, headers)
SIGNALS = [
    ("Out of office:", "Out of Office: [INC-{id}] Assigned to tom", ""),
    ("Out of Office AutoReply:", "Out of Office AutoReply: VPN drops", ""),
    ("Automatic reply:", "Automatic reply: [INC-{id}] Assigned to tom", ""),
    ("Auto:", "Auto: [INC-{id}] New comment by tom", ""),
    ("Abwesenheitsnotiz:", "Abwesenheitsnotiz: [INC-{id}] Zugewiesen", ""),
    ("Automatische Antwort:", "Automatische Antwort: [INC-{id}] VPN", ""),
    ("Réponse automatique :", "=?utf-8?q?R=C3=A9ponse_automatique_=3A_=5BINC-{id}=5D?=", ""),
    ("Respuesta automática:", "=?utf-8?q?Respuesta_autom=C3=A1tica=3A_=5BINC-{id}=5D?=", ""),
    ("Risposta automatica:", "Risposta automatica: [INC-{id}] VPN", ""),
    ("Automatisch antwoord:", "Automatisch antwoord: [INC-{id}] VPN", ""),
    ("Autosvar:", "Autosvar: [INC-{id}] VPN", ""),
    ("Precedence: auto_reply", None, "Precedence: auto_reply\r\n"),
    ("List-Id", None, "List-Id: IT announcements <it-news.example.com>\r\n"),
]
#: The cases also piped, each to a process of its own (the IMAP door takes them all).
PIPED = {"Automatic reply:", "Réponse automatique :", "List-Id"}


def test_responders_that_ignore_rfc_3834_are_recognised_and_never_comment(world, mail_door):
    incident = world["incident"]
    cases = [case for case in SIGNALS if mail_door.name == "imap" or case[0] in PIPED]
    mail_door.send(*[answer(incident, headers=headers,
                            subject=subject.format(id=incident.id) if subject else None)
                     for _, subject, headers in cases])
    rows = list(db.session.scalars(select(InboundMail).order_by(InboundMail.id)))
    assert [(row.status, row.action) for row in rows] == [("ignored", None)] * len(cases)
    reasons = [row.reason for row in rows]
    assert all(reason.startswith(("an out-of-office reply (its subject: ",
                                  "bulk mail (Precedence: auto_reply)",
                                  "mailing-list mail (List-Id: ")) for reason in reasons), \
        reasons
    assert comments_on(incident) == []


def test_a_senders_replies_beyond_the_hourly_cap_are_quarantined(world, mail_door):
    """A responder that says nothing of being one is stopped by the count of its replies
    (the cap new incidents have, for comments)."""
    mail_door.setting("MAIL_INBOX_MAX_REPLIES_PER_HOUR", 2)
    incident = world["incident"]
    mail_door.send(*[answer(incident) for _ in range(3)])
    rows = list(db.session.scalars(select(InboundMail).order_by(InboundMail.id)))
    assert [(row.status, row.action) for row in rows] == \
        [("processed", "commented")] * 2 + [("quarantined", None)]
    assert rows[-1].reason == ("rita@example.com sent 2 replies by mail in the last hour "
                               "(MAIL_INBOX_MAX_REPLIES_PER_HOUR is 2): an auto-responder's "
                               "loop?")
    assert len(comments_on(incident)) == 2


# --- two responders and the desk between them ---------------------------------------------

#: How each responder answers every mail it gets: an out-of-office subject and nothing
#: else (no Auto-Submitted, no Precedence), or a plain "Re:" and the same words each time.
STYLES = {
    "out-of-office subject": lambda message: f"Automatic reply: {message['Subject']}",
    "silent and repeated": lambda message: f"Re: {message['Subject']}",
}
CAP = 3
ROUNDS = 20


def auto_reply(message, style: str) -> bytes:
    """What a responder that ignores RFC 3834 sends back to a notification: to its
    ``Reply-To``, threaded under it."""
    return (f"From: {message['To']}\r\nTo: {message['Reply-To']}\r\n"
            f"Subject: {STYLES[style](message)}\r\n"
            f"Message-ID: <loop-{next(_serial)}@mail.example.com>\r\n"
            f"In-Reply-To: {message['Message-ID']}\r\n"
            f"References: {message['Message-ID']}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "I am out of the office until Monday and will answer then.\r\n").encode()


@pytest.mark.slow
@pytest.mark.parametrize("rita_style,tom_style", [
    ("out-of-office subject", "silent and repeated"),
    ("silent and repeated", "silent and repeated"),
])
def test_two_auto_responders_cannot_keep_a_conversation_going(
        world, mail_app, smtp, deliver, dovecot, rita_style, tom_style):
    mail_app.config.update(INTAKE, MAIL_INBOX_URL=dovecot.url,
                           MAIL_INBOX_MAX_REPLIES_PER_HOUR=CAP)
    responders = {"rita@example.com": rita_style, "tom@example.com": tom_style}
    incident = world["incident"]
    # A person starts it: Rita's comment is mailed to Tom, whose responder answers...
    lifecycle.comment(incident, actor=world["rita"], body="It dropped again at 10:25.")
    db.session.commit()
    answered: set[str] = set()
    for _ in range(ROUNDS):
        deliver()
        new = [m for m in smtp.sink.messages
               if m["To"] in responders and m["Message-ID"] not in answered]
        if not new:
            break
        for message in new:
            # Ours say who wrote them: a responder that reads RFC 3834 stays quiet.
            assert (message["Auto-Submitted"], message["X-Auto-Response-Suppress"]) == \
                ("auto-generated", "All")
            answered.add(message["Message-ID"])
            dovecot.append(auto_reply(message, responders[message["To"]]))
        with mail_app.app_context():
            Poller().poll(mail_app)
    else:
        pytest.fail(f"the responders still answered each other after {ROUNDS} rounds: "
                    f"{len(comments_on(incident))} comments")
    comments = comments_on(incident)
    assert 1 < len(comments) <= 1 + 2 * CAP, [c.body for c in comments]
    rows = list(db.session.scalars(select(InboundMail)))
    assert all(row.action == "commented" or row.status in ("ignored", "quarantined")
               for row in rows)
