"""The incident resource: its JSON shape, ETags, lists, filters, sorting, bad input."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.incidents.enums import Status
from tests.clients import bearer
from harness.statements import count_statements
from tests.factories import make_incident, make_user

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_incident_json_shape_is_the_documented_one(client, cast, incident_in):
    incident = incident_in("assigned")
    body = client.get(f"/api/v1/incidents/{incident.id}", headers=bearer(cast["admin"]))
    data = body.get_json()
    assert list(data) == ["id", "title", "description", "status", "priority", "category",
                          "impact", "urgency", "reporter", "technician", "resolution_notes", "created_at",
                          "updated_at", "due_at", "resolved_at", "closed_at", "sla",
                          "attachment_count"]
    assert list(data["sla"]) == ["state", "first_response_due_at", "first_responded_at",
                                 "due_at", "paused_seconds"]
    assert data["sla"]["due_at"] == data["due_at"]
    reporter, technician = cast["reporter_of_it"], cast["technician_on_it"]
    assert data["reporter"] == {"id": reporter.id, "username": reporter.username,
                                "email": reporter.email}
    assert data["technician"] == {"id": technician.id, "username": technician.username,
                                  "email": technician.email}
    assert (data["status"], data["priority"], data["category"]) == ("assigned", "medium",
                                                                    "other")
    for key in ("created_at", "updated_at", "due_at"):
        assert ISO_Z.match(data[key]), data[key]
    assert data["resolved_at"] is None and data["closed_at"] is None
    assert body.headers["ETag"] == f'"{incident.id}-{incident.version}-ok"'


def test_create_answers_201_with_location(client, cast):
    response = client.post("/api/v1/incidents", headers=bearer(cast["reporter_of_it"]),
                           json={"title": "VPN drops", "description": "Every 10 minutes",
                                 "priority": "high", "category": "network"})
    assert response.status_code == 201
    data = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/incidents/{data['id']}")
    assert data["reporter"]["id"] == cast["reporter_of_it"].id and data["status"] == "open"


def test_admin_reports_for_someone_else(client, cast):
    response = client.post("/api/v1/incidents", headers=bearer(cast["admin"]),
                           json={"title": "t", "description": "d",
                                 "reporter_id": cast["other_reporter"].id})
    assert response.get_json()["reporter"]["id"] == cast["other_reporter"].id


def test_stale_if_match_is_refused_and_nothing_changes(client, cast, incident_in):
    incident = incident_in("open")
    headers = bearer(cast["admin"])
    url = f"/api/v1/incidents/{incident.id}"
    etag = client.get(url, headers=headers).headers["ETag"]
    first = client.patch(url, headers={**headers, "If-Match": etag}, json={"title": "First"})
    second = client.patch(url, headers={**headers, "If-Match": etag}, json={"title": "Second"})
    assert (first.status_code, second.status_code) == (200, 412)
    assert "read it again" in second.get_json()["message"]
    assert client.get(url, headers=headers).get_json()["title"] == "First"
    assert client.delete(url, headers={**headers, "If-Match": etag}).status_code == 412
    assert client.patch(url, headers=headers, json={"title": "No If-Match"}).status_code == 200


def test_patch_assigns_and_resolves_through_the_lifecycle(client, cast, incident_in):
    incident = incident_in("open")
    url = f"/api/v1/incidents/{incident.id}"
    admin = bearer(cast["admin"])
    assigned = client.patch(url, headers=admin,
                            json={"technician_id": cast["technician_on_it"].id})
    assert assigned.get_json()["status"] == "assigned"
    resolved = client.patch(url, headers=bearer(cast["technician_on_it"]),
                            json={"status": "resolved", "resolution_notes": "Rebooted"})
    assert resolved.get_json()["status"] == "resolved"
    assert resolved.get_json()["resolution_notes"] == "Rebooted"
    kinds = [e["kind"] for e in client.get(url + "/events", headers=admin).get_json()]
    assert kinds == ["created", "assigned", "resolved"]


def test_a_refused_part_of_a_patch_leaves_nothing_written(client, cast, incident_in):
    incident = incident_in("assigned")
    url = f"/api/v1/incidents/{incident.id}"
    response = client.patch(url, headers=bearer(cast["admin"]),
                            json={"title": "Changed", "status": "closed"})
    assert response.status_code == 409
    assert client.get(url, headers=bearer(cast["admin"])).get_json()["title"] == "Mail is down"


# --- lists ------------------------------------------------------------------------------

@pytest.fixture
def many(cast):
    """25 incidents with varied priorities, categories and ages."""
    admin, reporter = cast["admin"], cast["reporter_of_it"]
    priorities = ["low", "medium", "high", "critical"]
    made = []
    for n in range(25):
        incident = make_incident(reporter=reporter, admin=admin, title=f"Printer {n}",
                                 description="toner" if n % 5 == 0 else "paper jam",
                                 priority=priorities[n % 4], category="hardware")
        incident.created_at -= timedelta(hours=25 - n)
        made.append(incident)
    db.session.commit()
    return made


def listing(client, user, query=""):
    response = client.get(f"/api/v1/incidents{query}", headers=bearer(user))
    assert response.status_code == 200, response.get_json()
    return response


def test_default_page_is_20_newest_first_with_pagination_header(client, cast, many):
    response = listing(client, cast["admin"])
    ids = [i["id"] for i in response.get_json()]
    assert ids == [i.id for i in sorted(many, key=lambda i: i.created_at, reverse=True)][:20]
    assert json.loads(response.headers["X-Pagination"]) == {
        "total": 25, "total_pages": 2, "first_page": 1, "last_page": 2, "page": 1,
        "next_page": 2}


@pytest.mark.parametrize("query,expected", [
    ("?page=2&page_size=20", 5),
    ("?page_size=100", 25),
    ("?priority=critical", 6),
    ("?q=TONER", 5),
    ("?q=%25", 0),            # a literal %, not a wildcard
    ("?status=assigned", 0),
    ("?category=hardware", 20),
])
def test_filters_and_pages(client, cast, many, query, expected):
    assert len(listing(client, cast["admin"], query).get_json()) == expected


@pytest.mark.parametrize("sort,key,reverse", [
    ("priority", lambda i: (i["priority_rank"], -i["id"]), False),
    ("-priority", lambda i: (i["priority_rank"], i["id"]), True),
    ("created_at", lambda i: i["created_at"], False),
    ("due_at", lambda i: i["due_at"], False),
])
def test_sort_orders(client, cast, many, sort, key, reverse):
    rank = {"low": 1, "medium": 2, "high": 3, "critical": 4}
    rows = listing(client, cast["admin"], f"?sort={sort}&page_size=100").get_json()
    for row in rows:
        row["priority_rank"] = rank[row["priority"]]
    assert rows == sorted(rows, key=key, reverse=reverse)


def test_lists_are_role_filtered(client, cast, many, incident_in):
    mine = incident_in("assigned")
    technician = listing(client, cast["technician_on_it"], "?page_size=100").get_json()
    assert mine.id in [i["id"] for i in technician] and len(technician) == 26  # + the queue
    assert listing(client, cast["other_technician"], "?technician_id="
                   f"{cast['technician_on_it'].id}").get_json() == []
    assert listing(client, cast["other_reporter"]).get_json() == []
    assert len(listing(client, cast["other_technician"], "?page_size=100").get_json()) == 25


@pytest.mark.parametrize("query,field", [
    ("?page_size=101", "page_size"),
    ("?page=0", "page"),
    ("?status=lost", "status"),
    ("?sort=title", "sort"),
    ("?technician_id=abc", "technician_id"),
])
def test_bad_list_arguments_are_422_naming_the_field(client, cast, query, field):
    response = client.get(f"/api/v1/incidents{query}", headers=bearer(cast["admin"]))
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["query"]


def test_a_list_page_runs_the_same_statements_whatever_its_size(app, client, cast):
    admin = cast["admin"]
    technicians = [make_user("technician") for _ in range(3)]
    headers = bearer(admin)
    sizes = []
    for count in (2, 30):
        while db.session.scalar(db.select(db.func.count()).select_from(
                db.metadata.tables["incidents"])) < count:
            n = db.session.scalar(db.select(db.func.count()).select_from(
                db.metadata.tables["incidents"]))
            make_incident(reporter=make_user("reporter"), admin=admin,
                          technician=technicians[n % 3], status=Status.assigned)
        sizes.append(count_statements(app, lambda: client.get(
            "/api/v1/incidents?page_size=100", headers=headers)))
    assert sizes[0] == sizes[1], sizes
    assert sizes[0] <= 6, sizes


# --- bad input --------------------------------------------------------------------------

BAD_CREATES = [
    ({"description": "d"}, "title", "Missing data"),
    ({"title": "", "description": "d"}, "title", "Length"),
    ({"title": "x" * 201, "description": "d"}, "title", "Length"),
    ({"title": "   ", "description": "d"}, "title", "must not be blank"),
    ({"title": 42, "description": "d"}, "title", "Not a valid string"),
    ({"title": "t"}, "description", "Missing data"),
    ({"title": "t", "description": "x" * 1_000_000}, "description", "Length"),
    ({"title": "t", "description": "d", "priority": "urgent"}, "priority", "Must be one of"),
    ({"title": "t", "description": "d", "category": 3}, "category", "Must be one of"),
    ({"title": "t", "description": "d", "status": "closed"}, "status", "Unknown field"),
    ({"title": "t", "description": "d", "reporter_id": "7"}, "reporter_id", "Not a valid integer"),
    ({"title": "t", "description": "d", "reporter_id": 99999}, "reporter_id", "no user 99999"),
]


@pytest.mark.parametrize("body,field,reason", BAD_CREATES)
def test_bad_creates_are_422_naming_field_and_reason(client, cast, body, field, reason):
    response = client.post("/api/v1/incidents", headers=bearer(cast["admin"]), json=body)
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]["json"]
    assert field in errors and reason in " ".join(errors[field])


@pytest.mark.parametrize("body,field,reason", [
    ({"technician_id": 99999}, "technician_id", "no user 99999"),
    ({"technician_id": "{reporter}"}, "technician_id", "is not a technician"),
    ({"technician_id": 2.5e-42}, "technician_id", "Not a valid integer"),
    ({"status": "resolved"}, "resolution_notes", "required"),
    ({"status": "resolved", "resolution_notes": "  "}, "resolution_notes", "blank"),
])
def test_bad_changes_are_422(client, cast, incident_in, body, field, reason):
    incident = incident_in("assigned")
    body = {k: cast["other_reporter"].id if v == "{reporter}" else v for k, v in body.items()}
    response = client.patch(f"/api/v1/incidents/{incident.id}", headers=bearer(cast["admin"]),
                            json=body)
    assert response.status_code == 422, response.get_json()
    assert reason in " ".join(response.get_json()["errors"]["json"][field])


@pytest.mark.parametrize("data,content_type", [
    ("not json at all", "application/json"),
    ("title=t&description=d", "application/x-www-form-urlencoded"),
    ("[1, 2]", "application/json"),
])
def test_non_json_bodies_get_a_clear_4xx(client, cast, data, content_type):
    response = client.post("/api/v1/incidents", headers={**bearer(cast["admin"]),
                                                         "Content-Type": content_type},
                           data=data)
    assert response.status_code in (400, 422)
    assert response.get_json()["code"] == response.status_code


@pytest.mark.parametrize("path", ["/api/v1/incidents/99999", "/api/v1/incidents/abc",
                                  "/api/v1/incidents/-1", "/api/v1/users/99999"])
def test_unknown_or_malformed_ids_are_404(client, cast, path):
    response = client.get(path, headers=bearer(cast["admin"]))
    assert response.status_code == 404 and response.get_json()["code"] == 404
