"""The incident lifecycle: every change of an incident goes through these functions.

Each function takes the acting user, checks in this order that the incident is visible
(``NotVisible``), that the actor's capacity permits the action (``NotAllowed``), that the
status allows it (``InvalidTransition``) and that the values are valid (``InvalidValue``),
and only then changes the incident and writes one ``IncidentEvent``. A refused call changes
nothing. The functions flush but never commit: the caller owns the transaction, so the
notification hooks see one commit per request.

The rules are data. ``ACTIONS`` declares every action once, beside its function (the
``@action`` decorator): who may take it, from which statuses and to which; and, for the
*commands* (actions taken on one incident by name), what they need, their label and the
words for what they did. The API's action endpoints, the portal's buttons and bulk
actions and the seed loader are all read from it. ``EDITABLE`` says which fields each
capacity may edit; which capacities each role grants is declared with the role
(``portal.auth.roles``).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Callable

from flask import Flask, current_app

from portal import plain_text
from portal.auth.models import User
from portal.auth.roles import can_hold
from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents.access import Capacity, can_see, capacities
from portal.incidents.enums import (ACTIVE, NOT_CLOSED, Action, Category, EventKind, Level, Priority,
                                   Status)
from portal.incidents.models import TEXT_MAX, TITLE_MAX, Comment, Incident, IncidentEvent
from portal.refusals import Refused


class LifecycleError(Refused, http_status=400):
    """Base of the lifecycle's refusals, never raised bare (it would be a 400): each kind
    below is one reason, with the status the API answers."""


class NotVisible(LifecycleError, http_status=404):
    """The incident does not exist for this user (404)."""


class NotAllowed(LifecycleError, http_status=403):
    """The user sees the incident but their role may not do this (403)."""


class InvalidTransition(LifecycleError, http_status=409):
    """The incident's status does not allow this action (409)."""


class InvalidValue(LifecycleError, http_status=422):
    """A value is missing or wrong; ``field`` names it (422)."""


class StaleIncident(LifecycleError, http_status=412):
    """The incident changed since the version the caller named (412): only a caller who
    sent a precondition (``If-Match``) hears it."""


class Needs(StrEnum):
    """What a command needs besides the incident and the actor: the keyword its function
    takes (``nothing`` takes none)."""

    nothing = "nothing"
    technician = "technician"               # a user, or None to return it to the queue
    resolution_notes = "resolution_notes"   # required text
    note = "note"                           # optional text: why


@dataclass(frozen=True)
class ActionSpec:
    """One action, declared once: the rule, and for commands how they are presented."""

    action: Action
    function: Callable[..., Any]
    #: The capacities that may take it.
    who: frozenset[Capacity]
    #: The statuses it may be taken from.
    allowed_from: frozenset[Status]
    #: The status it leads to; ``None`` when that depends on the incident.
    leads_to: Status | None = None
    #: Commands have a label: a button, a bulk action, ``POST /incidents/<id>/<name>``.
    label: str | None = None
    needs: Needs = Needs.nothing
    #: What it did, after the incident numbers: "started", "assigned to {technician}".
    done: str = ""
    #: One line for the API documentation.
    summary: str = ""
    confirm: str | None = None
    #: A client that sets ``status`` (PUT/PATCH) reaches ``leads_to`` through it.
    moves_status: bool = True
    #: Has its own ``POST /incidents/<id>/<name>`` (delete is ``DELETE /incidents/<id>``).
    endpoint: bool = True
    #: Moves the work forward (towards closed): pages offer it first, as the main button.
    advances: bool = False

    @property
    def name(self) -> str:
        return self.action.value

    @property
    def is_command(self) -> bool:
        return self.label is not None

    def inputs(self, value: Any) -> dict[str, Any]:
        """The keyword arguments that hand ``value`` (what it needs) to its function."""
        return {} if self.needs is Needs.nothing else {self.needs.value: value}

    def run(self, incident: Incident, *, actor: User, value: Any = None) -> Any:
        """Take the action on ``incident``, with ``value`` for what it needs."""
        return self.function(incident, actor=actor, **self.inputs(value))


#: Every action, in the order pages and documents show them (filled by ``@action``).
ACTIONS: dict[Action, ActionSpec] = {}


