"""Structured logs: one ``key=value`` line per event, with the request id and user id,
to stdout and to a rotating file (``logs/incident_portal.log``).

Every request gets an id (the ``X-Request-ID`` it came with, or a new one), echoed in the
response, and one access line: method, path, status, duration. Only paths are logged,
never query strings or bodies, and token segments of paths are redacted, so tokens and
passwords stay out of the logs; every field is escaped (``portal.log_hygiene``), so
nothing a client sends can start a line of its own.
"""
from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from logging.handlers import RotatingFileHandler
from pathlib import Path

from flask import Flask, Response, g, has_request_context, request
from sqlalchemy import inspect

from portal.log_hygiene import escape, redact_path

FORMAT = ("%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s "
          "user_id=%(user_id)s %(message)s")
LOG_FILE_NAME = "incident_portal.log"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("portal.access_log")


class RequestContext(logging.Filter):
    """Adds ``request_id`` and ``user_id`` to every record ("-" outside a request).

    A log call never touches the database: the 503 handler logs just after a rollback,
    which expires every loaded row, and reading ``current_user.id`` (or
    ``is_authenticated``) would then reload the user from the database that just failed,
    turning the 503 into a 500. The id is read from the identity SQLAlchemy keeps for the
    user already loaded by this request, without loading anything; whatever goes wrong,
    the record is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id, record.user_id = "-", "-"
        try:
            if has_request_context():
                record.request_id = g.get("request_id", "-")
                record.user_id = known_user_id()
        except Exception:  # noqa: BLE001 - a log line must never fail its caller
            pass
        return True


def known_user_id() -> object:
    """The id of the user this request has loaded already, or "-": read from the row's
    identity key, which survives the expiry of a rollback (no SQL)."""
    user = g.get("_login_user")  # only if already loaded: never query from a log call
    state = inspect(user, raiseerr=False) if user is not None else None
    identity = state.identity if state is not None else None
    return identity[0] if identity else "-"


class SafeFormatter(logging.Formatter):
    """One line per record whatever its fields hold: the message and every field are
    escaped; a traceback follows on indented lines, each escaped too."""

    def format(self, record: logging.LogRecord) -> str:
        safe = logging.makeLogRecord(record.__dict__)
        safe.msg, safe.args = escape(record.getMessage()), None
        for name in ("name", "request_id", "user_id", "levelname"):
            if hasattr(safe, name):
                setattr(safe, name, escape(getattr(safe, name)))
        exc_info, stack_info = safe.exc_info, safe.stack_info
        safe.exc_info = safe.exc_text = safe.stack_info = None
        line = super().format(safe)
        extra = []
        if exc_info:
            extra.append(record.exc_text or self.formatException(exc_info))
        if stack_info:
            extra.append(self.formatStack(stack_info))
        for block in extra:
            line += "".join(f"\n    | {escape(text)}" for text in block.splitlines())
        return line


def _handlers(app: Flask) -> list[logging.Handler]:
    formatter = SafeFormatter(FORMAT)
    stream = logging.StreamHandler(sys.stdout)
    handlers: list[logging.Handler] = [stream]
    if app.config.get("LOG_DIR"):
        directory = Path(app.config["LOG_DIR"])
        directory.mkdir(parents=True, exist_ok=True)
        handlers.append(RotatingFileHandler(directory / LOG_FILE_NAME, maxBytes=10_000_000,
                                            backupCount=5, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RequestContext())
        handler.set_name("portal")
    return handlers


def configure_logging(app: Flask) -> None:
    """Install the handlers once per process and the per-request id and access line."""
    root = logging.getLogger()
    root.setLevel(app.config["LOG_LEVEL"])
    if not any(handler.get_name() == "portal" for handler in root.handlers):
        for handler in _handlers(app):
            root.addHandler(handler)
    app.before_request(_start_request)
    app.after_request(_log_request)


def _start_request() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    duration = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
    access_log.info("method=%s path=%s status=%s duration_ms=%.1f", request.method,
                    redact_path(request.path), response.status_code, duration)
    response.headers["X-Request-ID"] = g.get("request_id", "-")
    return response
