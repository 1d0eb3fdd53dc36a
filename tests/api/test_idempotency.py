"""``Idempotency-Key``: a retried POST answers the first answer and creates nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.db_types import utcnow
from portal.extensions import db
from portal.idempotency import IdempotentRequest
from portal.incidents.models import Comment, Incident
from tests.clients import bearer

NEW = {"title": "VPN drops", "description": "every ten minutes"}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def post(client, user, url, body, key="key-1"):
    return client.post(url, json=body, headers={**bearer(user), "Idempotency-Key": key})


def test_the_same_key_and_body_answers_the_first_answer(client, reporter):
    first = post(client, reporter, "/api/v1/incidents", NEW)
    again = post(client, reporter, "/api/v1/incidents", NEW)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(Incident) == 1


def test_the_same_key_with_another_body_is_422(client, reporter):
    post(client, reporter, "/api/v1/incidents", NEW)
    other = post(client, reporter, "/api/v1/incidents", {**NEW, "title": "Printer"})
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]["headers"]
    assert count(Incident) == 1


def test_keys_are_per_user_and_expire(client, reporter, technician):
    post(client, reporter, "/api/v1/incidents", NEW)
    assert post(client, technician, "/api/v1/incidents", NEW).status_code == 201
    kept = db.session.scalars(select(IdempotentRequest)).all()
    for row in kept:
        row.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    again = post(client, reporter, "/api/v1/incidents", NEW)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert count(Incident) == 3


def test_a_refused_request_keeps_nothing_so_it_may_be_corrected(client, cast, incident_in):
    incident = incident_in("assigned")
    url = f"/api/v1/incidents/{incident.id}/resolve"
    refused = post(client, cast["admin"], url, {"resolution_notes": " "})
    assert refused.status_code == 422 and count(IdempotentRequest) == 0
    corrected = post(client, cast["admin"], url, {"resolution_notes": "fixed"}, key="key-2")
    assert corrected.status_code == 200
    assert post(client, cast["admin"], url, {"resolution_notes": "fixed"},
                key="key-2").get_json() == corrected.get_json()  # not a 409: resolved


def test_comments_once(client, cast, incident_in):
    incident = incident_in("assigned")
    url = f"/api/v1/incidents/{incident.id}/comments"
    for _ in range(3):
        assert post(client, cast["reporter_of_it"], url, {"body": "any news?"}).status_code == 201
    assert count(Comment) == 1


def test_a_copy_sent_while_the_first_runs_is_409(client, reporter):
    db.session.add(IdempotentRequest(user_id=reporter.id, key="key-1", fingerprint="running"))
    db.session.commit()
    assert post(client, reporter, "/api/v1/incidents", NEW).status_code == 409
    assert count(Incident) == 0


def test_a_reservation_left_by_a_dead_request_does_not_block_the_key(client, reporter):
    db.session.add(IdempotentRequest(user_id=reporter.id, key="key-1", fingerprint="dead",
                                     created_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()
    assert post(client, reporter, "/api/v1/incidents", NEW).status_code == 201
    assert count(Incident) == 1


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "é"])
def test_malformed_keys_are_422(client, reporter, key):
    response = client.post("/api/v1/incidents", json=NEW,
                           headers={**bearer(reporter), "Idempotency-Key": key})
    assert response.status_code == 422 and count(Incident) == 0
