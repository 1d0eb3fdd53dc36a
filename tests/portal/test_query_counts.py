"""The portal's pages send the same number of SQL statements whatever the number of
incidents, events and comments: no query per row (an N+1 would show here as a count
that grows with the data), and on SQLite none of their statements reads every incident's
row (a full pass shows in the query plan whatever the number of rows). Counts and plans,
not timings: they do not flake on a busy machine."""
from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.enums import Status
from harness.statements import captured_statements, count_statements
from tests.factories import make_incident, make_user
from tests.clients import log_in

#: (who, path) of the pages a service desk keeps open all day; {id} is an incident.
PAGES = [
    ("admin", "/admin/"),
    ("admin", "/admin/incidents/?page_size=50"),
    ("admin", "/admin/incidents/?page_size=50&sort=10"),   # by the stored SLA state
    ("admin", "/admin/incidents/details/?id={id}"),
    ("technician", "/admin/"),
    ("technician", "/admin/queue/?page_size=50"),
    ("technician", "/admin/queue/details/?id={id}"),
    ("reporter", "/admin/mine/?page_size=50"),
    ("reporter", "/admin/mine/details/?id={id}"),
]
#: A page above this many statements has grown a query it should not need.
CEILING = 25


def grow(people, count: int):
    """Bring the data to ``count`` incidents, each with history and comments, spread over
    several reporters and technicians; returns one incident everybody may open."""
    admin, technician, reporter = people["admin"], people["technician"], people["reporter"]
    others = [make_user("technician") for _ in range(2)]
    target = None
    for n in range(count):
        incident = make_incident(reporter=reporter if n % 2 else make_user("reporter"),
                                 admin=admin, technician=[technician, *others][n % 3],
                                 status=[Status.assigned, Status.in_progress][n % 2])
        for i in range(n % 4):
            lifecycle.comment(incident, actor=admin, body=f"note {i}")
        if incident.reporter is reporter and incident.technician is technician:
            target = incident
    db.session.commit()
    return target


@pytest.mark.parametrize("role,path", PAGES)
def test_page_statements_do_not_grow_with_the_data(app, client, role, path):
    people = {"admin": make_user("admin"), "technician": make_user("technician"),
              "reporter": make_user("reporter")}
    log_in(client, people[role])
    counts = []
    for added in (4, 20):  # 4 incidents, then 24
        incident = grow(people, added)
        for _ in range(3):  # more history and comments on the page's own incident too
            lifecycle.comment(incident, actor=people["admin"], body="more")
        db.session.commit()
        url = path.format(id=incident.id)
        client.get(url)  # warm: the first request of a session loads what it caches
        # The test's session would answer lazy loads from its identity map: start empty,
        # as a request in production does.
        db.session.expunge_all()
        counts.append(count_statements(app, lambda: client.get(url)))
        people = {name: db.session.merge(user) for name, user in people.items()}
    assert counts[0] == counts[1], f"{path}: {counts[0]} statements at 4 incidents, {counts[1]} at 24"
    assert counts[1] <= CEILING, counts


#: (who, path) of pages whose statements read through indexes only: each reads the rows it
#: shows and counts, never a pass over every incident (at 100,000 incidents such a pass
#: took the grid's default order from 2 ms to 80 ms and filled every connection's page
#: cache, and it is invisible at the suite's few incidents but for the plan).
INDEXED_PAGES = [
    ("admin", "/admin/"),
    ("admin", "/admin/incidents/"),
    ("admin", "/admin/incidents/details/?id={id}"),
    ("technician", "/admin/"),
    ("technician", "/admin/queue/"),
    ("reporter", "/admin/"),
    ("reporter", "/admin/mine/"),
]


def full_passes(statement: str, parameters) -> list[str]:
    """The steps of SQLite's plan for ``statement`` that read every row of the incidents
    or their history in no index's order: a whole pass (a scan through an index stops at
    its LIMIT; a count through a covering index reads no row)."""
    raw = db.session.connection().connection.dbapi_connection
    plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    return [step for step in plan
            if re.fullmatch(r"SCAN (incidents|incident_events)( AS \w+)?", step)]


@pytest.mark.parametrize("role,path", INDEXED_PAGES)
def test_page_statements_read_no_incident_they_do_not_need(app, client, role, path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's query plans (the PostgreSQL planner chooses by the data)")
    people = {"admin": make_user("admin"), "technician": make_user("technician"),
              "reporter": make_user("reporter")}
    incident = grow(people, 8)
    log_in(client, people[role])
    url = path.format(id=incident.id)
    client.get(url)  # warm
    db.session.expunge_all()
    statements = captured_statements(app, lambda: client.get(url))
    assert statements
    scans = {statement: passes for statement, parameters in statements
             if (passes := full_passes(statement, parameters))}
    assert not scans, f"{path} reads every incident: {scans}"