def action(name: Action, *, who, allowed_from, **presentation):
    """Declare ``name``'s rule (and, with a ``label``, its command) for the function below."""
    def register(function):
        ACTIONS[name] = ActionSpec(name, function, frozenset(who), frozenset(allowed_from),
                                   **presentation)
        return function
    return register


def commands() -> list[ActionSpec]:
    """The actions taken on one incident by name, in their declared order."""
    return [spec for spec in ACTIONS.values() if spec.is_command]


def offered_commands(user: User, incident: Incident) -> list[ActionSpec]:
    """The commands ``user`` may take on ``incident`` now, those that move the work
    forward first (the page's main button is the first), else in declared order."""
    allowed = allowed_actions(user, incident)
    offered = [spec for spec in commands() if spec.action in allowed]
    return sorted(offered, key=lambda spec: not spec.advances)


ADMIN = {Capacity.admin}
ON_IT = {Capacity.admin, Capacity.technician_on_it}
REPORTER = {Capacity.admin, Capacity.reporter_of_it}
EVERY_STATUS = frozenset(Status)

#: The fields ``update`` changes, in form order; what each capacity may edit, below.
UPDATABLE_FIELDS = ("title", "description", "priority", "category")
EDITABLE: dict[Capacity, frozenset[str]] = {
    Capacity.admin: frozenset(UPDATABLE_FIELDS),
    Capacity.technician_on_it: frozenset({"description", "priority"}),
    Capacity.reporter_of_it: frozenset({"title", "description"}),
}
REPORTER_EDITS_WHILE = frozenset({Status.open})


# --- checks ---------------------------------------------------------------------------

def _authorize(incident: Incident, actor: User, action: Action) -> set[Capacity]:
    spec = ACTIONS[action]
    held = capacities(actor, incident)
    if not held:
        raise NotVisible(f"incident {incident.id} not found")
    if not held & spec.who:
        raise NotAllowed(f"{actor.widest_role or 'a user without a role'} may not "
                         f"{action.value} {incident.number}")
    if incident.status not in spec.allowed_from:
        raise InvalidTransition(
            f"cannot {action.value} {incident.number}: it is {incident.status.label.lower()}")
    return held


def authorize(incident: Incident, actor: User, action: Action) -> set[Capacity]:
    """Run ``action``'s checks for work done beside it (attachments ride on ``comment``);
    return the capacities the actor holds.

    :raises NotVisible, NotAllowed, InvalidTransition: as the action itself would.
    """
    return _authorize(incident, actor, action)


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
    if (words := plain_text.problem(value)) is not None:
        raise InvalidValue(f"{field} {words}", field=field, code=plain_text.CODE)
    return value or None


def _choice(enum_class, value: Any, field: str):
    try:
        return enum_class(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum_class)
        raise InvalidValue(f"{field} must be one of {choices}, not {value!r}",
                           field=field) from None


#: How ``update`` reads each field it changes.
_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "title": lambda v: _text(v, "title", max_length=TITLE_MAX),
    "description": lambda v: _text(v, "description", max_length=TEXT_MAX),
    "priority": lambda v: _choice(Priority, v, "priority"),
    "category": lambda v: _choice(Category, v, "category"),
}


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
    action = Action(action)
    if action is Action.take and not user.can_be_assigned:
        return False  # as allowed_actions: only those who may be assigned take one
    return bool(can_hold(user.role_names) & ACTIONS[action].who)


def may_take_in_bulk(user: User, action: Action | str) -> bool:
    """Whether ``user`` may take ``action`` on many incidents at once (the grids' bulk
    actions): staff only, and only an action their roles allow at all (``may_ever``);
    a reporter acts on one incident at a time, from its page."""
    return user.is_staff and may_ever(user, action)


def allowed_actions(user: User, incident: Incident) -> set[Action]:
    """The actions ``user`` may take on ``incident`` now (what the portal offers)."""
    held = capacities(user, incident)
    allowed = {spec.action for spec in ACTIONS.values()
               if held & spec.who and incident.status in spec.allowed_from}
    if Action.update in allowed and not editable_fields(user, incident):
        allowed.discard(Action.update)
    if Action.take in allowed and not (user.can_be_assigned and incident.technician_id is None):
        allowed.discard(Action.take)
    return allowed


