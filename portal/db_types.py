"""Column types and the clock shared by every model."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned as an aware UTC datetime.

    PostgreSQL keeps the zone (``timestamptz``); SQLite has none, so values are stored as
    naive UTC there and the zone is put back when they are read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a zone")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def result_processor(self, dialect, coltype):
        # On SQLite the stored text is read as UTC in one step: SQLAlchemy's own reading
        # (text to naive datetime) and then replace(tzinfo=...) cost six times as much,
        # and a list page of incidents reads 160 of them. Anything fromisoformat does
        # not take goes the usual way.
        usual = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite":
            return usual

        def read(value):
            if value is None:
                return None
            try:
                parsed = datetime.fromisoformat(value + "+00:00")
            except (TypeError, ValueError):
                return usual(value)
            # A date alone ("2026-11-22") comes back naive, the zone ignored.
            return parsed if parsed.tzinfo is not None else usual(value)
        return read
