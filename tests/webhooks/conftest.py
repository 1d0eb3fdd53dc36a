"""Fixtures for the webhook tests: endpoints registered through the service the portal
and the API use, and one delivery round (the receiver and ``allow_loopback``: tests/conftest.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.webhooks import service
from portal.webhooks.deliver import deliver_due
from portal.webhooks.events import EVENT_TYPES
from portal.webhooks.models import WebhookDelivery


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
