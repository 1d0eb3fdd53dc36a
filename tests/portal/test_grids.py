"""The grid table at work: every incident a user may see has a page for them (closed
ones too), the mail link lands there, take and reopen from the incident page, the
overdue filter and the dashboard against figures computed by hand, and filter values or
ids the grid does not know."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents.enums import Status
from portal.incidents.models import Incident
from tests.clients import csrf_token_from, log_in
from tests.factories import make_incident, make_user


@pytest.fixture
def cast():
    return {"admin": make_user("admin"), "technician": make_user("technician"),
            "reporter": make_user("reporter")}


def incident_in(cast, status: Status) -> Incident:
    return make_incident(reporter=cast["reporter"], admin=cast["admin"],
                         technician=cast["technician"] if status != Status.open else None,
                         status=status)


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("role,grid", [("admin", "incidents"), ("technician", None),
                                       ("reporter", "mine")])
def test_each_role_has_a_page_for_every_incident_it_sees(client, cast, role, grid, status):
    """The mail link /incidents/<id> lands on a page that answers 200 for every status,
    in the grid where the user finds it (a technician: the queue while it is theirs and
    not closed, the unassigned queue while open, else the incident page)."""
    incident = incident_in(cast, status)
    log_in(client, cast[role])
    landing = client.get(f"/incidents/{incident.id}")
    assert landing.status_code == 302
    target = landing.headers["Location"]
    if grid is None:
        grid = {Status.open: "unassigned", Status.closed: "incident"}.get(status, "queue")
    assert target.startswith(f"/admin/{grid}/details/?id={incident.id}")
    page = client.get(target)
    assert page.status_code == 200
    assert incident.number in page.get_data(as_text=True)
    # The API agrees that the incident is there for them.
    assert client.get(f"/api/v1/incidents/{incident.id}").status_code == 200


def test_the_fallback_page_shows_nothing_the_user_may_not_see(client, cast):
    other = make_incident(reporter=make_user("reporter"), admin=cast["admin"],
                          technician=make_user("technician"), status=Status.closed)
    log_in(client, cast["technician"])
    assert client.get(f"/admin/incident/details/?id={other.id}").status_code == 404
    assert client.get(f"/incidents/{other.id}").status_code == 404
    assert client.get("/admin/incident/").headers["Location"].endswith("/admin/queue/")


def test_a_technician_takes_an_unassigned_incident_from_its_page(client, cast):
    incident = incident_in(cast, Status.open)
    log_in(client, cast["technician"])
    page = client.get(f"/admin/unassigned/details/?id={incident.id}").get_data(as_text=True)
    assert ">Assign to me</button>" in page and ">Start</button>" not in page
    done = client.post(f"/admin/unassigned/act/take/?id={incident.id}",
                       data={"csrf_token": csrf_token_from(page)}, follow_redirects=True)
    assert f"{incident.number} assigned to you — now Assigned." in done.get_data(as_text=True)
    assert done.status_code == 200 and done.request.path == "/admin/queue/details/"
    db.session.expire_all()
    taken = db.session.get(Incident, incident.id)
    assert (taken.status, taken.technician_id) == (Status.assigned, cast["technician"].id)


def test_the_unassigned_grid_offers_take_and_nothing_that_is_always_refused(client, cast):
    incident_in(cast, Status.open)
    log_in(client, cast["technician"])
    page = client.get("/admin/unassigned/").get_data(as_text=True)
    offered = set(re.findall(r'data-portal-action="(\w+)"', page))
    assert offered == {"take"}


def test_reporters_answer_the_resolved_banner_and_the_reason_is_written_once(client, cast):
    incident = incident_in(cast, Status.resolved)
    log_in(client, cast["reporter"])
    page = client.get(f"/admin/mine/details/?id={incident.id}").get_data(as_text=True)
    assert "Is it fixed?" in page and ">Yes, close it</button>" in page
    assert "No, reopen" in page and ">Reopen…</a>" not in page  # a question, not two buttons
    url = f"/admin/mine/not-fixed/?id={incident.id}"
    blank = client.post(url, data={"csrf_token": csrf_token_from(page), "note": "  "},
                        follow_redirects=True)
    assert "Say what is still wrong" in blank.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status == Status.resolved
    done = client.post(url, data={"csrf_token": csrf_token_from(page), "note": "Still drops"},
                       follow_redirects=True)
    assert f"{incident.number} reopened — now Assigned" in done.get_data(as_text=True)
    db.session.expire_all()
    reopened = db.session.get(Incident, incident.id)
    assert reopened.status == Status.assigned
    assert reopened.events[-1].note == "Still drops"
    # The reason is the reopen event's note, never a reply beside it: the timeline shows
    # it once, under "reopened it".
    page = client.get(f"/admin/mine/details/?id={incident.id}").get_data(as_text=True)
    entries = re.findall(r'<li class="timeline-entry.*?</li>', page, flags=re.DOTALL)
    telling = [entry for entry in entries if "Still drops" in entry]
    assert len(telling) == 1 and telling[0].count("Still drops") == 1, telling
    assert "reopened it" in telling[0] and reopened.comments == []


@pytest.mark.parametrize("grid,query", [
    ("incidents", "flt1_1=bogus"), ("incidents", "flt0_0=bogus"),
    ("mine", "flt0_0=bogus"), ("queue", "flt0_3=9999"), ("incidents", "flt0_6=x"),
    ("incidents", "flt0_5=2026-01-01+00:00:00+to+tomorrow"),
])
def test_unknown_filter_values_are_ignored_and_named(client, cast, grid, query):
    incident_in(cast, Status.assigned)
    log_in(client, cast["admin"])
    page = client.get(f"/admin/{grid}/?{query}")
    assert page.status_code == 200
    assert "is not a value it knows, so it was ignored" in page.get_data(as_text=True)


def test_a_valid_date_range_filters(client, cast):
    incident = incident_in(cast, Status.assigned)
    log_in(client, cast["admin"])
    today = utcnow()
    span = (f"{(today - timedelta(days=1)):%Y-%m-%d %H:%M:%S} to "
            f"{(today + timedelta(days=1)):%Y-%m-%d %H:%M:%S}")
    page = client.get("/admin/incidents/", query_string={"flt0_5": span})
    assert page.status_code == 200 and incident.number in page.get_data(as_text=True)


@pytest.mark.parametrize("value", ["%C2%B2", "9223372036854775808", "-1", "1e3", "0"])
def test_ids_that_are_not_ids_are_not_found(client, cast, value):
    log_in(client, cast["admin"])
    assert client.get(f"/admin/incidents/details/?id={value}").status_code == 404


def overdue_world(cast):
    """Two overdue active incidents, one active on time, one resolved past its target."""
    made = {}
    for name, status, hours_late in [("late_open", Status.open, 5),
                                     ("late_started", Status.in_progress, 1),
                                     ("on_time", Status.assigned, -3),
                                     ("resolved_late", Status.resolved, 9)]:
        incident = incident_in(cast, status)
        incident.due_at = utcnow() - timedelta(hours=hours_late)
        made[name] = incident
    db.session.commit()
    return made


def test_the_overdue_filter_and_the_dashboard_count_the_same_incidents(client, cast):
    made = overdue_world(cast)
    log_in(client, cast["admin"])
    grid = client.get("/admin/incidents/?flt0_6=1").get_data(as_text=True)
    shown = set(re.findall(r"INC-\d+", grid))
    assert shown == {made["late_open"].number, made["late_started"].number}
    not_overdue = set(re.findall(r"INC-\d+", client.get(
        "/admin/incidents/?flt0_6=0").get_data(as_text=True)))
    assert not_overdue == {made["on_time"].number, made["resolved_late"].number}
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert re.search(r"Overdue</div>\s*<div class=\"stat overdue\">2<", dashboard)
    # Active: open, assigned, in progress (the resolved one is not): 3.
    assert re.search(r"Active incidents</div>\s*<div class=\"stat\">3<", dashboard)
