"""``WebhookEndpoint``: where an admin asked incident events to be sent; and
``WebhookDelivery``: one event for one endpoint, an outbox row (``portal.outbox``)
written in the transaction of the change and sent by the worker.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db
from portal.outbox import OutboxRow

if TYPE_CHECKING:
    from portal.auth.models import User

URL_MAX = 2000
DESCRIPTION_MAX = 255
#: What the log keeps of a receiver's answer.
RESPONSE_KEPT = 1024


def give_up_at() -> datetime:
    """When a delivery written (or sent again) now stops being retried."""
    from flask import current_app

    return utcnow() + timedelta(hours=current_app.config["WEBHOOK_GIVE_UP_HOURS"])


def new_webhook_id() -> str:
    """A delivery's ``webhook-id``: the same on every attempt (receivers drop duplicates)."""
    return f"msg_{uuid.uuid4().hex}"


def new_event_id() -> str:
    """An event's id, the same in every endpoint's copy of it."""
    return f"evt_{uuid.uuid4().hex}"


class WebhookEndpoint(db.Model):
    """A receiver's URL, the event types it wants, and its signing secret(s)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(URL_MAX))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX), default="")
    #: Event type names (``portal.webhooks.events.EVENT_TYPES``).
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    #: Also internal comments (``comment.created``) and internal attachments in counts.
    internal: Mapped[bool] = mapped_column(default=False)
    #: The signing secret, encrypted (``signing.seal``); the previous one stays valid for a
    #: day after a rotation, and deliveries carry both signatures meanwhile.
    secret_sealed: Mapped[str] = mapped_column(Text)
    previous_secret_sealed: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The admin who registered it: events go out with their rights (``can_see``), so an
    #: endpoint of a deactivated or demoted admin sends nothing.
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Since when every delivery failed (cleared by a success); a day of it disables it.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    #: Its circuit breaker (``portal.webhooks.breaker``), here so every worker sees it:
    #: attempts that failed in a row (a success resets it), and once there were
    #: ``WEBHOOK_BREAKER_FAILURES`` of them, no attempt before ``breaker_open_until``.
    consecutive_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    breaker_open_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()

    def wants(self, event_type: str) -> bool:
        return self.active and event_type in (self.events or [])

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(OutboxRow, db.Model):
    """One event for one endpoint: the exact body to sign and send, and how sending went.

    ``status``, ``attempts``, ``last_error``, the claim and the times: ``OutboxRow``.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
                      # An endpoint's round claims its own due deliveries...
                      Index("ix_webhook_deliveries_endpoint_due", "endpoint_id", "status",
                            "next_attempt_at"),
                      # ...each only when no earlier one of its incident is pending.
                      Index("ix_webhook_deliveries_incident_order", "endpoint_id",
                            "incident_id", "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(40))
    webhook_id: Mapped[str] = mapped_column(String(40), default=new_webhook_id, unique=True)
    #: The JSON body, exactly as signed and sent.
    payload: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(index=True)
    #: Retried until then (a day after it was written or sent again), then ``failed``.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, default=give_up_at)
    #: The last attempt: the receiver's status code, its first KB, and how long it took.
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None]
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()

    def __str__(self) -> str:
        return f"#{self.id} {self.event_type} to {self.endpoint_id}"
