"""The lifecycle rules, written out independently as tables: who may take which action
from which status, what it leads to, and what every refusal answers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from portal.auth.roles import can_hold
from portal.incidents import lifecycle
from portal.incidents.enums import Action, EventKind, Status
from portal.incidents.lifecycle import InvalidTransition, InvalidValue, NotAllowed, NotVisible
from tests.factories import make_incident, make_user

# The transitions the rules allow: (action, from, actor) -> resulting status.
# Every (action, status, actor) not listed is refused; `refusal` says with what.
ALLOWED = {
    ("assign", "open", "admin"): "assigned",
    ("assign", "assigned", "admin"): "assigned",
    ("assign", "in_progress", "admin"): "in_progress",
    ("assign", "on_hold", "admin"): "on_hold",
    ("take", "open", "admin"): "assigned",
    ("take", "open", "other_technician"): "assigned",
    ("start", "assigned", "admin"): "in_progress",
    ("start", "assigned", "technician_on_it"): "in_progress",
    ("hold", "in_progress", "admin"): "on_hold",
    ("hold", "in_progress", "technician_on_it"): "on_hold",
    ("resume", "on_hold", "admin"): "in_progress",
    ("resume", "on_hold", "technician_on_it"): "in_progress",
    ("resolve", "open", "admin"): "resolved",
    ("resolve", "assigned", "admin"): "resolved",
    ("resolve", "assigned", "technician_on_it"): "resolved",
    ("resolve", "in_progress", "admin"): "resolved",
    ("resolve", "in_progress", "technician_on_it"): "resolved",
    ("resolve", "on_hold", "admin"): "resolved",
    ("resolve", "on_hold", "technician_on_it"): "resolved",
    ("reopen", "resolved", "admin"): "assigned",
    ("reopen", "resolved", "reporter_of_it"): "assigned",
    ("close", "resolved", "admin"): "closed",
    ("close", "resolved", "reporter_of_it"): "closed",
}
# Which actor kinds may take an action at all (from some status).
MAY = {
    "assign": {"admin"},
    "take": {"admin", "technician_on_it", "other_technician"},
    "start": {"admin", "technician_on_it"},
    "hold": {"admin", "technician_on_it"},
    "resume": {"admin", "technician_on_it"},
    "resolve": {"admin", "technician_on_it"},
    "reopen": {"admin", "reporter_of_it"},
    "close": {"admin", "reporter_of_it"},
}
ACTORS = ["admin", "technician_on_it", "other_technician", "reporter_of_it", "other_reporter"]


def sees(actor: str, status: str) -> bool:
    if actor == "other_reporter":
        return False
    if actor == "other_technician":  # only the unassigned queue
        return status == "open"
    return True


def refusal(action: str, status: str, actor: str):
    if not sees(actor, status):
        return NotVisible
    if actor not in MAY[action]:
        return NotAllowed
    return InvalidTransition


CASES = [(action, status, actor)
         for action in MAY for status in Status for actor in ACTORS
         if not (status == "open" and actor == "technician_on_it")]  # open has no technician


@pytest.fixture
def cast():
    """One user for each actor kind."""
    return {name: make_user("technician" if "technician" in name else
                            "admin" if name == "admin" else "reporter")
            for name in ACTORS}


def act(action, incident, actor, cast):
    kwargs = {}
    if action == "assign":
        kwargs["technician"] = cast["technician_on_it"]
    if action == "resolve":
        kwargs["resolution_notes"] = "Replaced the cable"
    return getattr(lifecycle, action)(incident, actor=actor, **kwargs)


@pytest.mark.parametrize("action,status,actor", CASES)
def test_transition_table(action, status, actor, cast, db):
    technician = None if status == "open" else cast["technician_on_it"]
    incident = make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                             technician=technician, status=Status(status))
    expected = ALLOWED.get((action, status, actor))
    if expected is None:
        before = (incident.status, incident.technician_id, incident.version)
        with pytest.raises(refusal(action, status, actor)):
            act(action, incident, cast[actor], cast)
        db.session.rollback()
        db.session.refresh(incident)
        assert (incident.status, incident.technician_id, incident.version) == before
    else:
        act(action, incident, cast[actor], cast)
        db.session.commit()
        assert incident.status == expected
        assert incident.events[-1].actor_id == cast[actor].id
        if action == "take":
            assert incident.technician == cast[actor]


@pytest.mark.parametrize("actor", ACTORS)
def test_only_admins_delete(actor, cast, db):
    incident = make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                             technician=cast["technician_on_it"], status=Status.assigned)
    if actor == "admin":
        lifecycle.delete(incident, actor=cast[actor])
        db.session.commit()
        assert db.session.get(type(incident), incident.id) is None
    else:
        expected = NotVisible if actor == "other_technician" or actor == "other_reporter" \
            else NotAllowed
        with pytest.raises(expected):
            lifecycle.delete(incident, actor=cast[actor])


def test_reopen_without_technician_goes_back_to_open(admin, reporter, db):
    incident = make_incident(reporter=reporter, admin=admin)
    lifecycle.resolve(incident, actor=admin, resolution_notes="Fixed itself")
    lifecycle.reopen(incident, actor=reporter)
    db.session.commit()
    assert incident.status == Status.open
    assert incident.resolved_at is None and incident.resolution_notes is None
    reopened = incident.events[-1]
    assert reopened.kind == EventKind.reopened
    assert reopened.changes["resolution_notes"] == ["Fixed itself", None]


def test_resolve_sets_time_and_notes_and_close_sets_closed_at(admin, technician, reporter, db):
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.in_progress)
    lifecycle.resolve(incident, actor=technician, resolution_notes="  Swapped the switch  ")
    assert incident.resolution_notes == "Swapped the switch"
    assert incident.resolved_at is not None and incident.closed_at is None
    lifecycle.close(incident, actor=reporter)
    assert incident.closed_at is not None and incident.status == Status.closed


@pytest.mark.parametrize("notes", [None, "", "   ", 42])
def test_resolve_needs_notes(notes, admin, technician, reporter, db):
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.assigned)
    with pytest.raises(InvalidValue) as refused:
        lifecycle.resolve(incident, actor=technician, resolution_notes=notes)
    assert refused.value.field == "resolution_notes"
    assert incident.status == Status.assigned


def test_reassign_keeps_status_and_unassign_reopens_queue(admin, technician, reporter, db):
    other = make_user("technician")
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.in_progress)
    lifecycle.assign(incident, actor=admin, technician=other)
    assert (incident.status, incident.technician) == (Status.in_progress, other)
    assert incident.events[-1].changes == {"technician": [technician.username, other.username]}
    lifecycle.assign(incident, actor=admin, technician=None)
    assert (incident.status, incident.technician) == (Status.open, None)


@pytest.mark.parametrize("who,reason", [
    ("reporter", "is not a technician"),
    ("inactive technician", "is not active"),
])
def test_assign_refuses_users_who_cannot_work_it(who, reason, admin, reporter, db):
    target = make_user("reporter") if who == "reporter" else make_user("technician", active=False)
    incident = make_incident(reporter=reporter, admin=admin)
    with pytest.raises(InvalidValue, match=reason) as refused:
        lifecycle.assign(incident, actor=admin, technician=target)
    assert refused.value.field == "technician_id"
    assert incident.status == Status.open and incident.technician is None


def test_admin_may_be_assigned(admin, reporter, db):
    incident = make_incident(reporter=reporter, admin=admin)
    lifecycle.assign(incident, actor=admin, technician=admin)
    assert incident.technician == admin


# --- editing fields ---------------------------------------------------------------------

EDITS = [
    # (actor, status, field, allowed)
    ("admin", "open", "title", True),
    ("admin", "in_progress", "category", True),
    ("admin", "resolved", "priority", True),
    ("technician_on_it", "in_progress", "description", True),
    ("technician_on_it", "in_progress", "priority", True),
    ("technician_on_it", "in_progress", "title", False),
    ("technician_on_it", "in_progress", "category", False),
    ("reporter_of_it", "open", "title", True),
    ("reporter_of_it", "open", "description", True),
    ("reporter_of_it", "open", "priority", False),
    ("reporter_of_it", "assigned", "title", False),
    ("reporter_of_it", "in_progress", "description", False),
]
NEW_VALUES = {"title": "Mail is down again", "description": "Since 10:00",
              "priority": "critical", "category": "network"}


@pytest.mark.parametrize("actor,status,field,allowed", EDITS)
def test_who_edits_which_field(actor, status, field, allowed, cast, db):
    technician = None if status == "open" else cast["technician_on_it"]
    incident = make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                             technician=technician, status=Status(status))
    if allowed:
        lifecycle.update(incident, actor=cast[actor], **{field: NEW_VALUES[field]})
        assert getattr(incident, field) == NEW_VALUES[field]
        assert incident.events[-1].kind == EventKind.updated
    else:
        with pytest.raises(NotAllowed, match=field):
            lifecycle.update(incident, actor=cast[actor], **{field: NEW_VALUES[field]})


def test_closed_incidents_are_final(admin, technician, reporter, db):
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.closed)
    for call in (lambda: lifecycle.update(incident, actor=admin, title="x"),
                 lambda: lifecycle.comment(incident, actor=admin, body="late"),
                 lambda: lifecycle.reopen(incident, actor=admin)):
        with pytest.raises(InvalidTransition, match="closed"):
            call()


@pytest.mark.parametrize("fields,field,message", [
    ({"title": ""}, "title", "must not be blank"),
    ({"title": "   "}, "title", "must not be blank"),
    ({"title": "x" * 201}, "title", "longer than 200"),
    ({"title": None}, "title", "required"),
    ({"title": 7}, "title", "must be text"),
    ({"description": ""}, "description", "must not be blank"),
    ({"description": "x" * 20_001}, "description", "longer than 20000"),
    ({"priority": "urgent"}, "priority", "must be one of low, medium, high, critical"),
    ({"category": "printers"}, "category", "must be one of"),
])
def test_create_refuses_bad_values(fields, field, message, reporter, db):
    values = {"title": "Mail is down", "description": "No mail since 9:00", **fields}
    with pytest.raises(InvalidValue, match=message) as refused:
        lifecycle.create(actor=reporter, **values)
    assert refused.value.field == field


def test_create_defaults_and_strips(reporter, db):
    incident = lifecycle.create(actor=reporter, title="  Mail is down ", description="x")
    db.session.commit()
    assert (incident.title, incident.priority, incident.category, incident.status) == \
        ("Mail is down", "medium", "other", "open")
    assert incident.reporter == reporter and incident.technician is None
    assert incident.number == f"INC-{incident.id}"


def test_only_admins_report_for_others(admin, reporter, db):
    other = make_user("reporter")
    with pytest.raises(NotAllowed):
        lifecycle.create(actor=reporter, title="t", description="d", reporter=other)
    incident = lifecycle.create(actor=admin, title="t", description="d", reporter=other)
    assert incident.reporter == other


def test_user_without_role_cannot_report(db):
    nobody = make_user(None)
    with pytest.raises(NotAllowed, match="no role"):
        lifecycle.create(actor=nobody, title="t", description="d")


# --- comments ---------------------------------------------------------------------------

@pytest.mark.parametrize("actor,internal,allowed", [
    ("admin", True, True), ("technician_on_it", True, True), ("reporter_of_it", False, True),
    ("reporter_of_it", True, False),
])
def test_internal_comments_are_for_staff(actor, internal, allowed, cast, db):
    incident = make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                             technician=cast["technician_on_it"], status=Status.assigned)
    if allowed:
        comment = lifecycle.comment(incident, actor=cast[actor], body="Any news?",
                                    internal=internal)
        assert comment.internal is internal and comment.author == cast[actor]
    else:
        with pytest.raises(NotAllowed, match="internal"):
            lifecycle.comment(incident, actor=cast[actor], body="psst", internal=True)


# --- SLA and history --------------------------------------------------------------------

# Created on Monday 2026-11-23 at 09:00 UTC; the default calendar is Monday-Friday
# 08:00-18:00 UTC, critical runs around the clock.
@pytest.mark.parametrize("priority,due", [
    ("critical", "2026-11-23T13:00"),   # 4 h, 24x7
    ("high", "2026-11-23T17:00"),       # 8 business hours, the same day
    ("medium", "2026-12-02T11:00"),     # 72 business hours, the weekend skipped
    ("low", "2026-12-15T17:00"),        # 168 business hours, two weekends skipped
])
def test_due_at_follows_the_priority_target_in_its_calendar(priority, due, reporter, db):
    with time_machine.travel(datetime(2026, 11, 23, 9, tzinfo=timezone.utc), tick=False):
        incident = lifecycle.create(actor=reporter, title="t", description="d",
                                    priority=priority)
        db.session.commit()
    assert incident.due_at == datetime.fromisoformat(due).replace(tzinfo=timezone.utc)
    assert incident.created_at.tzinfo is not None  # stored and returned in UTC


def test_new_priority_moves_due_at(admin, reporter, db):
    incident = lifecycle.create(actor=reporter, title="t", description="d", priority="low")
    lifecycle.update(incident, actor=admin, priority="critical")
    assert incident.due_at - incident.created_at == timedelta(hours=4)  # critical: 24x7
    assert set(incident.events[-1].changes) == {"priority", "due_at"}


def test_history_records_every_change_in_order(admin, technician, reporter, db):
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.resolved)
    lifecycle.reopen(incident, actor=reporter, note="Still broken")
    db.session.commit()
    history = [(e.kind, e.from_status, e.to_status, e.actor) for e in incident.events]
    assert history == [
        (EventKind.created, None, Status.open, reporter),
        (EventKind.assigned, Status.open, Status.assigned, admin),
        (EventKind.started, Status.assigned, Status.in_progress, admin),
        (EventKind.resolved, Status.in_progress, Status.resolved, admin),
        (EventKind.reopened, Status.resolved, Status.assigned, reporter),
    ]
    assert incident.events[3].note == "Restarted the server"
    assert incident.events[4].note == "Still broken"


def test_a_call_that_changes_nothing_writes_no_event(admin, reporter, db):
    incident = make_incident(reporter=reporter, admin=admin)
    lifecycle.update(incident, actor=admin, title=incident.title)
    assert len(incident.events) == 1


def test_deletion_stays_in_the_audit_trail(admin, reporter, db):
    from portal.incidents.models import IncidentEvent

    incident = make_incident(reporter=reporter, admin=admin, title="Disk full")
    number = incident.number
    lifecycle.delete(incident, actor=admin)
    db.session.commit()
    deleted = db.session.scalars(db.select(IncidentEvent).where(
        IncidentEvent.kind == EventKind.deleted)).one()
    assert deleted.incident_id is None and deleted.actor == admin
    assert deleted.note == f"{number} deleted: Disk full"


def test_stale_version_is_refused(admin, reporter, db):
    incident = make_incident(reporter=reporter, admin=admin)
    seen = incident.version
    lifecycle.update(incident, actor=admin, title="Changed by someone else")
    db.session.commit()
    with pytest.raises(lifecycle.StaleIncident):
        lifecycle.check_version(incident, seen)


# --- setting a status (the API's PUT/PATCH) ---------------------------------------------

@pytest.mark.parametrize("start_at,target,expected,kind", [
    ("assigned", "in_progress", "in_progress", EventKind.started),
    ("on_hold", "in_progress", "in_progress", EventKind.resumed),
    ("in_progress", "on_hold", "on_hold", EventKind.held),
    ("in_progress", "resolved", "resolved", EventKind.resolved),
    ("resolved", "closed", "closed", EventKind.closed),
    ("resolved", "assigned", "assigned", EventKind.reopened),
])
def test_change_status_uses_the_matching_action(start_at, target, expected, kind, cast, db):
    incident = make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                             technician=cast["technician_on_it"], status=Status(start_at))
    notes = "Done" if target == "resolved" else None
    lifecycle.change_status(incident, actor=cast["admin"], status=target,
                            resolution_notes=notes)
    assert incident.status == expected and incident.events[-1].kind == kind


@pytest.mark.parametrize("start_at,target,error", [
    ("open", "assigned", InvalidTransition),
    ("open", "in_progress", InvalidTransition),
    ("closed", "open", InvalidTransition),
    ("resolved", "open", InvalidTransition),     # it has a technician: back to assigned
    ("assigned", "done", InvalidValue),
])
def test_change_status_refuses_what_no_action_does(start_at, target, error, cast, db):
    technician = None if start_at == "open" else cast["technician_on_it"]
    incident = make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                             technician=technician, status=Status(start_at))
    with pytest.raises(error):
        lifecycle.change_status(incident, actor=cast["admin"], status=target)
    assert incident.status == start_at


def test_resolution_notes_only_with_resolved(cast, db):
    incident = make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                             technician=cast["technician_on_it"], status=Status.assigned)
    with pytest.raises(InvalidValue) as refused:
        lifecycle.change_status(incident, actor=cast["admin"], status="in_progress",
                                resolution_notes="early")
    assert refused.value.field == "resolution_notes"


# --- the registry and the rules read from it --------------------------------------------

@pytest.mark.parametrize("field,value", [("title", "Mail is down"),
                                         ("description", "No mail since 9:00"),
                                         ("category", "other"), ("title", "  Mail is down ")])
def test_update_ignores_unchanged_fields_before_checking_rights(field, value, admin,
                                                                technician, reporter, db):
    """A technician may not edit title or category, but sending them back unchanged (a
    whole form, a PUT) is not an edit: nothing is refused and no event is written."""
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.in_progress)
    events = len(incident.events)
    lifecycle.update(incident, actor=technician, **{field: value, "priority": "high"})
    db.session.commit()
    assert incident.priority == "high"
    assert len(incident.events) == events + 1
    assert set(incident.events[-1].changes) == {"priority", "due_at"}


def test_update_still_refuses_a_changed_field_the_role_may_not_edit(admin, technician,
                                                                    reporter, db):
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.in_progress)
    with pytest.raises(NotAllowed, match="may not edit title"):
        lifecycle.update(incident, actor=technician, title="Something else")


@pytest.mark.parametrize("role", ["admin", "technician", "reporter", None])
@pytest.mark.parametrize("action", list(lifecycle.ACTIONS))
def test_may_ever_answers_every_action(action, role, db):
    """Menus ask may_ever about every action, create included (it used to raise)."""
    user = make_user(role)
    expected = bool(can_hold({role} if role else set()) & lifecycle.ACTIONS[action].who)
    assert lifecycle.may_ever(user, action) is expected


def test_every_command_leads_somewhere_a_status_change_can_reach(admin, technician,
                                                                 reporter, db):
    """change_status finds its moves in the registry: each status a command leads to from
    a status is reachable by setting it (take and delete are commands by name only)."""
    for status, steps in {"assigned": "in_progress", "in_progress": "on_hold",
                          "on_hold": "in_progress", "resolved": "closed"}.items():
        incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                                 status=Status(status))
        lifecycle.change_status(incident, actor=admin, status=steps)
        assert incident.status == steps
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.resolved)
    lifecycle.change_status(incident, actor=reporter, status="assigned")  # reopen
    assert incident.events[-1].kind == EventKind.reopened
    with pytest.raises(InvalidTransition, match="assign a technician"):
        lifecycle.change_status(make_incident(reporter=reporter, admin=admin),
                                actor=technician, status="assigned")


def test_take_refuses_an_incident_someone_has(admin, technician, reporter, db):
    other = make_user("technician")
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.assigned)
    with pytest.raises(NotVisible):
        lifecycle.take(incident, actor=other)
    with pytest.raises(InvalidTransition):
        lifecycle.take(incident, actor=technician)
    assert Action.take not in lifecycle.allowed_actions(reporter, incident)
