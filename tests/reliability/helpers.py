"""Helpers of the fault tests (their fixtures are in this folder's conftest)."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.notifications.models import OutboxMessage


def outbox() -> list[OutboxMessage]:
    """Every outbox row, read afresh from the database, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
