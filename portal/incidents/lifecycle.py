"""The incident lifecycle: every change of an incident goes through these functions.

Each function takes the acting user, checks in this order that the incident is visible
(``NotVisible``), that the actor's capacity permits the action (``NotAllowed``), that the
status allows it (``InvalidTransition``) and that the values are valid (``InvalidValue``),
and only then changes the incident and writes one ``IncidentEvent``. A refused call changes
nothing. The functions flush but never commit: the caller owns the transaction, so the
notification hooks see one commit per request.

The rules are data: ``PERMITTED`` (who), ``TRANSITIONS`` (from which statuses, to which)
and ``EDITABLE`` (which fields each capacity may edit).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app

from portal.auth.models import User
from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents.access import Capacity, can_see, capacities
from portal.incidents.enums import Action, Category, EventKind, Priority, Status
from portal.incidents.models import TEXT_MAX, TITLE_MAX, Comment, Incident, IncidentEvent


class LifecycleError(Exception):
    """Base of every refusal; ``http_status`` is what the API answers."""

    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotVisible(LifecycleError):
    """The incident does not exist for this user (404)."""

    http_status = 404


class NotAllowed(LifecycleError):
    """The user sees the incident but their role may not do this (403)."""

    http_status = 403


class InvalidTransition(LifecycleError):
    """The incident's status does not allow this action (409)."""

    http_status = 409


class InvalidValue(LifecycleError):
    """A value is missing or wrong; ``field`` names it (422)."""

    http_status = 422


class StaleIncident(LifecycleError):
    """The incident changed since the caller read it (412)."""

    http_status = 412


ACTIVE = frozenset({Status.open, Status.assigned, Status.in_progress, Status.on_hold})

#: Who may take each action on an existing incident.
PERMITTED: dict[Action, frozenset[Capacity]] = {
    Action.update: frozenset({Capacity.admin, Capacity.technician_on_it, Capacity.reporter_of_it}),
    Action.assign: frozenset({Capacity.admin}),
    Action.start: frozenset({Capacity.admin, Capacity.technician_on_it}),
    Action.hold: frozenset({Capacity.admin, Capacity.technician_on_it}),
    Action.resume: frozenset({Capacity.admin, Capacity.technician_on_it}),
    Action.resolve: frozenset({Capacity.admin, Capacity.technician_on_it}),
    Action.reopen: frozenset({Capacity.admin, Capacity.reporter_of_it}),
    Action.close: frozenset({Capacity.admin, Capacity.reporter_of_it}),
    Action.delete: frozenset({Capacity.admin}),
    Action.comment: frozenset({Capacity.viewer}),
}

#: The capacities each role can hold towards some incident.
ROLE_CAPACITIES: dict[str, frozenset[Capacity]] = {
    "admin": frozenset({Capacity.admin, Capacity.staff, Capacity.viewer}),
    "technician": frozenset({Capacity.technician_on_it, Capacity.staff, Capacity.viewer}),
    "reporter": frozenset({Capacity.reporter_of_it, Capacity.viewer}),
}

#: From which statuses each action may be taken, and the status it leads to
#: (``None``: it depends on the incident, see ``assign`` and ``reopen``).
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status | None]] = {
    Action.update: (frozenset(Status) - {Status.closed}, None),
    Action.assign: (ACTIVE, None),
    Action.start: (frozenset({Status.assigned}), Status.in_progress),
    Action.hold: (frozenset({Status.in_progress}), Status.on_hold),
    Action.resume: (frozenset({Status.on_hold}), Status.in_progress),
    Action.resolve: (ACTIVE, Status.resolved),
    Action.reopen: (frozenset({Status.resolved}), None),
    Action.close: (frozenset({Status.resolved}), Status.closed),
    Action.delete: (frozenset(Status), None),
    Action.comment: (frozenset(Status) - {Status.closed}, None),
}

#: The fields each capacity may edit with ``update``; reporters only while ``open``.
EDITABLE: dict[Capacity, frozenset[str]] = {
    Capacity.admin: frozenset({"title", "description", "priority", "category"}),
    Capacity.technician_on_it: frozenset({"description", "priority"}),
    Capacity.reporter_of_it: frozenset({"title", "description"}),
}
REPORTER_EDITS_WHILE = frozenset({Status.open})


# --- checks ---------------------------------------------------------------------------

