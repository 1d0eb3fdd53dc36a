"""Who sees which incidents: ``visible_incidents`` (SQL) and ``can_see`` (Python) agree."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.incidents.access import can_see, capacities, visible_comments, visible_incidents
from portal.incidents import lifecycle
from portal.incidents.enums import Status
from tests.factories import make_incident, make_user


@pytest.fixture
def world(admin):
    """Two reporters, two technicians, and incidents in several states between them."""
    people = {
        "admin": admin,
        "rita": make_user("reporter"), "rob": make_user("reporter"),
        "tom": make_user("technician"), "tina": make_user("technician"),
        "both": make_user(roles=["technician", "reporter"]),
    }
    incidents = {
        "rita_open": make_incident(reporter=people["rita"], admin=admin),
        "rita_tom": make_incident(reporter=people["rita"], admin=admin,
                                  technician=people["tom"], status=Status.in_progress),
        "rob_tina": make_incident(reporter=people["rob"], admin=admin,
                                  technician=people["tina"], status=Status.assigned),
        "rob_resolved_unassigned": make_incident(reporter=people["rob"], admin=admin),
        "both_reported": make_incident(reporter=people["both"], admin=admin,
                                       technician=people["tina"], status=Status.resolved),
    }
    lifecycle.resolve(incidents["rob_resolved_unassigned"], actor=admin, resolution_notes="ok")
    db.session.commit()
    return people, incidents


EXPECTED = {
    "admin": {"rita_open", "rita_tom", "rob_tina", "rob_resolved_unassigned", "both_reported"},
    "rita": {"rita_open", "rita_tom"},
    "rob": {"rob_tina", "rob_resolved_unassigned"},
    "tom": {"rita_tom", "rita_open"},            # his own and the unassigned open queue
    "tina": {"rob_tina", "both_reported", "rita_open"},
    "both": {"both_reported", "rita_open"},      # what they reported, plus the queue
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_each_role_sees_exactly_its_incidents(who, world):
    people, incidents = world
    names = {incident.id: name for name, incident in incidents.items()}
    listed = {names[i.id] for i in db.session.scalars(visible_incidents(people[who]))}
    assert listed == EXPECTED[who]
    assert {name for name, i in incidents.items() if can_see(people[who], i)} == EXPECTED[who]


def test_inactive_users_see_nothing(world):
    people, incidents = world
    people["rita"].active = False
    db.session.commit()
    assert db.session.scalars(visible_incidents(people["rita"])).all() == []
    assert not can_see(people["rita"], incidents["rita_open"])


def test_reporters_never_see_internal_comments(admin, technician, reporter):
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.assigned)
    lifecycle.comment(incident, actor=technician, body="Suspect the PSU", internal=True)
    lifecycle.comment(incident, actor=technician, body="On my way", internal=False)
    db.session.commit()
    assert [c.body for c in visible_comments(reporter, incident)] == ["On my way"]
    assert [c.body for c in visible_comments(technician, incident)] == \
        ["Suspect the PSU", "On my way"]


@pytest.mark.parametrize("role", ["admin", "technician", "reporter"])
def test_role_capacities_are_what_capacities_can_give(role, db):
    """``can_hold`` (what menus offer) is exactly the union of the capacities a user of
    that role holds towards the incidents of every kind they can meet."""
    from portal.auth.roles import can_hold

    user, admin, other = make_user(role), make_user("admin"), make_user("reporter")
    technician = user if role != "reporter" else make_user("technician")
    incidents = [make_incident(reporter=reporter, admin=admin, technician=tech, status=status)
                 for reporter in (user, other) for tech in (technician, None)
                 for status in (Status.open, Status.assigned) if (tech is None) ==
                 (status == Status.open)]
    held = set().union(*(capacities(user, incident) for incident in incidents))
    assert held == can_hold({role})
