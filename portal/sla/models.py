"""The SLA's tables: holidays (days without business hours, managed by admins) and the
alerts already sent, one row per incident, target and kind, so each warning and each
breach is announced once however many workers look at the same moment."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db


class Holiday(db.Model):
    """A date on which the business calendar has no working hours."""

    __tablename__ = "sla_holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(100))

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.name}"


class SlaAlert(db.Model):
    """A warning or breach that has been announced (the claim that makes it once-only)."""

    __tablename__ = "sla_alerts"
    __table_args__ = (UniqueConstraint("incident_id", "target", "kind",
                                       name="uq_sla_alerts_incident_target_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    #: ``first_response`` or ``resolution``.
    target: Mapped[str] = mapped_column(String(20))
    #: ``warning`` or ``breached``.
    kind: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
