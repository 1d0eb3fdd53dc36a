"""Concurrent clients: optimistic locking with ETags, and parallel creates under gunicorn."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.incidents.models import Incident
from tests.clients import bearer
from tests.factories import PASSWORD, make_incident, make_user
from harness.servers import gunicorn


def test_two_clients_with_the_same_etag_one_gets_412(client, cast, incident_in):
    incident = incident_in("assigned")
    url = f"/api/v1/incidents/{incident.id}"
    etag = client.get(url, headers=bearer(cast["admin"])).headers["ETag"]
    results = [client.patch(url, json={"priority": priority},
                            headers={**bearer(user), "If-Match": etag}).status_code
               for user, priority in ((cast["admin"], "high"),
                                      (cast["technician_on_it"], "low"))]
    assert sorted(results) == [200, 412]


def post_json(url, token, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


@pytest.mark.slow
def test_eight_threads_creating_fifty_each_lose_nothing(database_url, tmp_path):
    reporter = make_user("reporter")
    admin = make_user("admin")
    make_incident(reporter=reporter, admin=admin)  # the schema is there and used
    before = db.session.scalar(select(func.count(Incident.id)))
    failures: list[str] = []

    with gunicorn(database_url, workers=2, log_path=tmp_path / "gunicorn.log") as base_url:
        request = urllib.request.Request(
            f"{base_url}/api/v1/auth/token", method="POST",
            data=json.dumps({"email": reporter.email, "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            token = json.load(response)["token"]

        def worker(n: int) -> None:
            for i in range(50):
                try:
                    status = post_json(f"{base_url}/api/v1/incidents", token,
                                       {"title": f"thread {n} #{i}", "description": "load"})
                    if status != 201:
                        failures.append(f"{n}/{i}: {status}")
                except (urllib.error.URLError, OSError) as exc:
                    failures.append(f"{n}/{i}: {exc}")
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    db.session.expire_all()
    assert failures == [], (failures[:5], (tmp_path / "gunicorn.log").read_text()[-2000:])
    assert db.session.scalar(select(func.count(Incident.id))) == before + 400
    titles = set(db.session.scalars(select(Incident.title).where(
        Incident.title.like("thread %"))))
    assert len(titles) == 400
