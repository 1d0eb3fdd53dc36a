"""The vocabularies of an incident: statuses, priorities, categories, actions, events,
and the sets of statuses that rules and pages refer to."""
from __future__ import annotations

from enum import StrEnum


class Labelled(StrEnum):
    """A vocabulary whose members read as words in pages and mail: ``in_progress`` is
    "In progress"."""

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Status(Labelled):
    open = "open"
    assigned = "assigned"
    in_progress = "in_progress"
    on_hold = "on_hold"
    resolved = "resolved"
    closed = "closed"


#: Someone still has to work on these: what "active", "overdue" and the queues count.
ACTIVE = frozenset({Status.open, Status.assigned, Status.in_progress, Status.on_hold})
#: Resolved or closed: nobody works on these, and their SLA clocks stop (a reopen goes on
#: from where it stood).
STOPPED_FOR_GOOD = frozenset(Status) - ACTIVE
#: Everything but the final status.
NOT_CLOSED = frozenset(Status) - {Status.closed}


class Priority(Labelled):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        """Sort key: higher is more urgent (low 1 ... critical 4)."""
        return list(Priority).index(self) + 1


class Category(Labelled):
    hardware = "hardware"
    software = "software"
    network = "network"
    access = "access"
    other = "other"


class Action(StrEnum):
    """Everything a user can do to an incident; each is one lifecycle function."""

    create = "create"
    update = "update"
    assign = "assign"
    take = "take"
    start = "start"
    hold = "hold"
    resume = "resume"
    resolve = "resolve"
    reopen = "reopen"
    close = "close"
    delete = "delete"
    comment = "comment"


class EventKind(Labelled):
    """What an ``IncidentEvent`` records: one per lifecycle action that changes something,
    and what happens to an incident beside its lifecycle (files, the SLA clock)."""

    created = "created"
    updated = "updated"
    assigned = "assigned"
    unassigned = "unassigned"
    started = "started"
    held = "held"
    resumed = "resumed"
    resolved = "resolved"
    reopened = "reopened"
    closed = "closed"
    deleted = "deleted"
    attachment_added = "attachment_added"
    attachment_deleted = "attachment_deleted"
    sla_warning = "sla_warning"
    sla_breached = "sla_breached"


class SlaState(Labelled):
    """Where an incident stands against its SLA targets (``portal.sla.clock``)."""

    ok = "ok"
    warning = "warning"
    breached = "breached"
    paused = "paused"
    met = "met"


class Level(Labelled):
    """An incident's impact (how many it hurts) or urgency (how soon it hurts), from which
    the ITIL matrix (``portal.sla.policy``) gives its priority."""

    low = "low"
    medium = "medium"
    high = "high"