def _authorize(incident: Incident, actor: User, action: Action) -> set[Capacity]:
    held = capacities(actor, incident)
    if not held:
        raise NotVisible(f"incident {incident.id} not found")
    if not held & PERMITTED[action]:
        raise NotAllowed(f"{actor.widest_role or 'a user without a role'} may not "
                         f"{action.value} {incident.number}")
    allowed_from, _ = TRANSITIONS[action]
    if incident.status not in allowed_from:
        raise InvalidTransition(
            f"cannot {action.value} {incident.number}: it is {incident.status.value}")
    return held


def _text(value: Any, field: str, *, max_length: int, required: bool = True) -> str | None:
    if value is None:
        if required:
            raise InvalidValue(f"{field} is required", field=field)
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"{field} must be text", field=field)
    value = value.strip()
    if not value and required:
        raise InvalidValue(f"{field} must not be blank", field=field)
    if len(value) > max_length:
        raise InvalidValue(f"{field} is longer than {max_length} characters", field=field)
    return value or None


def _choice(enum_class, value: Any, field: str):
    try:
        return enum_class(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum_class)
        raise InvalidValue(f"{field} must be one of {choices}, not {value!r}",
                           field=field) from None


def check_version(incident: Incident, expected: int | None) -> None:
    """Refuse to act on an incident changed since the caller read version ``expected``.

    :raises StaleIncident: the versions differ.
    """
    if expected is not None and expected != incident.version:
        raise StaleIncident(f"{incident.number} has changed since you read it "
                            f"(version {expected}, now {incident.version}): read it again")


def may_ever(user: User, action: Action | str) -> bool:
    """Whether ``user``'s roles allow ``action`` on at least some incident: what menus and
    bulk-action lists offer; each incident is still checked when the action runs."""
    held = frozenset().union(*(ROLE_CAPACITIES.get(role, frozenset())
                               for role in user.role_names))
    return bool(held & PERMITTED[Action(action)])


def allowed_actions(user: User, incident: Incident) -> set[Action]:
    """The actions ``user`` may take on ``incident`` now (what the portal offers)."""
    held = capacities(user, incident)
    allowed = set()
    for action, who in PERMITTED.items():
        allowed_from, _ = TRANSITIONS[action]
        if held & who and incident.status in allowed_from:
            allowed.add(action)
    if Action.update in allowed and not editable_fields(user, incident):
        allowed.discard(Action.update)
    return allowed


def editable_fields(user: User, incident: Incident) -> frozenset[str]:
    """The fields ``user`` may change on ``incident`` with ``update`` right now."""
    fields: frozenset[str] = frozenset()
    for capacity in capacities(user, incident):
        if capacity is Capacity.reporter_of_it and incident.status not in REPORTER_EDITS_WHILE:
            continue
        fields |= EDITABLE.get(capacity, frozenset())
    return fields


# --- changes --------------------------------------------------------------------------

def _due_at(incident: Incident):
    hours = current_app.config["SLA_HOURS"][incident.priority.value]
    return incident.created_at + timedelta(hours=hours)


def _record(incident: Incident, actor: User, kind: EventKind, *, from_status: Status | None,
            changes: dict[str, list[Any]] | None = None, note: str | None = None) -> IncidentEvent:
    now = utcnow()
    incident.updated_at = now
    event = IncidentEvent(incident=incident, actor=actor, kind=kind, from_status=from_status,
                          to_status=incident.status, changes=changes or {}, note=note,
                          created_at=now)
    db.session.add(event)
    return event


def _user_label(user: User | None) -> str | None:
    return user.username if user is not None else None


def create(*, actor: User, title: Any, description: Any, priority: Any = None,
           category: Any = None, reporter: User | None = None) -> Incident:
    """Open a new incident reported by ``actor`` (admins may name another ``reporter``).

    :raises NotAllowed: the actor has no role, or a non-admin names a reporter.
    :raises InvalidValue: a field is missing, blank, too long or not one of its choices.
    """
    if not actor.is_authenticated or not actor.active or not actor.role_names:
        raise NotAllowed("your account has no role that may report incidents")
    if reporter is not None and reporter.id != actor.id:
        if not actor.is_admin:
            raise NotAllowed("only admins may report an incident for someone else")
        if not reporter.active:
            raise InvalidValue(f"reporter {reporter.email} is not active", field="reporter_id")
    now = utcnow()
    incident = Incident(
        title=_text(title, "title", max_length=TITLE_MAX),
        description=_text(description, "description", max_length=TEXT_MAX),
        priority=Priority.medium if priority is None else _choice(Priority, priority, "priority"),
        category=Category.other if category is None else _choice(Category, category, "category"),
        reporter=reporter or actor, status=Status.open, created_at=now, updated_at=now)
    incident.due_at = _due_at(incident)
    db.session.add(incident)
    _record(incident, actor, EventKind.created, from_status=None)
    db.session.flush()
    return incident


