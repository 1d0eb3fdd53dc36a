"""One conversation per incident, in both directions.

Out: every notification names the incident's first message (``In-Reply-To`` and
``References``), so mail clients show one thread; that is the mail that reported it when
it came in by mail, else the incident's first notification. In: a message belongs to the
incident whose message it answers — one of our notifications (``mail_outbox.message_id``)
or an earlier inbound message of it — else to the one its subject tags ``[INC-<id>]``.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.mailin.models import InboundAction, InboundMail
from portal.notifications.models import OutboxMessage


def thread_root(incident_id: int | None) -> str | None:
    """The Message-ID that starts ``incident_id``'s thread, if any."""
    if incident_id is None:
        return None
    reported = db.session.scalar(select(InboundMail.message_id).where(
        InboundMail.incident_id == incident_id,
        InboundMail.action == InboundAction.created.value).order_by(InboundMail.id).limit(1))
    if reported is not None:
        return reported
    return db.session.scalar(select(OutboxMessage.message_id).where(
        OutboxMessage.incident_id == incident_id).order_by(OutboxMessage.id).limit(1))


def outgoing_headers(message: OutboxMessage) -> dict[str, str]:
    """The headers of one notification besides its own Message-ID: threading, where
    replies go, and that it was sent by a machine (so auto-responders stay quiet)."""
    headers = {"Auto-Submitted": "auto-generated",
               "X-Auto-Response-Suppress": "All"}
    root = thread_root(message.incident_id)
    if root is not None and root != message.message_id:
        headers["In-Reply-To"] = root
        headers["References"] = root
    inbox = current_app.config["MAIL_INBOX_ADDRESS"]
    if inbox:
        headers["Reply-To"] = inbox
    return headers


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
