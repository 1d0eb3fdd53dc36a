"""The Alembic migrations build the same schema as the models, from an empty database,
on SQLite and on PostgreSQL (whichever the run uses)."""
from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from portal import create_app
from portal.extensions import db
from portal.incidents.models import TRIGRAM_INDEXES, managed_by_models
from tests import postgres


@pytest.fixture
def empty_database_url(tmp_path):
    if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        name = f"migrations_{uuid.uuid4().hex[:10]}"
        yield postgres.create(name)
        postgres.drop(name)
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.mark.no_db
def test_upgrade_from_empty_matches_the_models(empty_database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
        upgrade()
        upgrade()  # upgrading an up-to-date database is a no-op
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "roles", "roles_users", "incidents", "incident_events",
                "comments", "alembic_version"} <= tables
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": managed_by_models})
            differences = compare_metadata(context, db.metadata)
        assert differences == [], "models and migrations disagree: add a migration"
        if db.engine.dialect.name == "postgresql":  # text search reads trigram indexes
            indexes = {index["name"] for index in inspect(db.engine).get_indexes("incidents")}
            assert set(TRIGRAM_INDEXES) <= indexes
        db.session.remove()
        db.engine.dispose()


@pytest.mark.no_db
def test_init_db_on_an_empty_database_creates_the_roles(empty_database_url):
    from portal.auth.models import Role
    from portal.auth.roles import ALL_ROLES

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert set(db.session.scalars(db.select(Role.name))) == ALL_ROLES
        db.session.remove()
        db.engine.dispose()


@pytest.mark.no_db
def test_0015_gives_users_an_optional_time_zone_and_takes_it_back(empty_database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})

    def user_columns():
        return {column["name"]: column for column in inspect(db.engine).get_columns("users")}
    with app.app_context():
        upgrade(revision="0014")
        assert "time_zone" not in user_columns()
        upgrade(revision="0015")
        assert user_columns()["time_zone"]["nullable"] is True  # NULL: the server's zone
        downgrade(revision="0014")
        assert "time_zone" not in user_columns()
        db.session.remove()
        db.engine.dispose()


@pytest.mark.no_db
def test_0018_gives_assigned_events_their_assignee_by_id_and_takes_it_back(empty_database_url):
    """Existing ``assigned`` events get the id of the user their ``changes`` name; a name
    nobody has any more, and every other kind of event, stay without one."""
    from datetime import datetime, timezone

    from sqlalchemy import MetaData, Table, insert, select

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})

    def event_columns():
        return {column["name"] for column in inspect(db.engine).get_columns("incident_events")}
    with app.app_context():
        upgrade(revision="0017")
        assert "assignee_id" not in event_columns()
        tables = MetaData()
        users = Table("users", tables, autoload_with=db.engine)
        events = Table("incident_events", tables, autoload_with=db.engine)
        moment = datetime(2026, 11, 23, 9, 10, tzinfo=timezone.utc)
        with db.engine.begin() as connection:
            connection.execute(insert(users), [
                {"id": 1, "email": "tina@example.com", "username": "tina", "active": True,
                 "fs_uniquifier": "u1"},
                {"id": 2, "email": "ann@example.com", "username": "ann", "active": True,
                 "fs_uniquifier": "u2"}])
            connection.execute(insert(events), [
                {"id": 1, "actor_id": 2, "kind": "assigned", "created_at": moment,
                 "changes": {"technician": [None, "tina"]}},
                {"id": 2, "actor_id": 1, "kind": "assigned", "created_at": moment,
                 "changes": {"technician": ["tina", "gone"]}},
                {"id": 3, "actor_id": 1, "kind": "unassigned", "created_at": moment,
                 "changes": {"technician": ["tina", None]}},
                {"id": 4, "actor_id": 1, "kind": "started", "created_at": moment,
                 "changes": {}}])
        upgrade(revision="0018")
        events = Table("incident_events", MetaData(), autoload_with=db.engine)
        with db.engine.connect() as connection:
            assignees = dict(connection.execute(
                select(events.c.id, events.c.assignee_id).order_by(events.c.id)).all())
        assert assignees == {1: 1, 2: None, 3: None, 4: None}
        downgrade(revision="0017")
        assert "assignee_id" not in event_columns()
        db.session.remove()
        db.engine.dispose()


@pytest.mark.no_db
def test_0020_confirms_the_users_a_deployed_database_holds(empty_database_url):
    """Registration now needs a confirmed address: the users already there (made by an
    admin, by mail in, or registered when that was enough) are confirmed as of when they
    were made, so they keep logging in."""
    from datetime import datetime

    from sqlalchemy import MetaData, Table, insert, select

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    made = datetime(2026, 3, 4, 9, 30)
    earlier = datetime(2026, 1, 2, 8, 0)
    with app.app_context():
        upgrade(revision="0019")
        users = Table("users", MetaData(), autoload_with=db.engine)
        with db.engine.begin() as connection:
            connection.execute(insert(users), [
                {"id": 1, "email": "rita@example.com", "username": "rita", "active": True,
                 "fs_uniquifier": "u1", "create_datetime": made, "confirmed_at": None},
                {"id": 2, "email": "tom@example.com", "username": "tom", "active": True,
                 "fs_uniquifier": "u2", "create_datetime": made, "confirmed_at": earlier}])
        upgrade(revision="0020")
        with db.engine.connect() as connection:
            confirmed = dict(connection.execute(
                select(users.c.id, users.c.confirmed_at).order_by(users.c.id)).all())
        assert confirmed == {1: made, 2: earlier}
        downgrade(revision="0019")  # the dates stay: nothing without the rule reads them
        db.session.remove()
        db.engine.dispose()
