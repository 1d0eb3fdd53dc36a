"""UTCDateTime: what goes in comes out as the same instant, aware and in UTC, on SQLite
(text, read by its own fast path) and on PostgreSQL (timestamptz)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text

from portal.db_types import UTCDateTime

UTC = timezone.utc


@pytest.fixture
def table():
    metadata = MetaData()
    return metadata, Table("stamps", metadata, Column("id", Integer, primary_key=True),
                           Column("at", UTCDateTime))


@pytest.mark.parametrize("written", [
    datetime(2026, 11, 22, 9, 14, 3, tzinfo=UTC),
    datetime(2026, 11, 22, 9, 14, 3, 123456, tzinfo=UTC),
    datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2))),
    datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=timezone(timedelta(hours=-5))),
])
def test_an_instant_comes_back_the_same_in_utc(app, table, written):
    from portal.extensions import db

    metadata, stamps = table
    with app.app_context():
        with db.engine.begin() as connection:
            metadata.create_all(connection)
            try:
                connection.execute(insert(stamps), [{"at": written}])
                read = connection.scalar(select(stamps.c.at))
            finally:
                metadata.drop_all(connection)
    assert read == written and read.tzinfo == UTC


@pytest.mark.parametrize("stored, read", [
    ("2026-11-22 09:14:03.000123", datetime(2026, 11, 22, 9, 14, 3, 123, tzinfo=UTC)),
    ("2026-11-22 09:14:03", datetime(2026, 11, 22, 9, 14, 3, tzinfo=UTC)),
    ("2026-11-22 09:14:03.000000", datetime(2026, 11, 22, 9, 14, 3, tzinfo=UTC)),
    (None, None),
])
def test_sqlite_text_is_read_as_utc(table, stored, read):
    metadata, stamps = table
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        metadata.create_all(connection)
        connection.execute(text("INSERT INTO stamps (at) VALUES (:at)"), {"at": stored})
        assert connection.scalar(select(stamps.c.at)) == read
    engine.dispose()


def test_sqlite_text_the_fast_path_refuses_goes_the_usual_way(table):
    """Text already carrying its offset (not what the app writes) would get a second one
    from the fast path: SQLAlchemy's own reading takes it instead."""
    metadata, stamps = table
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        metadata.create_all(connection)
        connection.execute(text("INSERT INTO stamps (at) VALUES ('2026-11-22T09:14:03+00:00')"))
        assert connection.scalar(select(stamps.c.at)) == datetime(2026, 11, 22, 9, 14, 3,
                                                                  tzinfo=UTC)
    engine.dispose()
