"""``GET /healthz``: whether this app can do its work, for probes and operators.

- **200** ``{"status": "ok"}``: the database answers, its schema is at the code's
  migration head, and a write commits;
- **503** ``{"status": "unavailable", "reason": ...}``: the database does not answer, or
  its schema is not the code's (never migrated, or migrated by other code): every request
  would fail;
- **503** ``{"status": "degraded", "reason": ...}``: reads work but a write cannot be
  committed (a full disk, a read-only database).

Both 503s carry ``Retry-After`` (``DATABASE_RETRY_AFTER``), as every other 503 does.
Which one is decided by trying: a database that cannot even be read (a SQLite file in
WAL mode on a read-only disk without its ``-shm`` index) is unavailable, however it got
that way.

The write is ``UPDATE alembic_version SET version_num = version_num``: it changes nothing
but goes through the journal and the commit like any other write.
"""
from __future__ import annotations

import logging

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def _first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__


def code_heads() -> set[str]:
    """The migration heads this code expects (read once per app)."""
    heads = current_app.extensions.get("schema_heads")
    if heads is None:
        directory = current_app.extensions["migrate"].directory
        heads = current_app.extensions["schema_heads"] = set(
            ScriptDirectory(directory).get_heads())
    return heads


def _problem(status: str, reason: str):
    db.session.rollback()
    log.error("health check: %s: %s", status, reason)
    return ({"status": status, "reason": reason}, 503,
            {"Retry-After": str(current_app.config["DATABASE_RETRY_AFTER"])})


@bp.get("/healthz")
def healthz():
    """Report whether the app can work (see the module's docstring)."""
    try:
        connection = db.session.connection()
        connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return _problem("unavailable", f"the database does not answer: {_first_line(exc)}")
    try:
        current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        return _problem("unavailable", f"cannot read the schema revision: {_first_line(exc)}")
    wanted = code_heads()
    if current != wanted:
        at = ", ".join(sorted(current)) or "no schema"
        return _problem("unavailable", f"the database schema is at {at}, the code needs "
                        f"{', '.join(sorted(wanted))}: run python manage.py init-db")
    try:
        db.session.execute(text("UPDATE alembic_version SET version_num = version_num"))
        db.session.commit()
    except SQLAlchemyError as exc:
        return _problem("degraded", f"the database cannot be written: {_first_line(exc)}")
    return {"status": "ok"}
