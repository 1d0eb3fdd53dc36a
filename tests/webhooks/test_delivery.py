"""Webhook deliveries end to end: a change commits, the worker's round sends it, a real
receiver checks the Standard Webhooks signature with the specification's own package."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.models import Incident
from portal.notifications.models import OutboxMessage
from portal.sla.escalation import check
from portal.webhooks import service
from portal.webhooks.deliver import deliver_due
from portal.webhooks.models import WebhookEndpoint
from tests.factories import make_incident, make_user
from tests.races import race
from tests.webhook_receiver import Receiver
from tests.webhooks.helpers import deliveries


def walk_every_event(admin, technician, reporter) -> Incident:
    """One incident through every change that is an event type; committed step by step."""
    incident = lifecycle.create(actor=reporter, title="VPN drops", description="often",
                                priority="critical")
    db.session.commit()
    steps = [
        lambda: lifecycle.update(incident, actor=admin, title="VPN drops every 10 min"),
        lambda: lifecycle.assign(incident, actor=admin, technician=technician),
        lambda: lifecycle.start(incident, actor=technician),
        lambda: lifecycle.comment(incident, actor=technician, body="Looking at it"),
        lambda: lifecycle.comment(incident, actor=technician, body="Router log says X",
                                  internal=True),
        lambda: lifecycle.resolve(incident, actor=technician, resolution_notes="Firmware"),
        lambda: lifecycle.reopen(incident, actor=reporter, note="Still drops"),
        lambda: lifecycle.resolve(incident, actor=technician, resolution_notes="Cable"),
        lambda: lifecycle.close(incident, actor=reporter),
    ]
    for step in steps:
        step()
        db.session.commit()
    return incident


PUBLIC_SEQUENCE = ["incident.created", "incident.updated", "incident.assigned",
                   "incident.status_changed", "comment.created", "incident.resolved",
                   "incident.reopened", "incident.resolved", "incident.closed",
                   "incident.deleted"]


def test_every_event_arrives_once_per_endpoint_signed(register, receiver, send, admin,
                                                      technician, reporter, client):
    other = Receiver().start()
    try:
        _public, public_secret = register(receiver.url + "?who=public")
        _internal, internal_secret = register(receiver.url + "?who=internal", internal=True)
        _few, few_secret = register(other.url, events=["incident.resolved"])
        incident = walk_every_event(admin, technician, reporter)
        number = incident.id
        lifecycle.delete(incident, actor=admin)
        db.session.commit()
        assert send() == 2 * len(PUBLIC_SEQUENCE) + 1 + 2
        assert other.wait_for(2)
    finally:
        other.stop()

    by_who = {"public": [], "internal": []}
    for request in receiver.received:
        who = request.path.rsplit("=", 1)[1]
        payload = request.verified(public_secret if who == "public" else internal_secret)
        by_who[who].append(payload)
    assert [p["type"] for p in by_who["public"]] == PUBLIC_SEQUENCE
    internal_sequence = PUBLIC_SEQUENCE[:5] + ["comment.created"] + PUBLIC_SEQUENCE[5:]
    assert [p["type"] for p in by_who["internal"]] == internal_sequence
    # Only the internal endpoint hears the internal note.
    assert "Router log says X" not in str(by_who["public"])
    assert "Router log says X" in str(by_who["internal"])
    assert [request.verified(few_secret)["type"] for request in other.received] == \
        ["incident.resolved", "incident.resolved"]
    # Each delivery has its own webhook-id; one event has one id at every endpoint.
    ids = [request.webhook_id for request in receiver.received + other.received]
    assert len(set(ids)) == len(ids)
    first_resolution = {p["id"] for p in by_who["public"] + by_who["internal"]
                        if p["type"] == "incident.resolved"}
    assert len(first_resolution) == 2
    # The incident as the API shows it; the deletion carries it as it was.
    created, deleted = by_who["public"][0], by_who["public"][-1]
    assert created["data"]["incident"]["id"] == number
    assert created["data"]["event"]["kind"] == "created"
    assert deleted["data"]["incident"]["title"] == "VPN drops every 10 min"
    assert deleted["data"]["incident"]["status"] == "closed"
    api_keys = set(created["data"]["incident"])
    assert {"id", "title", "status", "priority", "reporter", "technician", "sla",
            "due_at", "attachment_count"} <= api_keys


def test_sla_warning_and_breach_are_events(register, receiver, send, admin, reporter):
    _endpoint, secret = register(receiver.url,
                                 events=["incident.sla_warning", "incident.sla_breached"])
    incident = lifecycle.create(actor=reporter, title="Core switch", description="down",
                                priority="critical")
    db.session.commit()
    created = incident.created_at
    check(created + timedelta(minutes=25))   # 80 % of the 30-minute first response
    check(created + timedelta(minutes=31))
    assert send() == 2
    warning, breach = (request.verified(secret) for request in receiver.received)
    assert warning["type"] == "incident.sla_warning"
    assert breach["type"] == "incident.sla_breached"
    assert breach["data"]["incident"]["sla"]["state"] == "breached"


def test_a_rolled_back_change_sends_nothing(register, receiver, send, admin, reporter):
    register(receiver.url)
    lifecycle.create(actor=reporter, title="Printer", description="jammed")
    db.session.flush()
    db.session.rollback()
    assert deliveries() == []
    assert send() == 0 and receiver.received == []


def test_a_failing_receiver_gets_the_retry_with_the_same_webhook_id(
        register, receiver, send, admin, reporter):
    _endpoint, secret = register(receiver.url)
    receiver.answers = [500]
    make_incident(reporter=reporter, admin=admin)
    assert send() == 0
    [delivery] = deliveries()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.response_status == 500 and "receiver says no" in delivery.response_body
    assert len(delivery.response_body) == 1024   # the first KB is kept, no more
    assert delivery.next_attempt_at <= delivery.expires_at
    assert send() == 1
    first, second = receiver.received
    assert first.webhook_id == second.webhook_id and second.signed_by(secret)
    assert first.body == second.body
    assert deliveries()[0].status == "sent"


def test_a_receiver_down_for_a_while_gets_everything_when_back(register, send, admin,
                                                               reporter, app, monkeypatch):
    # One request at a time, so the three incidents arrive in the order written (with
    # several at once only each incident's own order is kept: test_order.py).
    monkeypatch.setitem(app.config, "WEBHOOK_PARALLEL_PER_ENDPOINT", 1)
    receiver = Receiver().start()
    register(receiver.url)
    port = receiver.port
    receiver.stop()
    for title in ("One", "Two", "Three"):
        make_incident(reporter=reporter, admin=admin, title=title)
    assert send() == 0
    assert {d.status for d in deliveries()} == {"pending"}
    assert all("ConnectError" in d.last_error for d in deliveries())
    back = Receiver(port).start()
    try:
        assert send() == 3
        assert [r.payload["data"]["incident"]["title"] for r in back.received] == \
            ["One", "Two", "Three"]
    finally:
        back.stop()


def test_two_workers_deliver_each_once(register, receiver, admin, reporter, app):
    register(receiver.url)
    for n in range(25):
        lifecycle.create(actor=reporter, title=f"Incident {n}", description="x")
    db.session.commit()
    counts = race(app, deliver_due)
    assert sum(counts) == 25
    ids = [request.webhook_id for request in receiver.received]
    assert len(ids) == 25 and len(set(ids)) == 25


def test_rotation_signs_with_both_secrets_for_a_day_then_the_new_one(
        register, receiver, send, admin, reporter):
    endpoint, old = register(receiver.url)
    new = service.rotate_secret(admin, endpoint)
    db.session.commit()
    make_incident(reporter=reporter, admin=admin, title="During the overlap")
    send()
    during = receiver.received[-1]
    assert during.signed_by(old) and during.signed_by(new)
    assert len(during.headers["webhook-signature"].split()) == 2
    endpoint.previous_secret_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    make_incident(reporter=reporter, admin=admin, title="After it")
    send()
    after = receiver.received[-1]
    assert after.signed_by(new) and not after.signed_by(old)


def test_secrets_are_stored_sealed(register, receiver):
    endpoint, secret = register(receiver.url)
    stored = db.session.execute(select(WebhookEndpoint.__table__)).mappings().one()
    assert secret.startswith("whsec_")
    assert all(secret not in str(value) and secret[6:] not in str(value)
               for value in stored.values())


def test_an_endpoint_failing_for_a_day_is_disabled_and_the_admins_are_told(
        register, receiver, send, admin, reporter):
    endpoint, _secret = register(receiver.url)
    receiver.answers = [503, 503]
    make_incident(reporter=reporter, admin=admin)
    assert send() == 0
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert endpoint.active and endpoint.failing_since is not None
    endpoint.failing_since = utcnow() - timedelta(hours=24, minutes=1)
    db.session.commit()
    assert send() == 0
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert not endpoint.active and "503" in endpoint.disabled_reason
    told = db.session.scalars(select(OutboxMessage.recipient).where(
        OutboxMessage.event_kind == "webhook_disabled")).all()
    assert told == [admin.email]
    # What waited goes when it is switched on again; events while it was off are not
    # queued for it.
    make_incident(reporter=reporter, admin=admin, title="While off")
    assert send() == 0
    service.update(admin, endpoint, active=True)
    db.session.commit()
    assert send() == 1
    assert [r.payload["data"]["incident"]["title"] for r in receiver.received] == \
        ["Mail is down"] * 3
    assert db.session.get(WebhookEndpoint, endpoint.id).failing_since is None


def test_a_delivery_gives_up_after_a_day(register, receiver, send, admin, reporter):
    register(receiver.url)
    receiver.answers = [500, 500]
    make_incident(reporter=reporter, admin=admin)
    assert send() == 0
    [delivery] = deliveries()
    assert delivery.status == "pending"
    delivery.expires_at = utcnow()   # a day has passed
    db.session.commit()
    send()
    [delivery] = deliveries()
    assert delivery.status == "failed" and delivery.attempts == 2
    assert "500" in delivery.last_error
    # "Send again": the same body and webhook-id, a fresh day.
    service.redeliver(admin, delivery)
    db.session.commit()
    assert send() == 1
    assert len({r.webhook_id for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1


def test_a_delivery_for_an_endpoint_off_past_its_day_is_not_sent(
        register, receiver, send, admin, reporter):
    endpoint, _secret = register(receiver.url)
    make_incident(reporter=reporter, admin=admin)
    service.update(admin, endpoint, active=False)
    [delivery] = deliveries()
    delivery.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    service.update(admin, endpoint, active=True)
    db.session.commit()
    assert send() == 0 and receiver.received == []
    assert deliveries()[0].status == "failed"


@pytest.mark.parametrize("owner_change", ["deactivated", "demoted"])
def test_an_endpoint_sends_only_what_its_admin_may_see(register, receiver, send, admin,
                                                       reporter, owner_change):
    owner = make_user("admin")
    register(receiver.url, owner=owner)
    if owner_change == "deactivated":
        owner.active = False
    else:
        owner.roles = []
    db.session.commit()
    make_incident(reporter=reporter, admin=admin)
    assert deliveries() == [] and send() == 0


def test_the_test_event_goes_out(register, receiver, send, admin):
    endpoint, secret = register(receiver.url)
    service.send_test(admin, endpoint)
    db.session.commit()
    assert send() == 1
    payload = receiver.received[0].verified(secret)
    assert payload["type"] == "webhook.test" and payload["data"]["incident"] is None
