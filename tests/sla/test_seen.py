"""The SLA where people look: the API's ``sla`` object, filter and sort; the grid's
badge and filter; the words (against the hand-counted world of ``conftest.world``)."""
from __future__ import annotations

import re

import pytest

from tests.clients import bearer, log_in


def ids(response) -> list[int]:
    return [item["id"] for item in response.get_json()]


def test_the_sla_object_of_each_incident(client, world, at_ten):
    admin = world["people"]["admin"]
    sla = {name: client.get(f"/api/v1/incidents/{world[name].id}",
                            headers=bearer(admin)).get_json()["sla"]
           for name in ("started", "waiting", "held", "late")}
    assert sla["started"] == {"state": "ok", "first_response_due_at": "2026-11-23T11:00:00Z",
                              "first_responded_at": "2026-11-23T09:10:00Z",
                              "due_at": "2026-11-23T17:00:00Z", "paused_seconds": 0}
    assert sla["waiting"]["first_responded_at"] is None
    assert sla["held"]["state"] == "paused"
    assert sla["late"] == {"state": "breached", "first_response_due_at": "2026-11-23T05:30:00Z",
                           "first_responded_at": None, "due_at": "2026-11-23T09:00:00Z",
                           "paused_seconds": 0}


@pytest.mark.parametrize("state,expected", [
    ("breached", ["late"]), ("paused", ["held"]), ("ok", ["started", "waiting"]),
    ("met", [])])
def test_the_api_filters_by_sla_state(client, world, at_ten, state, expected):
    response = client.get("/api/v1/incidents", query_string={"sla_state": state},
                          headers=bearer(world["people"]["admin"]))
    assert sorted(ids(response)) == sorted(world[name].id for name in expected)


def test_the_api_sorts_by_first_response_due(client, world, at_ten):
    response = client.get("/api/v1/incidents", query_string={"sort": "first_response_due_at"},
                          headers=bearer(world["people"]["admin"]))
    assert ids(response) == [world[name].id for name in ("late", "started", "waiting", "held")]


def test_an_unknown_sla_state_is_a_422_naming_the_field(client, world):
    response = client.get("/api/v1/incidents", query_string={"sla_state": "late"},
                          headers=bearer(world["people"]["admin"]))
    assert response.status_code == 422
    assert "sla_state" in response.get_json()["errors"]["query"]


def test_the_grid_badge_says_the_time_left_in_words(client, world, at_ten):
    log_in(client, world["people"]["admin"])
    page = client.get("/admin/incidents/").get_data(as_text=True)
    words = {name: re.search(rf'{world[name].number}\b.*?<span class="badge sla-(\w+)">'
                             rf'([^<]+)</span>', page, re.S).groups()
             for name in ("started", "waiting", "held", "late")}
    assert words == {"started": ("ok", "7 h left to resolve"),
                     "waiting": ("ok", "1 h left to respond"),
                     "held": ("paused", "paused"),
                     "late": ("breached", "response breached 4 h 30 min ago")}


@pytest.mark.parametrize("value,expected", [("breached", {"late"}), ("paused", {"held"})])
def test_the_grid_filters_by_sla_state(client, world, at_ten, value, expected):
    log_in(client, world["people"]["admin"])
    page = client.get("/admin/incidents/", query_string={"flt0_7": value}).get_data(as_text=True)
    assert set(re.findall(r"INC-\d+", page)) == {world[name].number for name in expected}


def test_a_paused_incident_is_not_overdue_and_a_late_one_is(client, world, at_ten):
    log_in(client, world["people"]["admin"])
    page = client.get("/admin/incidents/?flt0_6=1").get_data(as_text=True)
    assert set(re.findall(r"INC-\d+", page)) == {world["late"].number}


def test_the_incident_page_shows_both_clocks(client, world, at_ten):
    log_in(client, world["people"]["admin"])
    page = client.get(f"/admin/incidents/details/?id={world['held'].id}").get_data(as_text=True)
    section = page[page.index('class="sla-clocks'):]
    section = section[:section.index("</section>")]
    assert "First response due</th><td>23 Nov 2026, 11:00 UTC" in section
    assert "First response</th><td>23 Nov 2026, 09:10 UTC" in section
    assert ">paused<" in section


def test_the_dashboard_figures_against_the_world(client, world, db):
    """At 10:40: ``started`` resolved (met, high); ``waiting`` warned (first response due
    11:00); responses took 10 min (started, held); ``late`` breached but not resolved."""
    import time_machine

    from portal.incidents import lifecycle
    from portal.sla.escalation import check
    from tests.sla.helpers import MONDAY

    ten_forty = MONDAY.replace(hour=10, minute=40)
    with time_machine.travel(ten_forty, tick=False):
        lifecycle.resolve(world["started"], actor=world["people"]["technician"],
                          resolution_notes="router replaced")
        db.session.commit()
        check(ten_forty)
        log_in(client, world["people"]["admin"])
        page = client.get("/admin/").get_data(as_text=True)
    table = page[page.index('class="table table-sm mb-1 sla-compliance"'):]
    rows = re.findall(r"<tr><td>(\w+)</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>"
                      r"<td[^>]*>([^<]+)</td></tr>", table[:table.index("</table>")])
    assert rows == [("low", "0", "0", "—"), ("medium", "0", "0", "—"),
                    ("high", "1", "0", "100"), ("critical", "0", "0", "—")]
    assert '<span class="mean-response">10 min</span>' in page
    soon = page[page.index('class="list-unstyled mb-0 about-to-breach"'):]
    soon = soon[:soon.index("</ul>")]
    assert re.findall(r"INC-\d+", soon) == [world["waiting"].number]
    assert "20 min left to respond" in soon
