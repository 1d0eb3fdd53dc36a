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
from portal.incidents.races import ATTEMPTS
from tests.factories import PASSWORD, make_incident, make_user
from tests.races import race, read_together, someone_else_first
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


def test_a_lost_race_without_if_match_is_made_again_not_412(app, client, cast, incident_in):
    """Finding 4 of issue 29: clients that sent no ``If-Match`` got 412 "changed by someone
    else meanwhile" (12 in an outage run, 5 with 16 SQLite writers). Both read the same
    version before either writes; the loser's change is made again on the new one."""
    incident = incident_in("assigned")
    url = f"/api/v1/incidents/{incident.id}"
    changes = iter([(bearer(cast["admin"]), {"title": "Raced"}),
                    (bearer(cast["technician_on_it"]), {"priority": "high"})])
    with read_together(2):
        results = race(app, lambda: client.patch(url, **dict(zip(
            ("headers", "json"), next(changes)))).status_code)
    assert results == [200, 200]
    db.session.expire_all()
    raced = db.session.get(Incident, incident.id)
    assert (raced.title, raced.priority.value) == ("Raced", "high")  # both changes made


def test_a_lost_race_with_if_match_is_the_clients_412(app, client, cast, incident_in):
    """A client that named the version it read hears that it is stale: 412 for one."""
    incident = incident_in("assigned")
    url = f"/api/v1/incidents/{incident.id}"
    etag = client.get(url, headers=bearer(cast["admin"])).headers["ETag"]
    changes = iter([(cast["admin"], "high"), (cast["technician_on_it"], "low")])

    def patch() -> int:
        user, priority = next(changes)
        return client.patch(url, json={"priority": priority},
                            headers={**bearer(user), "If-Match": etag}).status_code
    with read_together(2):
        results = race(app, patch)
    assert sorted(results) == [200, 412]


def test_a_race_lost_every_time_is_a_409_with_its_code_and_changes_nothing(
        client, cast, incident_in):
    incident = incident_in("assigned")
    url, version = f"/api/v1/incidents/{incident.id}", incident.version
    with someone_else_first(incident.id):
        plain = client.patch(url, headers=bearer(cast["admin"]), json={"title": "Never"})
        problem = client.post(f"{url}/start", headers={
            **bearer(cast["technician_on_it"]), "Accept": "application/problem+json"})
    assert plain.status_code == 409 and plain.get_json()["error_code"] == "changed_meanwhile"
    assert "nothing was changed" in plain.get_json()["message"]
    assert problem.status_code == 409 and problem.get_json()["code"] == "changed_meanwhile"
    db.session.expire_all()
    left = db.session.get(Incident, incident.id)
    assert (left.title, left.status.value) == ("Mail is down", "assigned")
    assert left.version == version + 2 * ATTEMPTS  # each attempt was overtaken


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
