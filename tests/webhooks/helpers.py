"""Helpers of the webhook tests. Their fixtures (a real receiver on loopback, an app
allowed to call it, ``register`` and ``send``) are in ``tests/conftest.py``: the portal's
webhook pages use them too."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.webhooks.models import WebhookDelivery


def deliveries(**where) -> list[WebhookDelivery]:
    """The deliveries matching ``where`` (column=value), oldest first."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    for name, value in where.items():
        query = query.where(getattr(WebhookDelivery, name) == value)
    return list(db.session.scalars(query))