def editable_fields(user: User, incident: Incident) -> frozenset[str]:
    """The fields ``user`` may change on ``incident`` with ``update`` right now."""
    fields: frozenset[str] = frozenset()
    for capacity in capacities(user, incident):
        if capacity is Capacity.reporter_of_it and incident.status not in REPORTER_EDITS_WHILE:
            continue
        fields |= EDITABLE.get(capacity, frozenset())
    return fields


# --- what the app adds ---------------------------------------------------------------
# The SLA clock reads the incidents' history, so ``portal.sla`` stands above this package
# and is not imported here: the app tells its lifecycle what to call (``init_sla``).

class Hooks:
    """What an app's lifecycle calls that other packages provide."""

    def __init__(self) -> None:
        #: Called with the incident after each change the lifecycle writes (the SLA
        #: clock stores where it stands).
        self.after_change: list[Callable[[Incident], object]] = []
        #: The priority an impact and an urgency give (the SLA policy's matrix).
        self.priority_for: Callable[[Level, Level], Priority] | None = None


def hooks(app: Flask | None = None) -> Hooks:
    """``app``'s lifecycle hooks (default: the current app's), made empty on first use."""
    return (app or current_app).extensions.setdefault("lifecycle_hooks", Hooks())


def _changed(incident: Incident) -> None:
    for callback in hooks().after_change:
        callback(incident)


# --- changes --------------------------------------------------------------------------

def _record(incident: Incident, actor: User, kind: EventKind, *, from_status: Status | None,
            changes: dict[str, list[Any]] | None = None, note: str | None = None,
            assignee: User | None = None) -> IncidentEvent:
    now = utcnow()
    incident.updated_at = now
    event = IncidentEvent(incident=incident, actor=actor, kind=kind, from_status=from_status,
                          to_status=incident.status, changes=changes or {}, note=note,
                          assignee_id=assignee.id if assignee is not None else None,
                          created_at=now)
    db.session.add(event)
    # The SLA clock is derived from the history just written: store where it stands now.
    _changed(incident)
    return event


def _user_label(user: User | None) -> str | None:
    return user.username if user is not None else None


def may_report_for(actor: User, reporter_id: int | None) -> bool:
    """Whether ``actor`` may name ``reporter_id`` as an incident's reporter: themselves (or
    nobody), or anyone when they are an admin."""
    return reporter_id is None or reporter_id == actor.id or actor.is_admin


@action(Action.create, who={Capacity.viewer}, allowed_from=())
def create(*, actor: User, title: Any, description: Any, priority: Any = None,
           category: Any = None, reporter: User | None = None, impact: Any = None,
           urgency: Any = None) -> Incident:
    """Open a new incident reported by ``actor`` (admins may name another ``reporter``).

    With ``impact`` and ``urgency`` (both or neither) the priority is the one the ITIL
    matrix gives them; an admin may still name another ``priority``, and the created event
    records that override as a priority change (matrix → chosen).

    An account whose address is not confirmed (a registration waiting for its link)
    reports nothing and is nobody's reporter: it owns no incident and hears of none.

    :raises NotAllowed: the actor has no role or no confirmed address, or a non-admin
        names a reporter.
    :raises InvalidValue: a field is missing, blank, too long or not one of its choices;
        only one of impact and urgency; a non-admin's priority other than the matrix's;
        a reporter who is not active or has not confirmed their address.
    """
    if not actor.is_authenticated or not actor.active or not actor.role_names:
        raise NotAllowed("your account has no role that may report incidents")
    if not actor.address_confirmed:
        raise NotAllowed("your account's address is not confirmed yet")
    if reporter is not None and reporter.id != actor.id:
        if not may_report_for(actor, reporter.id):
            raise NotAllowed("only admins may report an incident for someone else")
        if not reporter.active:
            raise InvalidValue(f"reporter {reporter.email} is not active", field="reporter_id")
        if not reporter.address_confirmed:
            raise InvalidValue(f"reporter {reporter.email} has not confirmed their address",
                               field="reporter_id")
    chosen = None if priority is None else _choice(Priority, priority, "priority")
    levels, changes = _levels(impact, urgency), {}
    if levels is None:
        priority = chosen or Priority.medium
    else:
        priority = hooks().priority_for(*levels)
        if chosen is not None and chosen is not priority:
            if not actor.is_admin:
                raise InvalidValue(f"priority: impact {levels[0]} and urgency {levels[1]} "
                                   f"give {priority}; only admins may choose another",
                                   field="priority")
            changes = {"priority": [priority.value, chosen.value]}
            priority = chosen
    now = utcnow()
    incident = Incident(
        title=_text(title, "title", max_length=TITLE_MAX),
        description=_text(description, "description", max_length=TEXT_MAX),
        priority=priority,
        category=Category.other if category is None else _choice(Category, category, "category"),
        impact=levels and levels[0], urgency=levels and levels[1],
        reporter=reporter or actor, status=Status.open, created_at=now, updated_at=now)
    db.session.add(incident)
    _record(incident, actor, EventKind.created, from_status=None, changes=changes)
    db.session.flush()
    return incident


