"""``Incident``, its history (``IncidentEvent``) and its ``Comment``s.

Only ``portal.incidents.lifecycle`` changes an incident's status, technician or resolution;
these classes hold data and derived values, not rules.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, Enum, ForeignKey, Index, Integer, SmallInteger, String, Text, and_,
                        desc)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.auth.models import User
from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db
from portal.incidents.enums import ACTIVE, Category, EventKind, Level, Priority, SlaState, Status

TITLE_MAX = 200
TEXT_MAX = 20_000


def _enum(enum_class, table: str, column: str) -> Enum:
    # Stored as plain strings (VARCHAR + CHECK): readable in SQL, portable, easy to migrate.
    # The CHECK is named per column because PostgreSQL wants its names unique.
    return Enum(enum_class, native_enum=False, create_constraint=True, length=20,
                values_callable=lambda members: [m.value for m in members],
                validate_strings=True, name=f"ck_{table}_{column}")


class Incident(db.Model):
    """One reported problem and where it stands."""

    __tablename__ = "incidents"
    # Every list is "filter, then newest first, one page": each filterable column leads a
    # composite index with created_at, so the page is read in order from the index and
    # stops after a page; the count reads the same index (migration 0004).
    __table_args__ = (
        Index("ix_incidents_status_created", "status", "created_at"),
        # The desk's everyday triage filter (status=open&priority=critical) and the
        # dashboard's open critical incidents: both equalities in one index.
        Index("ix_incidents_status_priority_created", "status", "priority", "created_at"),
        Index("ix_incidents_priority_created", "priority", "created_at"),
        Index("ix_incidents_category_created", "category", "created_at"),
        Index("ix_incidents_reporter_created", "reporter_id", "created_at"),
        Index("ix_incidents_technician_created", "technician_id", "created_at"),
        # The dashboard's active incidents: overdue (status, due_at) and the load per
        # technician, answered from the index alone.
        Index("ix_incidents_status_due_technician", "status", "due_at", "technician_id"),
        # sort=-priority is (rank, id) read backwards; sort=priority (rank ascending, the
        # newest first within a rank) has its own index below the class, with id DESC.
        Index("ix_incidents_priority_rank_id", "priority_rank", "id"),
        # The SLA filter (sla_state=breached), newest first, like the other filters.
        Index("ix_incidents_sla_state_created", "sla_state", "created_at"),
        # The grids' work-first default order among the active incidents (overdue, then
        # priority, then due): every sort key in the index, so the page is chosen from
        # the index alone, without reading the rows (migration 0017).
        Index("ix_incidents_status_sla_rank_due", "status", "sla_state", "priority_rank",
              "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[Status] = mapped_column(_enum(Status, "incidents", "status"),
                                           default=Status.open)
    priority: Mapped[Priority] = mapped_column(_enum(Priority, "incidents", "priority"),
                                               default=Priority.medium)
    # Kept beside priority so "sort by priority" is an indexed integer sort, not a CASE.
    priority_rank: Mapped[int] = mapped_column(SmallInteger)
    category: Mapped[Category] = mapped_column(_enum(Category, "incidents", "category"),
                                               default=Category.other)
    # What the reporter said about impact and urgency (both or neither); when given the
    # priority came from the ITIL matrix, unless an admin overrode it (the created event
    # records that).
    impact: Mapped[Level | None] = mapped_column(_enum(Level, "incidents", "impact"))
    urgency: Mapped[Level | None] = mapped_column(_enum(Level, "incidents", "urgency"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution_notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The dashboard's mean time to resolve reads the last 30 days of resolutions only.
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The SLA clock's results (portal/sla/clock.py derives them from the history and the
    # lifecycle stores them on every change), kept here so lists filter and sort by them.
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The dashboard's mean time to first response over the last 30 days (migration 0017).
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    sla_state: Mapped[SlaState] = mapped_column(_enum(SlaState, "incidents", "sla_state"),
                                                default=SlaState.ok)
    #: When the worker looks at this incident's clock next (a warning or breach is due).
    sla_next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    version: Mapped[int] = mapped_column(default=1)

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    technician: Mapped[User | None] = relationship(foreign_keys=[technician_id])
    events: Mapped[list[IncidentEvent]] = relationship(
        back_populates="incident", order_by="(IncidentEvent.created_at, IncidentEvent.id)")
    comments: Mapped[list[Comment]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", passive_deletes=True,
        order_by="(Comment.created_at, Comment.id)")

    # SQLAlchemy bumps ``version`` on every UPDATE and refuses (StaleDataError) an UPDATE
    # whose row was changed by someone else since it was read: optimistic concurrency.
    __mapper_args__ = {"version_id_col": version}

    @validates("priority")
    def _keep_rank(self, _key: str, value: Priority) -> Priority:
        self.priority_rank = Priority(value).rank
        return value

    @property
    def number(self) -> str:
        """The incident's reference as people say it: ``INC-42``."""
        return f"INC-{self.id}"

    @hybrid_property
    def is_overdue(self) -> bool:
        """Still active, its resolution clock running and past its target: one rule for
        pages (Python) and for filters and counts (SQL, below). A paused clock is not
        overdue: its ``due_at`` moves when it resumes."""
        return (self.status in ACTIVE and self.sla_state is not SlaState.paused
                and self.due_at is not None and self.due_at < utcnow())

    @is_overdue.inplace.expression
    @classmethod
    def _is_overdue_expression(cls):
        return and_(cls.status.in_(ACTIVE), cls.sla_state != SlaState.paused,
                    cls.due_at < utcnow())

    def __str__(self) -> str:
        return f"{self.number}: {self.title}"


class IncidentEvent(db.Model):
    """One entry of an incident's history: who did what, when, from what to what.

    ``incident_id`` is emptied (not deleted) when an admin deletes the incident, so the
    audit trail keeps the deletion itself.
    """

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, "incident_events", "kind"), index=True)
    from_status: Mapped[Status | None] = mapped_column(
        _enum(Status, "incident_events", "from_status"))
    to_status: Mapped[Status | None] = mapped_column(
        _enum(Status, "incident_events", "to_status"))
    #: Other fields this action changed: ``{"priority": ["low", "high"], ...}``.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: On an ``assigned`` event, whom it was given to, by id: ``changes`` names them as
    #: they were called then, and the SLA clock asks "did they take it themselves?"
    #: (a first response), whose answer must not change when a user is renamed.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    incident: Mapped[Incident | None] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor or 'system'}"


class Comment(db.Model):
    """A remark on an incident; ``internal`` ones are for admins and technicians only."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_incident_created", "incident_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)
    #: It came by mail whose sender nothing proved (README "Mail in"): the author is who
    #: the ``From`` claims, which the timeline, the API and its mail say.
    unverified_sender: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()


# Declared on the mapped columns (not as strings) so that Alembic compares the DESC column
# as a column on SQLite too.
Index("ix_incidents_priority_rank_id_desc", Incident.priority_rank, desc(Incident.id))

#: PostgreSQL's trigram indexes for ILIKE search over title and description (index name:
#: column). Made by migration 0005 alone, and only where pg_trgm can be created, so the
#: comparison of models and database leaves them out (``managed_by_models``).
TRIGRAM_INDEXES = {"ix_incidents_title_trgm": "title",
                   "ix_incidents_description_trgm": "description"}


def managed_by_models(_object, name, type_, _reflected, _compare_to) -> bool:
    """Alembic's ``include_object``: everything but the migration-only indexes."""
    return not (type_ == "index" and name in TRIGRAM_INDEXES)