def update(incident: Incident, *, actor: User, **fields: Any) -> Incident:
    """Change some of ``title``, ``description``, ``priority``, ``category``.

    A new priority moves ``due_at`` to the new SLA target. Fields equal to their current
    value are ignored; a call that changes nothing writes no event.

    :raises NotAllowed: a field the actor's role may not edit (reporters: only while open).
    :raises InvalidValue: an unknown field or a bad value.
    """
    _authorize(incident, actor, Action.update)
    known = EDITABLE[Capacity.admin]
    for name in fields:
        if name not in known:
            raise InvalidValue(f"{name} cannot be changed with an update", field=name)
    allowed = editable_fields(actor, incident)
    for name in fields:
        if name not in allowed:
            if name in EDITABLE[Capacity.reporter_of_it] and \
                    Capacity.reporter_of_it in capacities(actor, incident):
                raise NotAllowed(f"{name} of {incident.number} can only be edited by its "
                                 f"reporter while it is open; it is {incident.status.value}")
            raise NotAllowed(f"{actor.widest_role} may not edit {name} of {incident.number}")
    cleaners = {
        "title": lambda v: _text(v, "title", max_length=TITLE_MAX),
        "description": lambda v: _text(v, "description", max_length=TEXT_MAX),
        "priority": lambda v: _choice(Priority, v, "priority"),
        "category": lambda v: _choice(Category, v, "category"),
    }
    new_values = {name: cleaners[name](value) for name, value in fields.items()}
    changes: dict[str, list[Any]] = {}
    for name, value in new_values.items():
        old = getattr(incident, name)
        if old != value:
            changes[name] = [str(old), str(value)]
            setattr(incident, name, value)
    if "priority" in changes:
        old_due, incident.due_at = incident.due_at, _due_at(incident)
        changes["due_at"] = [old_due.isoformat(), incident.due_at.isoformat()]
    if changes:
        _record(incident, actor, EventKind.updated, from_status=incident.status,
                changes=changes)
        db.session.flush()
    return incident


def assign(incident: Incident, *, actor: User, technician: User | None) -> Incident:
    """Give ``incident`` to ``technician`` (admins only); ``None`` takes it back.

    From ``open`` the incident becomes ``assigned``; reassigning keeps the status;
    unassigning returns it to ``open``.

    :raises InvalidValue: the technician is inactive or holds neither technician nor admin.
    """
    _authorize(incident, actor, Action.assign)
    if technician is not None and not technician.can_be_assigned:
        reason = "is not active" if not technician.active else "is not a technician"
        raise InvalidValue(f"user {technician.id} ({technician.username}) {reason}",
                           field="technician_id")
    if technician is not None and incident.technician_id == technician.id:
        return incident
    if technician is None and incident.technician_id is None:
        return incident
    before, old_technician = incident.status, incident.technician
    incident.technician = technician
    if technician is None:
        incident.status = Status.open
        kind = EventKind.unassigned
    else:
        if incident.status is Status.open:
            incident.status = Status.assigned
        kind = EventKind.assigned
    _record(incident, actor, kind, from_status=before,
            changes={"technician": [_user_label(old_technician), _user_label(technician)]})
    db.session.flush()
    return incident


def _move(incident: Incident, actor: User, action: Action, kind: EventKind) -> Incident:
    _authorize(incident, actor, action)
    before = incident.status
    incident.status = TRANSITIONS[action][1]
    _record(incident, actor, kind, from_status=before)
    db.session.flush()
    return incident


def start(incident: Incident, *, actor: User) -> Incident:
    """Begin work: ``assigned`` → ``in_progress`` (the technician on it, or an admin)."""
    return _move(incident, actor, Action.start, EventKind.started)


def hold(incident: Incident, *, actor: User) -> Incident:
    """Pause work: ``in_progress`` → ``on_hold``."""
    return _move(incident, actor, Action.hold, EventKind.held)


def resume(incident: Incident, *, actor: User) -> Incident:
    """Continue work: ``on_hold`` → ``in_progress``."""
    return _move(incident, actor, Action.resume, EventKind.resumed)


def resolve(incident: Incident, *, actor: User, resolution_notes: Any) -> Incident:
    """Mark fixed, with notes saying how; sets ``resolved_at``.

    :raises InvalidValue: the notes are missing or blank.
    """
    _authorize(incident, actor, Action.resolve)
    notes = _text(resolution_notes, "resolution_notes", max_length=TEXT_MAX)
    before = incident.status
    incident.status = Status.resolved
    incident.resolution_notes = notes
    incident.resolved_at = utcnow()
    _record(incident, actor, EventKind.resolved, from_status=before, note=notes)
    db.session.flush()
    return incident


