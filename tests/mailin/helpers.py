"""Helpers of the mail-in tests: the corpus, the desk's address, and what a message
changed in the database (their fixtures are in this folder's conftest)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from portal.extensions import db
from portal.mailin.models import InboundMail
from portal.notifications.models import OutboxMessage

CORPUS = Path(__file__).parent / "corpus"
INBOX_ADDRESS = "helpdesk@example.com"


def counts() -> tuple[int, int]:
    """(inbound messages, outbox messages): what a refused message must not change."""
    return (db.session.scalar(select(func.count(InboundMail.id))),
            db.session.scalar(select(func.count(OutboxMessage.id))))


def last_inbound() -> InboundMail:
    """The newest inbound message, read afresh."""
    db.session.expire_all()
    return db.session.scalars(select(InboundMail).order_by(InboundMail.id.desc())).first()
