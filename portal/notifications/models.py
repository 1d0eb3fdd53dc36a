"""``OutboxMessage``: one email to one recipient, written in the transaction of the change
that caused it and delivered after the commit.

Delivery is at-least-once: a message the SMTP server accepted may be sent again when the
commit that records it fails or its deliverer dies first. Each row therefore carries its
``Message-ID``, made when the row is written and sent unchanged on every attempt, so a
receiver can drop the second copy.
"""
from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.outbox import OutboxRow, OutboxStatus

__all__ = ["OutboxMessage", "OutboxStatus", "new_message_id"]


def new_message_id() -> str:
    """A globally unique ``Message-ID`` (RFC 5322), in the domain of the portal's sender
    address when an app is at hand."""
    from flask import current_app, has_app_context

    domain = "incident-portal.invalid"
    if has_app_context():
        sender = current_app.config.get("MAIL_DEFAULT_SENDER") or ""
        domain = sender.rpartition("@")[2].strip("> ") or domain
    return f"<{uuid.uuid4().hex}@{domain}>"


class OutboxMessage(OutboxRow, db.Model):
    """An email waiting to be sent, sent, or given up on (with the last error)."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    #: What caused it: ``created``, ``assigned``, ``resolved`` or ``reopened``.
    event_kind: Mapped[str] = mapped_column(String(20))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    # status, attempts, last_error, the claim and the times: ``OutboxRow``.
    #: The ``Message-ID`` header, the same on every attempt (receivers drop duplicates by it;
    #: replies thread back to the incident through ``In-Reply-To``).
    message_id: Mapped[str] = mapped_column(String(255), default=new_message_id, unique=True)

    def __str__(self) -> str:
        return f"#{self.id} to {self.recipient}: {self.subject}"
