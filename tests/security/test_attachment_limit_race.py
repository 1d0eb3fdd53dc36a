"""Issue 28, finding 6: the per-incident attachment limit was checked, then the row
inserted, with nothing held in between: 12 parallel uploads to an incident holding 45
(limit 50) left 57. The count is now taken under the incident's row lock (PostgreSQL) or
the database's write lock (SQLite) until the new row commits. The attack as the review ran
it: real parallel HTTP requests to the real server (gunicorn, two workers with threads)."""
from __future__ import annotations

import io
import json
import urllib.error
import urllib.request

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from harness.servers import gunicorn
from portal.attachments.models import Attachment
from portal.extensions import db
from tests.attachments.helpers import attach
from tests.factories import PASSWORD, make_incident, make_user
from tests.races import race

LIMIT, HELD, UPLOADS = 50, 45, 12


def api_token(base_url: str, user) -> str:
    request = urllib.request.Request(
        f"{base_url}/api/v1/auth/token", method="POST",
        data=json.dumps({"email": user.email, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def upload(base_url: str, token: str, incident_id: int, n: int) -> int:
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(f"log line {n}\n".encode()), f"log-{n}.txt")})
    request = urllib.request.Request(
        f"{base_url}/api/v1/incidents/{incident_id}/attachments", data=body, method="POST",
        headers={"Authorization": f"Bearer {token}",
                 "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


@pytest.mark.slow
def test_parallel_uploads_never_pass_the_limit(app, database_url, tmp_path):
    reporter, admin = make_user("reporter"), make_user("admin")
    incident = make_incident(reporter=reporter, admin=admin)
    for n in range(HELD):
        attach(incident, reporter, f"held-{n}.txt", f"held {n}\n".encode())
    server_env = {"ATTACHMENTS_DIR": app.config["ATTACHMENTS_DIR"],
                  "ATTACHMENT_STORAGE": app.config["ATTACHMENT_STORAGE"],
                  "ATTACHMENT_MAX_PER_INCIDENT": str(LIMIT), "GUNICORN_THREADS": "8"}
    log = tmp_path / "gunicorn.log"
    with gunicorn(database_url, workers=2, extra_env=server_env, log_path=log) as base_url:
        token = api_token(base_url, reporter)
        numbers = iter(range(UPLOADS))
        statuses = race(app, lambda: upload(base_url, token, incident.id, next(numbers)),
                        racers=UPLOADS)

    db.session.expire_all()
    stored = db.session.scalar(select(func.count(Attachment.id)).where(
        Attachment.incident_id == incident.id))
    assert stored == LIMIT, (sorted(statuses), log.read_text()[-2000:])
    assert sorted(statuses) == [201] * (LIMIT - HELD) + [422] * (UPLOADS - LIMIT + HELD)
