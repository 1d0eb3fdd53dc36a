"""``InboundMail``: every message that came in, raw, with what became of it.

Deduplicated on ``message_id``: a second delivery of the same message (the mail server
retrying a pipe, two pollers, a restart) finds its row and changes nothing.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db
from portal.incidents.models import Incident


class InboundStatus(StrEnum):
    processed = "processed"      # it did something to an incident (``action``)
    quarantined = "quarantined"  # held for an admin: ``reason`` says why
    ignored = "ignored"          # auto-replies, bulk mail, our own mail, discarded ones


class InboundAction(StrEnum):
    created = "created"          # it opened ``incident``
    commented = "commented"      # it became a comment on ``incident``
    reopened = "reopened"        # a comment that also reopened ``incident``


class InboundMail(db.Model):
    """One inbound message, kept raw (the text people read went through ``reading``)."""

    __tablename__ = "inbound_mail"
    # The storm limit counts one sender's new incidents of the last hour.
    __table_args__ = (Index("ix_inbound_mail_sender_action_received",
                            "sender", "action", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The ``Message-ID`` header, or one made from the message's sha256 when it has none.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    #: The ``From`` address, lower case ("" when there is none that reads as an address).
    sender: Mapped[str] = mapped_column(String(255), default="")
    subject: Mapped[str] = mapped_column(String(255), default="")
    #: What proved the sender, in words (``portal.mailin.sender``); None: unverified.
    sender_proof: Mapped[str | None] = mapped_column(String(255))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    #: The size that came in (``raw`` keeps only the headers of an oversized message).
    size: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(String(12))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    incident: Mapped[Incident | None] = relationship()

    def __str__(self) -> str:
        return f"#{self.id} from {self.sender or 'nobody'}: {self.subject}"
