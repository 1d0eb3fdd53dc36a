"""How much one sender may do by mail in an hour, counted from the inbound mail kept:
new incidents (``MAIL_INBOX_MAX_PER_HOUR``) and replies, comments and reopenings alike
(``MAIL_INBOX_MAX_REPLIES_PER_HOUR``). The pipeline quarantines what goes beyond, with
the reason; the replies' cap is what ends a loop between two auto-responders that no
header or subject gives away (each reply is a comment, each comment a notification to
the other one).
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from portal.db_types import utcnow
from portal.extensions import db
from portal.mailin.models import InboundAction, InboundMail

#: What counts as a reply.
REPLIES = (InboundAction.commented, InboundAction.reopened)


def _last_hour(sender: str, actions, *, besides: int | None = None) -> int:
    """How many of ``sender``'s messages of the last hour did one of ``actions``."""
    query = select(func.count(InboundMail.id)).where(
        InboundMail.sender == sender,
        InboundMail.action.in_([action.value for action in actions]),
        InboundMail.received_at >= utcnow() - timedelta(hours=1))
    if besides is not None:
        query = query.where(InboundMail.id != besides)
    return db.session.scalar(query)


def too_many_incidents(sender: str) -> str | None:
    """Why ``sender`` may not open another incident by mail now, or None."""
    limit = current_app.config["MAIL_INBOX_MAX_PER_HOUR"]
    opened = _last_hour(sender, (InboundAction.created,))
    if opened < limit:
        return None
    return (f"{sender} opened {opened} incidents by mail in the last hour "
            f"(MAIL_INBOX_MAX_PER_HOUR is {limit})")


def too_many_replies(row: InboundMail) -> str | None:
    """Why the reply ``row`` is one too many for its sender this hour, or None (it is no
    reply, or within the cap)."""
    if row.action not in {action.value for action in REPLIES}:
        return None
    limit = current_app.config["MAIL_INBOX_MAX_REPLIES_PER_HOUR"]
    sent = _last_hour(row.sender, REPLIES, besides=row.id)
    if sent < limit:
        return None
    return (f"{row.sender} sent {sent} replies by mail in the last hour "
            f"(MAIL_INBOX_MAX_REPLIES_PER_HOUR is {limit}): an auto-responder's loop?")
