"""An incident's one timeline: its history events and the comments the user may read, in
time order, each in words ("tom started work: Assigned → In progress", "Priority: Medium →
High") rather than the stored values."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.display import when
from portal.incidents.enums import Category, EventKind, Priority
from portal.incidents.models import Comment, IncidentEvent

#: How a changed field is named, and how its stored (string) values read.
FIELDS = {
    "title": ("Title", None),
    "description": ("Description", None),
    "priority": ("Priority", lambda value: Priority(value).label),
    "category": ("Category", lambda value: Category(value).label),
    "technician": ("Technician", None),
    "due_at": ("Due", lambda value: when(datetime.fromisoformat(value))),
}
#: Long texts: the timeline says they changed, the page shows them.
LONG_FIELDS = {"description", "resolution_notes"}
VERBS = {
    EventKind.created: "reported it",
    EventKind.updated: "edited it",
    EventKind.assigned: "assigned it",
    EventKind.unassigned: "returned it to the queue",
    EventKind.started: "started work",
    EventKind.held: "put it on hold",
    EventKind.resumed: "resumed work",
    EventKind.resolved: "resolved it",
    EventKind.reopened: "reopened it",
    EventKind.closed: "closed it, confirming the fix",
}


@dataclass(frozen=True)
class Entry:
    at: datetime
    who: str
    #: "event" or "comment".
    kind: str
    text: str
    internal: bool = False
    #: A comment by mail whose sender nothing proved: the name is only what ``From`` said.
    unverified: bool = False
    details: tuple[str, ...] = ()
    #: Free text that keeps its line breaks: a comment's body, an event's note.
    body: str | None = None


def _value(field: str, value) -> str:
    if value in (None, "", "None"):
        return "—"
    reader = FIELDS.get(field, (None, None))[1]
    try:
        return reader(value) if reader else str(value)
    except ValueError:
        return str(value)


def change_words(changes: dict | None) -> list[str]:
    """An event's changed fields in words: "Priority: Medium → High"."""
    words = []
    for field, (old, new) in (changes or {}).items():
        if field in LONG_FIELDS:
            if field == "description":
                words.append("Description changed")
            continue
        label = FIELDS.get(field, (field.replace("_", " ").capitalize(), None))[0]
        words.append(f"{label}: {_value(field, old)} → {_value(field, new)}")
    return words


def describe(event: IncidentEvent) -> Entry:
    """One history event in words."""
    who = event.actor.username if event.actor else "The system"
    text = VERBS.get(event.kind, event.kind.label.lower())
    details = []
    if event.to_status and event.from_status and event.from_status != event.to_status:
        details.append(f"{event.from_status.label} → {event.to_status.label}")
    details += change_words(event.changes)
    return Entry(event.created_at, who, "event", text, details=tuple(details), body=event.note)


def timeline(events: list[IncidentEvent], comments: list[Comment]) -> list[Entry]:
    """Events and comments merged in time order (events first at the same instant)."""
    entries = [describe(event) for event in events]
    entries += [Entry(comment.created_at, comment.author.username, "comment",
                      "wrote an internal note" if comment.internal else "replied",
                      internal=comment.internal, unverified=comment.unverified_sender,
                      body=comment.body) for comment in comments]
    return sorted(entries, key=lambda entry: (entry.at, entry.kind == "comment"))
