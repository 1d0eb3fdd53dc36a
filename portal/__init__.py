"""Incident Portal: the application factory.

``create_app`` is the table of contents: configuration, extensions, security, the
session hooks and worker jobs, the portal's and the API's blueprints, the command line.
Each step lives in the module that owns it, and is called from here, not run on import.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import home, models, preferences
from portal.admin import init_admin
from portal.attachments import init_attachments
from portal.attachments import previews as attachment_previews
from portal.attachments import service as attachment_service
from portal.auth import token_pages
from portal.commands import commands
from portal.config import load_config
from portal.db_errors import init_database_errors
from portal.extensions import csrf, db, mail, migrate
from portal.hosts import init_trusted_hosts
from portal.ids import Int64Converter
from portal.json_safety import SafeJSONProvider
from portal.logging_setup import configure_logging
from portal.mailin import imap as inbox
from portal.mailin.threads import init_threads
from portal.notifications import deliver as mail_delivery
from portal.notifications import hooks as mail_hooks
from portal.plain_text_input import init_plain_text
from portal.security_headers import init_security_headers
from portal.security_setup import init_security
from portal.sla import escalation, init_sla
from portal.webhooks import deliver as webhook_delivery
from portal.webhooks import hooks as webhook_hooks

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application; ``config`` overrides settings read from the environment."""
    app = Flask(__name__)
    # Deep or surrogate-laden JSON is a 400; the class too, as Flask-Security extends it.
    app.json_provider_class = SafeJSONProvider
    app.json = SafeJSONProvider(app)
    app.url_map.converters["int"] = Int64Converter  # ids within 64 bits
    app.config.from_mapping(load_config(config))
    configure_logging(app)
    configure_proxy(app)
    init_trusted_hosts(app)
    register_extensions(app)
    register_background_work(app)
    register_blueprints(app)
    register_commands(app)
    return app


def configure_proxy(app: Flask) -> None:
    """Behind a TLS reverse proxy, trust its X-Forwarded-* headers (one hop)."""
    if app.config["BEHIND_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)


def register_extensions(app: Flask) -> None:
    init_sla(app)
    # Flask-Migrate's Alembic and Flask-Security read every model's table and mapping:
    # portal.models imports them all, and mapping them now fails here, not mid-request.
    models.configure()
    db.init_app(app)
    init_database_errors(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    mail.init_app(app)
    mail_delivery.init_delivery(app)
    # CSRFProtect before Security: Flask-Security sees it registered and defers its own
    # CSRF checks to it, so forms, session and token calls are checked once, consistently.
    csrf.init_app(app)
    init_security(app)


def register_background_work(app: Flask) -> None:
    """What runs beside the requests: the session hooks that write mail and webhook
    deliveries in each change's transaction (once per process, as ``db.session`` serves
    every app), the worker's jobs, and mail in's part in the mail threads."""
    mail_hooks.register()
    webhook_hooks.register()
    for job_owner in (mail_delivery, webhook_delivery, escalation, inbox, attachment_service,
                      attachment_previews):
        job_owner.register_job()
    init_threads(app)


def register_blueprints(app: Flask) -> None:
    # Why here: ``import api.x`` first runs api/__init__, whose modules import portal's,
    # which run this file first: importing ``api`` at its top would find it half-made.
    from api import init_api

    app.register_blueprint(home.bp)
    app.register_blueprint(token_pages.bp)
    app.register_blueprint(preferences.bp)
    init_admin(app)
    init_api(app)
    init_attachments(app)
    init_security_headers(app)
    init_plain_text(app)


def register_commands(app: Flask) -> None:
    for command in commands:
        app.cli.add_command(command)


#: Per connection. WAL: readers never block the writer. synchronous=NORMAL: in WAL mode a
#: commit survives an application crash and waits for the disk only at checkpoints.
#: cache_size: 32 MB of page cache, which holds every index of 100,000 incidents.
#: mmap_size=0: measured with bench/ (100,000 incidents), a 256 MB memory map made no
#: scenario faster and raised a worker's peak RSS from 125 to 164 MB, so reads stay
#: read() calls into the page cache. temp_store: sorts and temporary indexes in memory.
SQLITE_PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000",
                  "synchronous=NORMAL", "cache_size=-32000", "mmap_size=0",
                  "temp_store=MEMORY")


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record) -> None:
    """SQLite for a web workload: WAL so readers never block the writer, enforced foreign
    keys, a busy timeout so concurrent gunicorn workers wait instead of failing, and the
    caches above (``SQLITE_PRAGMAS``)."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        try:
            cursor.execute(f"PRAGMA {pragma}")
        except sqlite3.OperationalError as exc:
            # A read-only database in rollback-journal mode (a read-only mount, a copy
            # opened ``mode=ro``) cannot switch to WAL, yet it reads: serve the reads
            # (``/healthz`` says degraded) instead of refusing the connection.
            if pragma != "journal_mode=WAL" or exc.sqlite_errorcode != sqlite3.SQLITE_READONLY:
                raise
    cursor.close()
