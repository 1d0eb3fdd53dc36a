"""A database that is down, unreachable, busy, read-only or not migrated answers **503
with ``Retry-After``**, on the API (JSON) and the portal (a plain page) alike — never a
500, and never a misleading 401.

Two ways a database error reaches a response:

- raised from a view or a hook: the error handlers below answer 503;
- swallowed by a library on the way: Flask-Security's token loader catches every
  exception and treats the token as invalid, so a database outage would answer 401 to a
  good token (and the portal's session loader would send people to the login page). An
  engine ``handle_error`` listener notes any connection-level database error of the
  request, and a failure answered after one (any status from 300 up) becomes the 503.

Within a request, only the first connection attempt waits for the connect timeout.
"""
from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, current_app, g, has_request_context, jsonify, request
from markupsafe import escape
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, InternalError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from portal.extensions import db

log = logging.getLogger(__name__)
#: Errors that say "the database cannot serve now", not "this request is wrong".
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)
#: PostgreSQL's ``read_only_sql_transaction``: a write refused by a read-only database.
READ_ONLY_SQLSTATE = "25006"
NOTED = "database_error"
MESSAGE = "the database is unavailable at the moment: try again shortly"


@event.listens_for(Engine, "handle_error")
def _note_database_error(context) -> None:
    """Remember a connection-level error for this request (a failed pre-ping is not one:
    the pool replaces that connection)."""
    if context.is_pre_ping or not has_request_context():
        return
    if isinstance(context.sqlalchemy_exception, UNAVAILABLE) or context.is_disconnect:
        g.setdefault(NOTED, describe(context.original_exception))


@event.listens_for(Engine, "do_connect")
def _fail_fast_after_an_outage(dialect, _record, _cargs, _cparams):
    """Once a connection-level error was met in this request, later connection attempts
    of the same request fail at once instead of each waiting for the connect timeout."""
    if has_request_context() and g.get(NOTED):
        raise dialect.loaded_dbapi.OperationalError(
            "not retried: the database was unavailable earlier in this request")
    return None  # connect as usual


def describe(exc: BaseException) -> str:
    """``Type: first line of the message``, short enough for one log line."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:300]


def unavailable_response():
    """The 503 answer, JSON for the API and health checks, a plain page for people (the
    portal's layout would ask the database who is logged in)."""
    retry_after = str(current_app.config["DATABASE_RETRY_AFTER"])
    if request.path.startswith("/api/") or request.path == "/healthz" or request.is_json:
        response = jsonify(code=503, status=HTTPStatus(503).phrase, message=MESSAGE)
    else:
        response = current_app.response_class(
            "<!doctype html><title>Unavailable — Incident Portal</title>"
            "<h1>Incident Portal is unavailable</h1>"
            f"<p>{escape(MESSAGE.capitalize())}.</p>", mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = retry_after
    return response


def database_error_noted() -> bool:
    """Whether a connection-level database error was met in this request."""
    return has_request_context() and bool(g.get(NOTED))


def _quietly(step, *args) -> None:
    """Run a step of answering a 503 that must not stop the answer: a rollback on a
    connection that is gone, a log line."""
    try:
        step(*args)
    except Exception:  # noqa: BLE001 - the 503 goes out whatever failed here
        pass


def init_database_errors(app: Flask) -> None:
    """Answer 503 for a database error raised (the handlers) or swallowed (after the
    request). The answer is made first and nothing after it may fail it: an error inside
    the error handler would otherwise become a 500 without ``Retry-After``."""
    def database_unavailable(error: Exception):
        response = unavailable_response()
        _quietly(db.session.rollback)
        _quietly(log.error, "database unavailable for %s %s: %s", request.method,
                 request.path, describe(getattr(error, "orig", None) or error))
        return response

    for error_class in UNAVAILABLE:
        app.register_error_handler(error_class, database_unavailable)

    @app.errorhandler(InternalError)
    def read_only(error: InternalError):
        # PostgreSQL in read-only mode (a standby, ``default_transaction_read_only``)
        # refuses writes with this; SQLite's read-only refusal is an OperationalError.
        if getattr(error.orig, "sqlstate", None) == READ_ONLY_SQLSTATE:
            return database_unavailable(error)
        raise error

    @app.after_request
    def swallowed_database_error(response):
        noted = g.get(NOTED)
        if noted and response.status_code >= 300 and response.status_code != 503:
            _quietly(log.error, "database unavailable for %s %s (answered %d): %s",
                     request.method, request.path, response.status_code, noted)
            return unavailable_response()
        return response
