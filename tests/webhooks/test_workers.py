"""Two real worker processes (``manage.py worker --job webhooks``) share the deliveries:
each reaches the receiver once."""
from __future__ import annotations

import time

import pytest

from portal.extensions import db
from portal.incidents import lifecycle
from tests.processes import app_env, start_process
from tests.webhooks.helpers import deliveries

pytestmark = pytest.mark.slow


def test_two_workers_deliver_each_event_once(database_url, register, receiver, reporter,
                                             processes, tmp_path):
    register(receiver.url, events=["incident.created"])
    env = app_env(database_url, WEBHOOK_ALLOW_ADDRESSES="127.0.0.1/32",
                  WEBHOOK_POLL_SECONDS="1", WORKER_WAKE_POLL_SECONDS="0.1")
    logs = [tmp_path / f"worker{n}.log" for n in (1, 2)]
    processes.extend(start_process(["worker", "--job", "webhooks"], env, log) for log in logs)
    for n in range(30):
        lifecycle.create(actor=reporter, title=f"Incident {n}", description="x")
        if n % 5 == 4:
            db.session.commit()   # in batches, while both workers are polling
    db.session.commit()
    assert receiver.wait_for(30, timeout=60), [log.read_text() for log in logs]
    # Counted once every delivery is recorded as sent: nothing can go out again after.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(d.status != "sent" for d in deliveries()):
        db.session.expire_all()
        time.sleep(0.1)
    assert {d.status for d in deliveries()} == {"sent"}
    ids = [request.webhook_id for request in receiver.received]
    assert len(ids) == len(set(ids)) == 30
    titles = sorted(request.payload["data"]["incident"]["title"] for request in receiver.received)
    assert titles == sorted(f"Incident {n}" for n in range(30))