def _levels(impact: Any, urgency: Any) -> tuple[Level, Level] | None:
    """``(impact, urgency)`` read, or None when neither is given."""
    if impact is None and urgency is None:
        return None
    for name, value in (("impact", impact), ("urgency", urgency)):
        if value is None:
            other = "urgency" if name == "impact" else "impact"
            raise InvalidValue(f"{name} is required when {other} is given", field=name)
    return _choice(Level, impact, "impact"), _choice(Level, urgency, "urgency")


@action(Action.update, who={Capacity.admin, Capacity.technician_on_it, Capacity.reporter_of_it},
        allowed_from=NOT_CLOSED)
def update(incident: Incident, *, actor: User, **fields: Any) -> Incident:
    """Change some of ``title``, ``description``, ``priority``, ``category``.

    A new priority moves ``due_at`` to the new SLA target. Fields equal to their current
    value are ignored before anything is checked against them, so sending a whole form
    back needs no permission for what it does not change; a call that changes nothing
    writes no event.

    :raises NotAllowed: a field the actor's role may not edit (reporters: only while open).
    :raises InvalidValue: an unknown field or a bad value.
    """
    _authorize(incident, actor, Action.update)
    for name in fields:
        if name not in _CLEANERS:
            raise InvalidValue(f"{name} cannot be changed with an update", field=name)
    changed = {name: value for name, value in fields.items()
               if not _equals_current(incident, name, value)}
    allowed = editable_fields(actor, incident)
    for name in changed:
        if name not in allowed:
            if name in EDITABLE[Capacity.reporter_of_it] and \
                    Capacity.reporter_of_it in capacities(actor, incident):
                raise NotAllowed(f"{name} of {incident.number} can only be edited by its "
                                 f"reporter while it is open; it is "
                                 f"{incident.status.label.lower()}")
            raise NotAllowed(f"{actor.widest_role} may not edit {name} of {incident.number}")
    new_values = {name: _CLEANERS[name](value) for name, value in changed.items()}
    changes: dict[str, list[Any]] = {}
    for name, value in new_values.items():
        changes[name] = [str(getattr(incident, name)), str(value)]
        setattr(incident, name, value)
    if changes:
        old_due = incident.due_at
        event = _record(incident, actor, EventKind.updated, from_status=incident.status,
                        changes=changes)
        if incident.due_at != old_due:
            # A new priority moves the targets (the clock recomputed them in _record).
            event.changes = {**changes,
                             "due_at": [old_due.isoformat(), incident.due_at.isoformat()]}
        db.session.flush()
    return incident


def _equals_current(incident: Incident, name: str, value: Any) -> bool:
    """Whether ``value`` is what ``name`` holds already (a value that does not even read
    as valid is a change, refused later with its reason)."""
    try:
        return _CLEANERS[name](value) == getattr(incident, name)
    except InvalidValue:
        return False


@action(Action.assign, who=ADMIN, allowed_from=ACTIVE, label="Assign to…",
        needs=Needs.technician, done="assigned to {technician}",
        summary="Assign to a technician (admins); null technician_id returns it to the queue",
        advances=True)
def assign(incident: Incident, *, actor: User, technician: User | None) -> Incident:
    """Give ``incident`` to ``technician`` (admins only); ``None`` takes it back.

    From ``open`` the incident becomes ``assigned``; reassigning keeps the status;
    unassigning returns it to ``open``.

    :raises InvalidValue: the technician is inactive or holds neither technician nor admin.
    """
    _authorize(incident, actor, Action.assign)
    return _give(incident, actor=actor, technician=technician)


