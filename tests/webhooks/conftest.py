"""Fixtures for the webhook tests: a real receiver on loopback, an app allowed to call it
(``WEBHOOK_ALLOW_ADDRESSES``, as an internal deployment would allow its own host), and
endpoints registered through the service the portal and the API use."""
from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.webhooks import service
from portal.webhooks.deliver import deliver_due
from portal.webhooks.events import EVENT_TYPES
from portal.webhooks.models import WebhookDelivery
from tests.webhook_receiver import Receiver

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def allow_loopback(app, monkeypatch):
    """Let deliveries reach the test receiver; with no retry wait, so a test can run
    the next round at once."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_ADDRESSES", LOOPBACK)
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_BASE_SECONDS", 0)
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 3)


@pytest.fixture
def register(admin, allow_loopback):
    """Register an endpoint (every event type unless told); returns (endpoint, secret)."""
    def make(url: str, events=EVENT_TYPES, owner=None, **fields):
        endpoint, secret = service.create(owner or admin, url=url, events=events, **fields)
        db.session.commit()
        return endpoint, secret
    return make


@pytest.fixture
def send():
    """One delivery round, as the worker runs it; returns how many were accepted."""
    def run() -> int:
        count = deliver_due()
        db.session.expire_all()
        return count
    return run


def deliveries(**where) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    for name, value in where.items():
        query = query.where(getattr(WebhookDelivery, name) == value)
    return list(db.session.scalars(query))
