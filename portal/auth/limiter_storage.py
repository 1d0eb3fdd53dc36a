"""``portal-db://``: a `limits` storage on the app's own database, the default for
throttling.

Flask-Limiter's ``memory://`` counts per process, so each gunicorn worker would allow the
whole budget on its own; the `limits` package (5.8) ships no file-backed storage, only
memory, Redis, Memcached and MongoDB. Counting in a small table of the database the app
already has shares the counts between every worker and every container on that
database, with nothing more to run. Redis stays the choice for heavy traffic
(``RATELIMIT_STORAGE_URI=redis://...``).

Only the fixed-window strategy (Flask-Limiter's default) is supported: a counter per key
with an expiry. Each operation runs in its own short transaction on its own connection,
apart from the request's session.
"""
from __future__ import annotations

import hashlib
import time

from limits.storage import Storage
from sqlalchemy import Float, Integer, String, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class RateLimitCounter(db.Model):
    """One rate-limit window: how many hits ``key`` has had until ``expires_at``."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    #: Unix time (seconds) at which the window ends.
    expires_at: Mapped[float] = mapped_column(Float, index=True)


_table = RateLimitCounter.__table__


def _key(key: str) -> str:
    """Keys name identities of up to 255 characters: longer ones are hashed, not cut."""
    return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class DatabaseStorage(Storage):
    """Fixed-window counters in the ``rate_limits`` table (needs an app context)."""

    STORAGE_SCHEME = ["portal-db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        key = _key(key)
        for _attempt in range(3):
            now = time.time()
            try:
                with db.engine.begin() as connection:
                    bumped = connection.execute(
                        update(_table).where(_table.c.key == key, _table.c.expires_at > now)
                        .values(count=_table.c.count + amount)).rowcount
                    if not bumped:
                        # A new window: drop this key's old one and any other expired ones.
                        connection.execute(delete(_table).where(_table.c.expires_at <= now))
                        connection.execute(insert(_table).values(
                            key=key, count=amount, expires_at=now + expiry))
                    return connection.execute(
                        select(_table.c.count).where(_table.c.key == key)).scalar_one()
            except IntegrityError:
                continue  # another worker opened the same window first: count in it
        raise RuntimeError(f"could not count rate limit {key!r}")

    def _row(self, key: str):
        with db.engine.connect() as connection:
            return connection.execute(
                select(_table.c.count, _table.c.expires_at)
                .where(_table.c.key == _key(key), _table.c.expires_at > time.time())).first()

    def get(self, key: str) -> int:
        row = self._row(key)
        return row.count if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row.expires_at if row else time.time()

    def check(self) -> bool:
        try:
            with db.engine.connect() as connection:
                connection.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            return connection.execute(delete(_table)).rowcount

    def clear(self, key: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(_table).where(_table.c.key == _key(key)))