@action(Action.take, who={Capacity.staff}, allowed_from={Status.open}, label="Assign to me",
        leads_to=Status.assigned, moves_status=False, done="assigned to you",
        summary="Take an unassigned incident yourself (technicians and admins)",
        advances=True)
def take(incident: Incident, *, actor: User) -> Incident:
    """Assign an ``open``, unassigned incident to the actor themselves.

    :raises InvalidTransition: someone already has it.
    :raises InvalidValue: the actor cannot be assigned incidents.
    """
    _authorize(incident, actor, Action.take)
    if incident.technician_id is not None:
        raise InvalidTransition(f"cannot take {incident.number}: "
                                f"{incident.technician.username} has it")
    return _give(incident, actor=actor, technician=actor)


def _give(incident: Incident, *, actor: User, technician: User | None) -> Incident:
    if technician is not None and not technician.can_be_assigned:
        reason = "is not active" if not technician.active else \
            "has not confirmed their address" if not technician.address_confirmed else \
            "is not a technician"
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
    _record(incident, actor, kind, from_status=before, assignee=technician,
            changes={"technician": [_user_label(old_technician), _user_label(technician)]})
    db.session.flush()
    return incident


def _move(incident: Incident, actor: User, action_name: Action, kind: EventKind) -> Incident:
    _authorize(incident, actor, action_name)
    before = incident.status
    incident.status = ACTIONS[action_name].leads_to
    _record(incident, actor, kind, from_status=before)
    db.session.flush()
    return incident


@action(Action.start, who=ON_IT, allowed_from={Status.assigned}, leads_to=Status.in_progress,
        label="Start", done="started", summary="Start work: assigned → in_progress",
        advances=True)
def start(incident: Incident, *, actor: User) -> Incident:
    """Begin work: ``assigned`` → ``in_progress`` (the technician on it, or an admin)."""
    return _move(incident, actor, Action.start, EventKind.started)


@action(Action.hold, who=ON_IT, allowed_from={Status.in_progress}, leads_to=Status.on_hold,
        label="Hold", done="put on hold", summary="Put on hold: in_progress → on_hold")
def hold(incident: Incident, *, actor: User) -> Incident:
    """Pause work: ``in_progress`` → ``on_hold``."""
    return _move(incident, actor, Action.hold, EventKind.held)


@action(Action.resume, who=ON_IT, allowed_from={Status.on_hold}, leads_to=Status.in_progress,
        label="Resume", done="resumed", summary="Resume work: on_hold → in_progress",
        advances=True)
def resume(incident: Incident, *, actor: User) -> Incident:
    """Continue work: ``on_hold`` → ``in_progress``."""
    return _move(incident, actor, Action.resume, EventKind.resumed)


@action(Action.resolve, who=ON_IT, allowed_from=ACTIVE, leads_to=Status.resolved,
        label="Resolve…", needs=Needs.resolution_notes, done="resolved",
        summary="Resolve with notes saying how",
        advances=True)
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


def reopened_status(incident: Incident) -> Status:
    """Where a reopened incident goes: back to its technician, or to the queue."""
    return Status.assigned if incident.technician_id else Status.open


@action(Action.reopen, who=REPORTER, allowed_from={Status.resolved}, label="Reopen…",
        needs=Needs.note, done="reopened",
        summary="Reopen a resolved incident (its reporter or an admin)")
def reopen(incident: Incident, *, actor: User, note: Any = None) -> Incident:
    """Not fixed after all: back to ``assigned`` (or ``open`` with no technician).

    The old resolution notes stay in the history; ``resolved_at`` is cleared.
    """
    _authorize(incident, actor, Action.reopen)
    note = _text(note, "note", max_length=TEXT_MAX, required=False)
    before, old_notes = incident.status, incident.resolution_notes
    incident.status = reopened_status(incident)
    incident.resolution_notes = None
    incident.resolved_at = None
    _record(incident, actor, EventKind.reopened, from_status=before,
            changes={"resolution_notes": [old_notes, None]}, note=note)
    db.session.flush()
    return incident


@action(Action.close, who=REPORTER, allowed_from={Status.resolved}, leads_to=Status.closed,
        label="Close", done="closed",
        summary="Close a resolved incident, confirming the fix (its reporter or an admin)",
        advances=True)
