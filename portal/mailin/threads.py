"""One conversation per incident, in both directions.

Out (``portal.notifications.threads``): every notification names the incident's first
message, so mail clients show one thread; when the incident came in by mail that is the
mail that reported it (``reported_by``, which ``init_threads`` hands the notifications).
In: a message belongs to the incident whose message it answers — one of our
notifications (``mail_outbox.message_id``) or an earlier inbound message of it — else to
the one its subject tags ``[INC-<id>]``.
"""
from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from portal.extensions import db
from portal.mailin.models import InboundAction, InboundMail
from portal.notifications.models import OutboxMessage
from portal.notifications.threads import start_threads_with


def reported_by(incident_id: int) -> str | None:
    """The Message-ID of the mail that reported ``incident_id``, if it came in by mail."""
    return db.session.scalar(select(InboundMail.message_id).where(
        InboundMail.incident_id == incident_id,
        InboundMail.action == InboundAction.created.value).order_by(InboundMail.id).limit(1))


def init_threads(app: Flask) -> None:
    """Start ``app``'s notification threads at the mail that reported the incident."""
    start_threads_with(app, reported_by)


def is_our_message(message_id: str) -> bool:
    """Whether ``message_id`` is one of the notifications we sent."""
    return db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.message_id == message_id)) is not None


def answered_incident(references: list[str]) -> int | None:
    """The incident of the most recent message that ``references`` names, if any."""
    if not references:
        return None
    for message_id in reversed(references):  # References: oldest first; In-Reply-To first
        incident_id = db.session.scalar(select(OutboxMessage.incident_id).where(
            OutboxMessage.message_id == message_id))
        if incident_id is None:
            incident_id = db.session.scalar(select(InboundMail.incident_id).where(
                InboundMail.message_id == message_id))
        if incident_id is not None:
            return incident_id
    return None
