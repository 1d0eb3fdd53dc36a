"""Issue 29, finding 6: after an outage an incident's events arrived out of order (each
retry waits a random part of its back-off). A delivery now waits while an earlier one of
the same incident and endpoint is pending, so a receiver that was down gets each
incident's events in the order they happened."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents import lifecycle
from portal.webhooks.models import WebhookDelivery
from tests.webhook_receiver import Receiver
from tests.webhooks.helpers import deliveries


def test_a_receiver_down_then_up_gets_each_incidents_events_in_order(
        register, send, admin, technician, reporter, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_BASE_SECONDS", 60)   # real, jittered
    receiver = Receiver().start()
    register(receiver.url, events=["incident.created", "incident.updated",
                                   "incident.assigned", "comment.created"])
    port = receiver.port
    receiver.stop()
    vpn = lifecycle.create(actor=reporter, title="VPN", description="drops")
    db.session.commit()
    printer = lifecycle.create(actor=reporter, title="Printer", description="jams")
    db.session.commit()
    for step in (lambda: lifecycle.update(vpn, actor=admin, title="VPN drops hourly"),
                 lambda: lifecycle.assign(vpn, actor=admin, technician=technician),
                 lambda: lifecycle.update(printer, actor=admin, title="Printer jams daily"),
                 lambda: lifecycle.comment(vpn, actor=technician, body="Looking at it")):
        step()
        db.session.commit()
    written = {incident.id: [d.event_type for d in deliveries(incident_id=incident.id)]
               for incident in (vpn, printer)}

    assert send() == 0   # down: only each incident's first event is tried
    tried = [(d.incident_id, d.event_type) for d in deliveries() if d.attempts]
    assert sorted(tried) == sorted([(vpn.id, "incident.created"),
                                    (printer.id, "incident.created")])

    # The outage ends after every retry fell due, the later events' first (what the
    # jitter of the retries can make of them).
    pending = deliveries(status="pending")
    for age, delivery in enumerate(pending):
        delivery.next_attempt_at = utcnow() - timedelta(seconds=1 + age)
    db.session.commit()
    back = Receiver(port).start()
    try:
        assert send() == len(pending)
        arrived = {}
        for request in back.received:
            payload = request.payload
            arrived.setdefault(payload["data"]["incident"]["id"], []).append(payload["type"])
    finally:
        back.stop()
    assert arrived == written
    assert written[vpn.id] == ["incident.created", "incident.updated", "incident.assigned",
                               "comment.created"]
    assert db.session.scalars(select(WebhookDelivery.status).distinct()).all() == ["sent"]
