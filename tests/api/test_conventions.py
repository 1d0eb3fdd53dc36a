"""The conventions integrators expect from an API: page links, several values per
filter, time windows, refused unknown parameters, conditional reads, the transitions a
caller may take, problem details."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents.enums import Status
from tests.clients import bearer
from tests.factories import make_incident, make_user


@pytest.fixture
def five(cast):
    """Five incidents of the cast's reporter, oldest first, in different statuses."""
    statuses = ["open", "assigned", "in_progress", "resolved", "closed"]
    return [make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                          technician=None if status == "open" else cast["technician_on_it"],
                          status=Status(status), title=f"number {n}")
            for n, status in enumerate(statuses)]


def listed(client, user, query: str):
    response = client.get(f"/api/v1/incidents?{query}", headers=bearer(user))
    assert response.status_code == 200, response.get_json()
    return response, [item["title"] for item in response.get_json()]


def test_pages_link_to_first_prev_next_and_last(client, app, cast, five):
    response, _ = listed(client, cast["admin"], "page=2&page_size=2&sort=created_at")
    base = app.config["PORTAL_BASE_URL"]
    links = dict(reversed(part.split("; ")) for part in response.headers["Link"].split(", "))
    assert links == {
        'rel="first"': f"<{base}/api/v1/incidents?page_size=2&sort=created_at&page=1>",
        'rel="prev"': f"<{base}/api/v1/incidents?page_size=2&sort=created_at&page=1>",
        'rel="next"': f"<{base}/api/v1/incidents?page_size=2&sort=created_at&page=3>",
        'rel="last"': f"<{base}/api/v1/incidents?page_size=2&sort=created_at&page=3>"}
    assert json.loads(response.headers["X-Pagination"])["total"] == 5


@pytest.mark.parametrize("query, titles", [
    ("status=open&status=assigned", {"number 0", "number 1"}),
    ("status=resolved", {"number 3"}),
    ("status=open&priority=medium&priority=low", {"number 0"}),
    ("overdue=false", {f"number {n}" for n in range(5)}),
    ("overdue=true", set()),
])
def test_filters_take_several_values_and_flags(client, cast, five, query, titles):
    assert set(listed(client, cast["admin"], query)[1]) == titles


def test_several_people_and_time_windows(client, cast, five):
    other = make_user("reporter")
    make_incident(reporter=other, admin=cast["admin"], title="someone else's")
    ids = f"reporter_id={cast['reporter_of_it'].id}&reporter_id={other.id}"
    assert len(listed(client, cast["admin"], ids)[1]) == 6
    five[0].created_at = utcnow() - timedelta(days=10)
    five[0].due_at = utcnow() - timedelta(days=1)
    db.session.commit()
    since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "number 0" not in listed(client, cast["admin"], f"created_since={since}")[1]
    assert listed(client, cast["admin"], f"created_before={since}")[1] == ["number 0"]
    assert listed(client, cast["admin"], "overdue=true")[1] == ["number 0"]
    assert len(listed(client, cast["admin"], f"updated_since={since}")[1]) == 6


@pytest.mark.parametrize("query, field", [
    ("stauts=open", "stauts"),
    ("status=open&colour=red", "colour"),
    ("created_since=2026-11-22T09:00:00", "created_since"),      # no offset
    ("created_since=0001-01-01T00:00:00%2B14:00", "created_since"),  # off the calendar
    ("overdue=1", "overdue"),
    ("status=" + "&status=".join(["open"] * 21), "status"),
])
def test_unknown_or_bad_query_parameters_are_422_naming_them(client, cast, query, field):
    response = client.get(f"/api/v1/incidents?{query}", headers=bearer(cast["admin"]))
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["query"]


def test_if_none_match_answers_304_until_the_incident_changes(client, cast, incident_in):
    incident = incident_in("assigned")
    url, headers = f"/api/v1/incidents/{incident.id}", bearer(cast["admin"])
    etag = client.get(url, headers=headers).headers["ETag"]
    again = client.get(url, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    client.post(f"{url}/start", headers=headers)
    changed = client.get(url, headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_lists_have_an_etag_that_changes_with_them(client, cast, five):
    headers = bearer(cast["admin"])
    etag = client.get("/api/v1/incidents", headers=headers).headers["ETag"]
    assert client.get("/api/v1/incidents",
                      headers={**headers, "If-None-Match": etag}).status_code == 304
    client.post(f"/api/v1/incidents/{five[1].id}/start", headers=headers)
    assert client.get("/api/v1/incidents",
                      headers={**headers, "If-None-Match": etag}).status_code == 200


@pytest.mark.parametrize("who, status, names", [
    ("admin", "open", ["assign", "take", "resolve"]),
    ("admin", "assigned", ["assign", "start", "resolve"]),
    ("technician_on_it", "in_progress", ["hold", "resolve"]),
    ("reporter_of_it", "resolved", ["reopen", "close"]),
    ("reporter_of_it", "assigned", []),
    ("other_technician", "open", ["take"]),
])
def test_transitions_are_what_the_caller_may_run_now(client, cast, incident_in, who, status,
                                                     names):
    incident = incident_in(status)
    response = client.get(f"/api/v1/incidents/{incident.id}/transitions",
                          headers=bearer(cast[who]))
    assert [t["name"] for t in response.get_json()] == names
    for offered in response.get_json():
        assert offered["href"].endswith(f"/api/v1/incidents/{incident.id}/{offered['name']}")


def test_transitions_of_an_incident_you_cannot_see_are_404(client, cast, incident_in):
    incident = incident_in("assigned")
    response = client.get(f"/api/v1/incidents/{incident.id}/transitions",
                          headers=bearer(cast["other_reporter"]))
    assert response.status_code == 404


def test_problem_details_when_asked_for(client, cast, incident_in):
    incident = incident_in("closed")
    url, headers = f"/api/v1/incidents/{incident.id}/start", bearer(cast["admin"])
    plain = client.post(url, headers=headers)
    assert plain.mimetype == "application/json" and plain.get_json()["code"] == 409
    problem = client.post(url, headers={**headers, "Accept": "application/problem+json"})
    assert problem.status_code == 409 and problem.mimetype == "application/problem+json"
    body = json.loads(problem.get_data())
    assert body["status"] == 409 and body["title"] == "Conflict" and "closed" in body["detail"]
    invalid = client.get("/api/v1/incidents?stauts=open",
                         headers={**headers, "Accept": "application/problem+json"})
    assert json.loads(invalid.get_data())["errors"]["query"] == {"stauts": ["unknown parameter"]}


def test_the_throttled_token_endpoint_sends_its_rate_limit_headers(make_app):
    user = make_user("reporter")
    client = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://").test_client()
    answers = [client.post("/api/v1/auth/token", json={"email": user.email, "password": "no"},
                           environ_base={"REMOTE_ADDR": "10.9.9.9"}) for _ in range(6)]
    assert [answer.status_code for answer in answers] == [401] * 5 + [429]
    # The headers speak of the limit nearest to running out (per address or per account).
    remaining = [int(a.headers["X-RateLimit-Remaining"]) for a in answers[:5]]
    assert remaining == sorted(remaining, reverse=True) and remaining[0] > remaining[-1]
    assert int(answers[0].headers["X-RateLimit-Limit"]) > remaining[0]
    assert int(answers[5].headers["Retry-After"]) > 0 and "X-RateLimit-Reset" in answers[5].headers
