"""Impact × urgency: the ITIL matrix gives a new incident its priority; admins may
override it (the created event says so), and bad or half-given levels are refused."""
from __future__ import annotations

import pytest

from portal.config import ConfigError
from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.enums import EventKind, Level, Priority
from portal.incidents.lifecycle import InvalidValue
from portal.incidents.models import Incident
from portal.sla.policy import parse_matrix
from tests.clients import bearer, csrf_token_from, log_in
from tests.factories import make_user

#: The documented default matrix, row by row (impact, urgency → priority).
DEFAULT = [
    ("high", "high", "critical"), ("high", "medium", "high"), ("high", "low", "medium"),
    ("medium", "high", "high"), ("medium", "medium", "medium"), ("medium", "low", "low"),
    ("low", "high", "medium"), ("low", "medium", "low"), ("low", "low", "low"),
]


def report(actor, **fields):
    return lifecycle.create(actor=actor, title="VPN drops", description="every 10 minutes",
                            **fields)


@pytest.mark.parametrize("impact,urgency,priority", DEFAULT)
def test_the_default_matrix_gives_the_priority(impact, urgency, priority):
    incident = report(make_user("reporter"), impact=impact, urgency=urgency)
    assert (incident.priority, incident.impact, incident.urgency) == (priority, impact, urgency)
    assert incident.events[0].changes == {}


def test_the_matrix_covers_every_pair_of_levels():
    assert set(parse_matrix(())) == {(i, u) for i in Level for u in Level}


@pytest.mark.parametrize("entries,pair,priority", [
    (("low/low=medium",), ("low", "low"), "medium"),
    ((" high / high = high ",), ("high", "high"), "high"),
    (("medium/low=critical", "medium/low=high"), ("medium", "low"), "high"),  # last wins
    ((), ("medium", "high"), "high"),
])
def test_sla_priority_matrix_replaces_the_pairs_it_names(entries, pair, priority):
    assert parse_matrix(entries)[Level(pair[0]), Level(pair[1])] == priority


@pytest.mark.parametrize("entry", ["low/low", "low=low", "huge/low=high", "low/low=urgent",
                                   "low/low/low=high", "low/low=high=low"])
def test_a_matrix_entry_that_does_not_read_stops_the_app_naming_the_key(make_app, entry):
    with pytest.raises(ConfigError, match=f"SLA_PRIORITY_MATRIX: '{entry}'"):
        make_app(SLA_PRIORITY_MATRIX=(entry,))


def test_the_configured_matrix_is_what_create_asks(make_app):
    app = make_app(SLA_PRIORITY_MATRIX=("low/low=critical",))
    with app.app_context():
        incident = report(make_user("reporter"), impact="low", urgency="low")
        assert incident.priority is Priority.critical
        db.session.rollback()


def test_an_admins_priority_overrides_the_matrix_and_the_created_event_says_so():
    incident = report(make_user("admin"), impact="low", urgency="low", priority="critical")
    assert incident.priority is Priority.critical
    created = incident.events[0]
    assert created.kind is EventKind.created
    assert created.changes == {"priority": ["low", "critical"]}


@pytest.mark.parametrize("role,priority,outcome", [
    ("reporter", "high", "high"),         # what the matrix gives: no override to record
    ("reporter", "low", "priority"),      # refused, naming the field
    ("technician", "critical", "priority"),
    ("admin", "low", "low"),
])
def test_only_admins_may_choose_another_priority_than_the_matrix(role, priority, outcome):
    actor = make_user(role)
    if outcome == "priority":
        with pytest.raises(InvalidValue, match="give high; only admins") as refused:
            report(actor, impact="high", urgency="medium", priority=priority)
        assert refused.value.field == "priority"
    else:
        assert report(actor, impact="high", urgency="medium",
                      priority=priority).priority == outcome


@pytest.mark.parametrize("fields,field,reason", [
    ({"impact": "high"}, "urgency", "urgency is required when impact is given"),
    ({"urgency": "low"}, "impact", "impact is required when urgency is given"),
    ({"impact": "huge", "urgency": "low"}, "impact", "impact must be one of low, medium, high"),
    ({"impact": "low", "urgency": 3}, "urgency", "urgency must be one of"),
])
def test_half_given_or_unknown_levels_are_refused(fields, field, reason):
    with pytest.raises(InvalidValue, match=reason) as refused:
        report(make_user("reporter"), **fields)
    assert refused.value.field == field
    assert db.session.scalars(db.select(Incident)).all() == []


def test_the_api_takes_impact_and_urgency_and_shows_them(client):
    reporter = make_user("reporter")
    response = client.post("/api/v1/incidents", headers=bearer(reporter), json={
        "title": "Payroll down", "description": "nobody is paid", "impact": "high",
        "urgency": "high"})
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert (data["priority"], data["impact"], data["urgency"]) == ("critical", "high", "high")


@pytest.mark.parametrize("body,field,reason", [
    ({"impact": "huge", "urgency": "low"}, "impact", "Must be one of"),
    ({"impact": "low"}, "urgency", "urgency is required when impact is given"),
    ({"impact": "low", "urgency": "low", "priority": "critical"}, "priority", "only admins"),
])
def test_the_api_refuses_bad_levels_with_422_naming_the_field(client, body, field, reason):
    response = client.post("/api/v1/incidents", headers=bearer(make_user("reporter")),
                           json={"title": "t", "description": "d", **body})
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]["json"]
    assert field in errors and reason in " ".join(errors[field])


def test_the_report_form_takes_impact_and_urgency_and_the_page_shows_them(client):
    log_in(client, make_user("reporter"))
    form = client.get("/admin/mine/new/").get_data(as_text=True)
    assert 'name="impact"' in form and 'name="urgency"' in form
    page = client.post("/admin/mine/new/", follow_redirects=True, data={
        "csrf_token": csrf_token_from(form), "title": "Printer jams",
        "description": "Every page", "priority": "", "category": "hardware",
        "impact": "medium", "urgency": "high"}).get_data(as_text=True)
    incident = db.session.scalars(db.select(Incident)).one()
    assert incident.priority is Priority.high
    assert "<dt>Impact × urgency</dt><dd>Medium × High</dd>" in page


def test_the_report_form_without_levels_keeps_the_chosen_priority(client):
    log_in(client, make_user("reporter"))
    form = client.get("/admin/mine/new/").get_data(as_text=True)
    client.post("/admin/mine/new/", data={
        "csrf_token": csrf_token_from(form), "title": "Printer jams",
        "description": "Every page", "priority": "low", "category": "hardware"})
    incident = db.session.scalars(db.select(Incident)).one()
    assert (incident.priority, incident.impact, incident.urgency) == (Priority.low, None, None)
