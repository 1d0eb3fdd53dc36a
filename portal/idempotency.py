"""``IdempotentRequest``: what an API ``POST`` with an ``Idempotency-Key`` answered, kept
for ``IDEMPOTENCY_HOURS`` so a client that retries (its connection dropped before the
answer came) gets the first answer again and creates nothing twice.

A key is reserved (a row without a response, committed) before the request runs, so
two copies sent at once cannot both run: the unique ``(user_id, key)`` lets one in.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (ForeignKey, Index, Integer, String, Text, UniqueConstraint, delete,
                        select)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db

#: How long a key's answer is kept (and the same key refused with another body).
IDEMPOTENCY_HOURS = 24


class IdempotentRequest(db.Model):
    __tablename__ = "idempotent_requests"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotent_requests_user_key"),
        Index("ix_idempotent_requests_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    #: sha256 of the method, the path and the body: the same key with another request
    #: is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The first answer; no status yet: the first request is still running.
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    location: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    etag: Mapped[str | None] = mapped_column(String(255), nullable=True)


def expired_before() -> datetime:
    return utcnow() - timedelta(hours=IDEMPOTENCY_HOURS)


def forget_expired() -> None:
    """Drop the answers older than ``IDEMPOTENCY_HOURS`` (their keys may be used again)."""
    db.session.execute(delete(IdempotentRequest)
                       .where(IdempotentRequest.created_at < expired_before()))


def find(user_id: int, key: str) -> IdempotentRequest | None:
    """The request ``user_id`` sent with ``key`` (an API key or a portal form's), if kept."""
    return db.session.scalar(select(IdempotentRequest).where(
        IdempotentRequest.user_id == user_id, IdempotentRequest.key == key))
