"""Session hooks that turn incident events into outbox rows, in the same transaction.

Registered on Flask-SQLAlchemy's ``db.session`` by ``register()``, which ``create_app``
calls (once per process however many apps it makes; only the apps' sessions are
watched):

- ``after_flush`` notes the ``IncidentEvent`` rows just written whose kind calls for mail
  and the new ``Comment`` rows (public comments notify the other side), and whether any ``OutboxMessage`` was written (by these hooks or any other code): if so,
  on PostgreSQL, a ``NOTIFY mail_outbox`` that the server delivers to listening workers
  when (and only if) the transaction commits;
- ``before_commit`` flushes what is pending, then composes their messages and adds
  ``OutboxMessage`` rows, which the same commit writes: a message shows the incident as
  the change leaves it (the files uploaded with a new incident are in its "created"
  mail; they are added after the incident's first flush);
- ``after_commit`` hands delivery to the in-process deliverer (no SQL there);
- ``after_rollback`` forgets everything: a rolled-back change sends nothing.

Whatever changes an incident — portal, API, command line, a test calling the lifecycle —
goes through these hooks, so every path notifies the same way.
"""
from __future__ import annotations

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from portal.incidents.history import listen_once, note_written
from portal.incidents.models import Comment
from portal.notifications.compose import (ATTACHMENTS, NOTIFIED, notices_for,
                                          notices_for_comment, render, render_comment)
from portal.notifications.models import OutboxMessage
from portal.outbox import notify_workers

PENDING = "notifications.pending_events"
QUEUED = "notifications.queued"
#: The PostgreSQL channel a commit that queued mail notifies (``portal.worker`` listens).
CHANNEL = "mail_outbox"
#: The outbox ``event_kind`` of a comment's notification (comments are not events).
COMMENTED = "commented"


def _collect(session: Session, _context) -> None:
    note_written(session, PENDING, NOTIFIED)
    # Outbox rows from any writer (these hooks' rows arrive in the commit's next flush).
    if not session.info.get(QUEUED) and any(isinstance(obj, OutboxMessage)
                                            for obj in session.new):
        notify_workers(session, CHANNEL)
        session.info[QUEUED] = True


def _write_outbox(session: Session) -> None:
    if not session.info.get(PENDING):
        return
    session.flush()  # events written since the last flush join the list first
    events = session.info.pop(PENDING, [])
    # Each incident's attachments are read once for all of its messages (compose).
    session.info[ATTACHMENTS] = {}
    try:
        _write_messages(session, events)
    finally:
        session.info.pop(ATTACHMENTS, None)


def _write_messages(session: Session, events: list) -> None:
    with session.no_autoflush:
        for written in events:
            if isinstance(written, Comment):
                notices, kind = notices_for_comment(written), COMMENTED
                compose = render_comment
            else:
                notices, kind = notices_for(written), written.kind.value
                compose = render
            for notice in notices:
                text, html = compose(notice, written)
                session.add(OutboxMessage(
                    recipient=notice.recipient.email, subject=notice.subject,
                    text_body=text, html_body=html, event_kind=kind,
                    incident_id=written.incident.id))


def _hand_off(session: Session) -> None:
    if session.info.pop(QUEUED, False) and has_app_context():
        deliverer = current_app.extensions.get("mail_deliverer")
        if deliverer is not None:
            deliverer.wake()


def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(QUEUED, None)


def register() -> None:
    """Watch ``db.session`` with these hooks (idempotent)."""
    listen_once({"after_flush": _collect, "before_commit": _write_outbox,
                 "after_commit": _hand_off, "after_rollback": _forget})
