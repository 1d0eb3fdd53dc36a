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

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert set(db.session.scalars(db.select(Role.name))) == {"admin", "technician", "reporter"}
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
