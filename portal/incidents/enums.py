"""The vocabularies of an incident: statuses, priorities, categories, actions, events."""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    open = "open"
    assigned = "assigned"
    in_progress = "in_progress"
    on_hold = "on_hold"
    resolved = "resolved"
    closed = "closed"


class Priority(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        """Sort key: higher is more urgent (low 1 ... critical 4)."""
        return list(Priority).index(self) + 1


class Category(StrEnum):
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
    start = "start"
    hold = "hold"
    resume = "resume"
    resolve = "resolve"
    reopen = "reopen"
    close = "close"
    delete = "delete"
    comment = "comment"


class EventKind(StrEnum):
    """What an ``IncidentEvent`` records; one per lifecycle action that changes something."""

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