def close(incident: Incident, *, actor: User) -> Incident:
    """Confirm the fix: ``resolved`` → ``closed`` (final); sets ``closed_at``."""
    _authorize(incident, actor, Action.close)
    before = incident.status
    incident.status = Status.closed
    incident.closed_at = utcnow()
    _record(incident, actor, EventKind.closed, from_status=before)
    db.session.flush()
    return incident


@action(Action.delete, who=ADMIN, allowed_from=EVERY_STATUS, label="Delete", done="deleted",
        confirm="Delete the selected incidents? This cannot be undone.", endpoint=False,
        moves_status=False)
def delete(incident: Incident, *, actor: User) -> None:
    """Remove an incident and its comments (admins only); the deletion stays in the audit."""
    _authorize(incident, actor, Action.delete)
    db.session.add(IncidentEvent(
        incident=None, actor=actor, kind=EventKind.deleted, from_status=incident.status,
        changes={}, note=f"{incident.number} deleted: {incident.title}", created_at=utcnow()))
    db.session.delete(incident)
    db.session.flush()


@action(Action.comment, who={Capacity.viewer}, allowed_from=NOT_CLOSED)
def comment(incident: Incident, *, actor: User, body: Any, internal: bool = False,
            unverified_sender: bool = False) -> Comment:
    """Add a comment; ``internal`` ones are only for admins and technicians;
    ``unverified_sender``: mail in's flag on a comment whose author nothing proved.

    :raises NotAllowed: a reporter asks for an internal comment.
    """
    _authorize(incident, actor, Action.comment)
    if not isinstance(internal, bool):
        raise InvalidValue("internal must be true or false", field="internal")
    if internal and not may_comment_internally(actor, incident):
        raise NotAllowed("only admins and technicians may write internal comments")
    new = Comment(incident=incident, author=actor, internal=internal, created_at=utcnow(),
                  body=_text(body, "body", max_length=TEXT_MAX),
                  unverified_sender=unverified_sender)
    db.session.add(new)
    # A public comment by staff may be the first response.
    _changed(incident)
    db.session.flush()
    return new


def may_comment_internally(user: User, incident: Incident) -> bool:
    """Whether ``user`` may write internal notes on ``incident`` (staff who see it)."""
    return Capacity.staff in capacities(user, incident)


def change_status(incident: Incident, *, actor: User, status: Any,
                  resolution_notes: Any = None) -> Incident:
    """Move ``incident`` to ``status`` through the command that leads there from its
    current status (``ACTIONS``): ``in_progress`` is *start* from assigned and *resume*
    from on hold, ``resolved`` *resolve* (with the notes), and so on; from ``resolved``,
    the status *reopen* leads to. For clients that set a status rather than name an
    action (the API's PUT and PATCH). Assignment is not a status change: it is ``assign``.

    :raises InvalidTransition: no command leads from the current status to ``status``.
    """
    target = _choice(Status, status, "status")
    current = incident.status
    if resolution_notes is not None and target is not Status.resolved:
        raise InvalidValue("resolution_notes can only be given when resolving",
                           field="resolution_notes")
    if target is current:
        return incident
    for spec in commands():
        if not spec.moves_status or current not in spec.allowed_from:
            continue
        leads_to = reopened_status(incident) if spec.action is Action.reopen else spec.leads_to
        if leads_to is target:
            return spec.run(incident, actor=actor, value=resolution_notes)
    if target is Status.assigned:
        raise InvalidTransition(f"cannot set {incident.number} to assigned: assign a "
                                "technician (technician_id) instead")
    raise InvalidTransition(f"cannot move {incident.number} from {current.value} "
                            f"to {target.value}")


__all__ = [
    "LifecycleError", "NotVisible", "NotAllowed", "InvalidTransition", "InvalidValue",
    "StaleIncident", "ACTIONS", "ActionSpec", "Needs", "commands", "offered_commands",
    "may_comment_internally", "EDITABLE", "UPDATABLE_FIELDS", "allowed_actions", "authorize",
    "editable_fields", "check_version", "can_see", "may_ever", "may_report_for",
    "create", "update", "assign", "take", "start", "hold", "resume", "resolve", "reopen",
    "close", "change_status", "delete", "comment",
]
