"""Every endpoint × every role × the interesting states → the status code."""
from __future__ import annotations

import pytest

from tests.clients import bearer

A, TO, OT, RO, OR = ("admin", "technician_on_it", "other_technician", "reporter_of_it",
                     "other_reporter")
ROLES = [A, TO, OT, RO, OR, "anonymous"]


def codes(admin, on_it, other_tech, reporter, other_reporter):
    return {A: admin, TO: on_it, OT: other_tech, RO: reporter, OR: other_reporter,
            "anonymous": 401}


# (method, path, body, status of the incident, expected codes by role)
MATRIX = [
    ("GET", "/incidents", None, "assigned", codes(200, 200, 200, 200, 200)),
    ("POST", "/incidents", {"title": "t", "description": "d"}, "open",
     codes(201, 201, 201, 201, 201)),
    ("GET", "/incidents/{id}", None, "open", codes(200, None, 200, 200, 404)),
    ("GET", "/incidents/{id}", None, "assigned", codes(200, 200, 404, 200, 404)),
    ("GET", "/incidents/{id}", None, "closed", codes(200, 200, 404, 200, 404)),
    ("PATCH", "/incidents/{id}", {"title": "New title"}, "open", codes(200, None, 403, 200, 404)),
    ("PATCH", "/incidents/{id}", {"title": "New title"}, "assigned",
     codes(200, 403, 404, 403, 404)),
    ("PATCH", "/incidents/{id}", {"priority": "critical"}, "in_progress",
     codes(200, 200, 404, 403, 404)),
    ("PATCH", "/incidents/{id}", {"title": "New title"}, "closed", codes(409, 409, 404, 409, 404)),
    ("PUT", "/incidents/{id}", {"title": "t", "description": "d", "priority": "low",
                                "category": "other"}, "open", codes(200, None, 403, 403, 404)),
    ("PATCH", "/incidents/{id}", {"status": "in_progress"}, "assigned",
     codes(200, 200, 404, 403, 404)),
    ("PATCH", "/incidents/{id}", {"status": "resolved", "resolution_notes": "done"},
     "on_hold", codes(200, 200, 404, 403, 404)),
    ("PATCH", "/incidents/{id}", {"status": "closed"}, "resolved", codes(200, 403, 404, 200, 404)),
    ("DELETE", "/incidents/{id}", None, "open", codes(204, None, 403, 403, 404)),
    ("DELETE", "/incidents/{id}", None, "closed", codes(204, 403, 404, 403, 404)),
    ("POST", "/incidents/{id}/assign", {"technician_id": "{tech}"}, "open",
     codes(200, None, 403, 403, 404)),
    ("POST", "/incidents/{id}/assign", {"technician_id": "{tech}"}, "resolved",
     codes(409, 403, 404, 403, 404)),
    ("POST", "/incidents/{id}/start", None, "assigned", codes(200, 200, 404, 403, 404)),
    ("POST", "/incidents/{id}/start", None, "in_progress", codes(409, 409, 404, 403, 404)),
    ("POST", "/incidents/{id}/hold", None, "in_progress", codes(200, 200, 404, 403, 404)),
    ("POST", "/incidents/{id}/resume", None, "on_hold", codes(200, 200, 404, 403, 404)),
    ("POST", "/incidents/{id}/resume", None, "in_progress", codes(409, 409, 404, 403, 404)),
    ("POST", "/incidents/{id}/resolve", {"resolution_notes": "fixed"}, "open",
     codes(200, None, 403, 403, 404)),
    ("POST", "/incidents/{id}/resolve", {"resolution_notes": "fixed"}, "in_progress",
     codes(200, 200, 404, 403, 404)),
    ("POST", "/incidents/{id}/resolve", {"resolution_notes": "fixed"}, "closed",
     codes(409, 409, 404, 403, 404)),
    ("POST", "/incidents/{id}/reopen", None, "resolved", codes(200, 403, 404, 200, 404)),
    ("POST", "/incidents/{id}/reopen", None, "closed", codes(409, 403, 404, 409, 404)),
    ("POST", "/incidents/{id}/close", None, "resolved", codes(200, 403, 404, 200, 404)),
    ("POST", "/incidents/{id}/close", None, "assigned", codes(409, 403, 404, 409, 404)),
    ("GET", "/incidents/{id}/events", None, "assigned", codes(200, 200, 404, 200, 404)),
    ("GET", "/incidents/{id}/comments", None, "assigned", codes(200, 200, 404, 200, 404)),
    ("POST", "/incidents/{id}/comments", {"body": "any news?"}, "assigned",
     codes(201, 201, 404, 201, 404)),
    ("POST", "/incidents/{id}/comments", {"body": "psst", "internal": True}, "assigned",
     codes(201, 201, 404, 403, 404)),
    ("POST", "/incidents/{id}/comments", {"body": "late"}, "closed",
     codes(409, 409, 404, 409, 404)),
    ("GET", "/users/me", None, "open", codes(200, 200, 200, 200, 200)),
    ("GET", "/users", None, "open", codes(200, 403, 403, 403, 403)),
    ("POST", "/users", {"email": "new@example.com", "username": "newbie",
                        "password": "a-long-passphrase-9", "roles": ["reporter"]}, "open",
     codes(201, 403, 403, 403, 403)),
    ("GET", "/users/{me}", None, "open", codes(200, 403, 403, 403, 403)),
    ("PATCH", "/users/{other}", {"active": False}, "open", codes(200, 403, 403, 403, 403)),
]

CASES = [pytest.param(method, path, body, state, role, expected[role],
                      id=f"{method} {path} [{state}] {role}")
         for method, path, body, state, expected in MATRIX
         for role in ROLES if expected[role] is not None]


def fill(value, incident, cast, role):
    """Replace the placeholders of a path or body with this case's ids."""
    me = cast.get(role)
    mapping = {"{id}": incident.id, "{tech}": cast[TO].id,
               "{me}": (me or cast[A]).id, "{other}": cast[OR].id}
    if isinstance(value, str):
        for key, number in mapping.items():
            value = value.replace(key, str(number))
        return value
    if isinstance(value, dict):
        return {k: mapping.get(v, v) if isinstance(v, str) else v for k, v in value.items()}
    return value


@pytest.mark.parametrize("method,path,body,state,role,expected", CASES)
def test_role_matrix(client, cast, incident_in, method, path, body, state, role, expected):
    incident = incident_in(state)
    headers = bearer(cast[role]) if role != "anonymous" else {}
    response = client.open("/api/v1" + fill(path, incident, cast, role), method=method,
                           json=fill(body, incident, cast, role), headers=headers)
    assert response.status_code == expected, response.get_json()
    if expected >= 400:
        payload = response.get_json()
        assert payload["code"] == expected and payload["status"]
