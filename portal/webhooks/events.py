"""The event types an endpoint may ask for, and which history entry is which.

Each entry of an incident's history (``IncidentEvent``) that other systems care about is
one event type, and a new comment is ``comment.created``. The table is here once: the
hooks, the portal's form, the API's schema and the README read it.
"""
from __future__ import annotations

from portal.incidents.enums import EventKind

#: History kind → event type. Attachments are left out: they are not in the list
#: integrators asked for, and the incident's ``attachment_count`` shows them.
BY_KIND: dict[EventKind, str] = {
    EventKind.created: "incident.created",
    EventKind.updated: "incident.updated",
    EventKind.assigned: "incident.assigned",
    EventKind.unassigned: "incident.assigned",
    EventKind.started: "incident.status_changed",
    EventKind.held: "incident.status_changed",
    EventKind.resumed: "incident.status_changed",
    EventKind.resolved: "incident.resolved",
    EventKind.reopened: "incident.reopened",
    EventKind.closed: "incident.closed",
    EventKind.deleted: "incident.deleted",
    EventKind.sla_warning: "incident.sla_warning",
    EventKind.sla_breached: "incident.sla_breached",
}
COMMENT_CREATED = "comment.created"
#: The "send a test event" button's type; no endpoint subscribes to it.
TEST = "webhook.test"

#: Every type an endpoint may subscribe to, in the order forms list them.
EVENT_TYPES: tuple[str, ...] = tuple(dict.fromkeys((*BY_KIND.values(), COMMENT_CREATED)))

DESCRIPTIONS = {
    "incident.created": "an incident was reported",
    "incident.updated": "its title, description, priority or category changed",
    "incident.assigned": "it was assigned, taken, or unassigned",
    "incident.status_changed": "work started, was put on hold, or resumed",
    "incident.resolved": "it was resolved",
    "incident.reopened": "it was reopened",
    "incident.closed": "it was closed",
    "incident.deleted": "it was deleted (the payload is the incident as it was)",
    "incident.sla_warning": "an SLA target is near (SLA_WARN_AT of it has passed)",
    "incident.sla_breached": "an SLA target was missed",
    COMMENT_CREATED: "a comment was posted (internal ones only to internal endpoints)",
}
