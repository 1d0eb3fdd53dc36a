"""What the OpenAPI document declares, the server does: required bodies, strict booleans,
the authentication challenge."""
from __future__ import annotations

import pytest

from tests.clients import bearer


@pytest.mark.parametrize("method, path, body", [
    ("patch", "/api/v1/incidents/{id}", None),
    ("put", "/api/v1/incidents/{id}", None),
    ("post", "/api/v1/incidents/{id}/comments", None),
    ("post", "/api/v1/incidents/{id}/resolve", None),
    ("patch", "/api/v1/incidents/{id}", "title=x"),  # a form is not the JSON body
])
def test_a_required_body_left_out_is_422(client, cast, incident_in, method, path, body):
    incident = incident_in("assigned")
    response = getattr(client, method)(path.format(id=incident.id), data=body,
                                       headers=bearer(cast["admin"]))
    assert response.status_code == 422
    assert "JSON body is required" in response.get_json()["message"]


def test_a_command_whose_body_is_optional_works_without_one(client, cast, incident_in):
    incident = incident_in("in_progress")
    response = client.post(f"/api/v1/incidents/{incident.id}/hold",
                           headers=bearer(cast["technician_on_it"]))
    assert response.status_code == 200 and response.get_json()["status"] == "on_hold"


@pytest.mark.parametrize("value", [0, 1, "true", None])
def test_internal_is_true_or_false_only(client, cast, incident_in, value):
    incident = incident_in("assigned")
    response = client.post(f"/api/v1/incidents/{incident.id}/comments",
                           json={"body": "hello", "internal": value},
                           headers=bearer(cast["admin"]))
    assert response.status_code == 422
    assert "internal" in response.get_json()["errors"]["json"]


def test_unauthenticated_answers_carry_the_bearer_challenge(client):
    response = client.get("/api/v1/incidents")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
