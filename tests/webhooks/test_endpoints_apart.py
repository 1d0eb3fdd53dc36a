"""Issue 29, finding 1: one endpoint cannot hold the others. A round served the
deliveries one after another, 10 s each against a receiver that hangs, so every other
endpoint (and, in the same thread, the mail) waited; now each endpoint is served on its
own, a few requests at a time, and a circuit breaker leaves a failing one alone."""
from __future__ import annotations

from datetime import timedelta

from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents import lifecycle
from portal.webhooks import breaker, service
from portal.webhooks.deliver import deliver_due
from portal.webhooks.models import WebhookEndpoint
from tests.background import Background
from tests.waiting import wait_until
from tests.webhook_receiver import Receiver
from tests.webhooks.helpers import deliveries


def report(reporter, count: int) -> None:
    for n in range(count):
        lifecycle.create(actor=reporter, title=f"Incident {n}", description="x")
    db.session.commit()


def test_a_hanging_endpoints_backlog_keeps_no_other_endpoint_waiting(
        register, receiver, reporter, app, monkeypatch):
    # Longer than the test: the hanging requests stay in flight until released.
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 120)
    hanging = Receiver().start().hang()
    try:
        register(hanging.url, events=["incident.created"])   # registered first: served first
        register(receiver.url, events=["incident.created"])
        report(reporter, 12)
        round_ = Background(app, deliver_due)
        assert wait_until(lambda: len(receiver.received) == 12, timeout=60), \
            f"{len(receiver.received)} of 12 arrived beside the hanging endpoint"
        # All twelve went while the hanging endpoint held its first requests, and it was
        # sent no more than its share at once.
        assert "answered" not in hanging.events and "sender gone" not in hanging.events
        assert 1 <= len(hanging.received) <= app.config["WEBHOOK_PARALLEL_PER_ENDPOINT"]
        hanging.release()
        assert round_.result() == 24
    finally:
        hanging.stop()
    assert {d.status for d in deliveries()} == {"sent"}


def test_the_breaker_opens_after_n_failures_and_half_opens_after_its_back_off(
        register, receiver, send, reporter, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_BREAKER_FAILURES", 3)
    monkeypatch.setitem(app.config, "WEBHOOK_BREAKER_SECONDS", 60)
    endpoint, _secret = register(receiver.url, events=["incident.created"])
    receiver.answers = [500] * 100
    report(reporter, 6)

    before = utcnow()
    assert send() == 0
    assert len(receiver.received) == 3   # N failures in a row, then no more attempts
    failures, open_until = breaker.state(endpoint.id)
    assert failures == 3
    assert before + timedelta(seconds=60) <= open_until <= utcnow() + timedelta(seconds=60)
    assert sorted(d.attempts for d in deliveries()) == [0, 0, 0, 1, 1, 1]

    assert send() == 0   # open: nothing is tried, no attempt spent, whatever is due
    assert len(receiver.received) == 3
    assert sorted(d.attempts for d in deliveries()) == [0, 0, 0, 1, 1, 1]

    back_off_passed(endpoint.id)
    before = utcnow()
    assert send() == 0
    assert len(receiver.received) == 4   # half-open: one trial, which failed
    failures, open_until = breaker.state(endpoint.id)
    assert failures == 4 and open_until >= before + timedelta(seconds=120)   # doubled

    receiver.answers = []   # the receiver is back
    assert send() == 0 and len(receiver.received) == 4   # still open: nobody tries it
    back_off_passed(endpoint.id)
    assert send() == 6   # the trial succeeds, the breaker closes, the backlog goes
    assert breaker.state(endpoint.id) == (0, None)
    assert {d.status for d in deliveries()} == {"sent"}


def back_off_passed(endpoint_id: int) -> None:
    """The breaker's back-off is over (its moment moved into the past)."""
    db.session.get(WebhookEndpoint, endpoint_id).breaker_open_until = \
        utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_an_admin_switching_an_endpoint_on_closes_its_breaker(register, admin, receiver):
    endpoint, _secret = register(receiver.url)
    endpoint.consecutive_failures = 9
    endpoint.breaker_open_until = utcnow() + timedelta(hours=1)
    endpoint.active = False
    db.session.commit()
    service.update(admin, endpoint, active=True)
    db.session.commit()
    assert breaker.state(endpoint.id) == (0, None)