def reopen(incident: Incident, *, actor: User, note: Any = None) -> Incident:
    """Not fixed after all: back to ``assigned`` (or ``open`` with no technician).

    The old resolution notes stay in the history; ``resolved_at`` is cleared.
    """
    _authorize(incident, actor, Action.reopen)
    note = _text(note, "note", max_length=TEXT_MAX, required=False)
    before, old_notes = incident.status, incident.resolution_notes
    incident.status = Status.assigned if incident.technician_id else Status.open
    incident.resolution_notes = None
    incident.resolved_at = None
    _record(incident, actor, EventKind.reopened, from_status=before,
            changes={"resolution_notes": [old_notes, None]}, note=note)
    db.session.flush()
    return incident


def close(incident: Incident, *, actor: User) -> Incident:
    """Confirm the fix: ``resolved`` → ``closed`` (final); sets ``closed_at``."""
    _authorize(incident, actor, Action.close)
    before = incident.status
    incident.status = Status.closed
    incident.closed_at = utcnow()
    _record(incident, actor, EventKind.closed, from_status=before)
    db.session.flush()
    return incident


def change_status(incident: Incident, *, actor: User, status: Any,
                  resolution_notes: Any = None) -> Incident:
    """Move ``incident`` to ``status`` through the action that leads there.

    For clients that set a status rather than name an action (the API's PUT and PATCH):
    ``in_progress`` is *start* or *resume*, ``on_hold`` *hold*, ``resolved`` *resolve*
    (with the notes), ``closed`` *close*, and ``open``/``assigned`` from ``resolved``
    *reopen*. Assignment is not a status change: it is ``assign``.

    :raises InvalidTransition: no action leads from the current status to ``status``.
    """
    target = _choice(Status, status, "status")
    current = incident.status
    if resolution_notes is not None and target is not Status.resolved:
        raise InvalidValue("resolution_notes can only be given when resolving",
                           field="resolution_notes")
    if target is current:
        return incident
    if target is Status.resolved:
        return resolve(incident, actor=actor, resolution_notes=resolution_notes)
    if target is Status.in_progress and current is Status.on_hold:
        return resume(incident, actor=actor)
    moves = {Status.in_progress: start, Status.on_hold: hold, Status.closed: close}
    if target in moves:
        return moves[target](incident, actor=actor)
    if current is Status.resolved and target in (Status.open, Status.assigned):
        expected = Status.assigned if incident.technician_id else Status.open
        if target is expected:
            return reopen(incident, actor=actor)
    if target is Status.assigned:
        raise InvalidTransition(f"cannot set {incident.number} to assigned: assign a "
                                "technician (technician_id) instead")
    raise InvalidTransition(f"cannot move {incident.number} from {current.value} "
                            f"to {target.value}")


def delete(incident: Incident, *, actor: User) -> None:
    """Remove an incident and its comments (admins only); the deletion stays in the audit."""
    _authorize(incident, actor, Action.delete)
    db.session.add(IncidentEvent(
        incident=None, actor=actor, kind=EventKind.deleted, from_status=incident.status,
        changes={}, note=f"{incident.number} deleted: {incident.title}", created_at=utcnow()))
    db.session.delete(incident)
    db.session.flush()


def comment(incident: Incident, *, actor: User, body: Any, internal: bool = False) -> Comment:
    """Add a comment; ``internal`` ones are only for admins and technicians.

    :raises NotAllowed: a reporter asks for an internal comment.
    """
    held = _authorize(incident, actor, Action.comment)
    if not isinstance(internal, bool):
        raise InvalidValue("internal must be true or false", field="internal")
    if internal and Capacity.staff not in held:
        raise NotAllowed("only admins and technicians may write internal comments")
    new = Comment(incident=incident, author=actor, internal=internal, created_at=utcnow(),
                  body=_text(body, "body", max_length=TEXT_MAX))
    db.session.add(new)
    db.session.flush()
    return new


__all__ = [
    "LifecycleError", "NotVisible", "NotAllowed", "InvalidTransition", "InvalidValue",
    "StaleIncident", "PERMITTED", "TRANSITIONS", "EDITABLE", "allowed_actions",
    "editable_fields", "check_version", "can_see", "create", "update", "assign", "start",
    "hold", "resume", "resolve", "reopen", "close", "change_status", "delete", "comment",
]
