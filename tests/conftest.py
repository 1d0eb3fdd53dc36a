"""Shared fixtures: one app and schema per run (built by the migrations), a clean
database for every test, a test client, a CLI runner, a login helper, an SMTP sink,
a webhook receiver, and for backups a new database and the app's attachment storage.

The database is ``TEST_DATABASE_URL`` when set (the PostgreSQL pass), otherwise a SQLite
file in a temporary folder: a file rather than memory, so servers started by the tests
(gunicorn) see the same rows.
"""
from __future__ import annotations

import ipaddress
import os
import subprocess
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import delete

from portal import create_app
from portal.auth.security import ensure_roles
from portal.extensions import db as _db
from tests import postgres
from tests.clients import log_in
from tests.dovecot import running_dovecot
from tests.factories import PASSWORD, make_user
from tests.processes import kill
from tests.smtp_sink import SmtpServer
from tests.webhook_receiver import Receiver


def pytest_report_header(config):
    return f"database: {os.environ.get('TEST_DATABASE_URL') or 'SQLite (temporary file)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.db'}"


class IsolatedClient(FlaskClient):
    """A test client whose requests each start with an empty ``g``.

    Tests keep an app context open (to use ``db.session``), and Flask reuses it for the
    requests they make, so ``g`` — where Flask-Login caches the logged-in user — would
    leak from one request (or client) to the next. A real server never does that.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for name in list(g):
                g.pop(name)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def attachments_dir(tmp_path_factory):
    """Where the test apps keep attachment files (never the project's data/)."""
    return tmp_path_factory.mktemp("attachments")


@pytest.fixture(scope="session")
def app(database_url, attachments_dir):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "ATTACHMENTS_DIR": str(attachments_dir)})
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
        ensure_roles()
        _db.session.commit()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()  # close pooled connections before the interpreter does


@pytest.fixture
def make_app(database_url, attachments_dir):
    """Build extra apps with other settings; their connections are closed afterwards."""
    built = []

    def build(**config):
        extra = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                            "ATTACHMENTS_DIR": str(attachments_dir), **config})
        extra.test_client_class = IsolatedClient
        built.append(extra)
        return extra
    yield build
    for extra in built:
        with extra.app_context():
            _db.session.remove()
            _db.engine.dispose()


@pytest.fixture(autouse=True)
def db(request, app):
    """An app context and, after the test, every row removed except the roles."""
    if "no_db" in request.keywords:
        yield None
        return
    with app.app_context():
        yield _db
        _db.session.rollback()
        for table in reversed(_db.metadata.sorted_tables):
            if table.name != "roles":
                _db.session.execute(delete(table))
        _db.session.commit()
        _db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin():
    return make_user("admin")


@pytest.fixture
def technician():
    return make_user("technician")


@pytest.fixture
def reporter():
    return make_user("reporter")


@pytest.fixture
def login(client):
    """Log ``user`` in on the test client through the real login form (``log_in``)."""
    def log_in_client(user, password: str = PASSWORD, follow_redirects: bool = False):
        return log_in(client, user, password=password, follow_redirects=follow_redirects)
    return log_in_client


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) for this test; ``smtp.sink`` holds what it received."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(make_app, smtp):
    """An app that delivers to the test SMTP server (Flask-Mailman's real SMTP backend)."""
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_BACKEND="smtp",
                    MAIL_RETRY_BASE_SECONDS=0, MAIL_TIMEOUT=5)


@pytest.fixture
def deliver(mail_app):
    """Run one delivery round as the mail app; returns how many were sent."""
    from portal.notifications.deliver import deliver_due

    def run() -> int:
        with mail_app.app_context():
            return deliver_due()
    return run


@pytest.fixture
def cast():
    """One user per part they can play towards an incident (the API and attachment role
    matrices)."""
    return {
        "admin": make_user("admin"),
        "technician_on_it": make_user("technician"),
        "other_technician": make_user("technician"),
        "reporter_of_it": make_user("reporter"),
        "other_reporter": make_user("reporter"),
    }


@pytest.fixture
def dovecot():
    """A real IMAP server, private to the test (``tests.dovecot``): mail in's tests,
    and the security tests that send mail the way the review did."""
    with running_dovecot() as server:
        yield server


# --- webhooks: a real receiver on loopback, an app allowed to call it (WEBHOOK_ALLOW_
# ADDRESSES, as an internal deployment would allow its own host), and endpoints registered
# through the service the portal and the API use (tests/webhooks, tests/portal).

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)


@pytest.fixture
def receiver():
    """A real webhook receiver on loopback (``tests.webhook_receiver``)."""
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def allow_loopback(app, monkeypatch):
    """Let deliveries reach the test receiver; with no retry wait, so a test can run
    the next round at once."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_ADDRESSES", LOOPBACK)
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_BASE_SECONDS", 0)
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 3)


@pytest.fixture
def register(admin, allow_loopback):
    """Register an endpoint (every event type unless told); returns (endpoint, secret)."""
    from portal.webhooks import service
    from portal.webhooks.events import EVENT_TYPES

    def make(url: str, events=EVENT_TYPES, owner=None, **fields):
        endpoint, secret = service.create(owner or admin, url=url, events=events, **fields)
        _db.session.commit()
        return endpoint, secret
    return make


@pytest.fixture
def send():
    """One webhook delivery round, as the worker runs it; returns how many were accepted."""
    from portal.webhooks.deliver import deliver_due

    def run() -> int:
        count = deliver_due()
        _db.session.expire_all()
        return count
    return run


@pytest.fixture
def processes():
    """Processes a test starts; killed afterwards whatever happened."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        kill(process)


# --- backups: a new, empty database on the engine of this pass, the suite's app storing
# attachments where one test says (tests/cli/test_backup.py, tests/reliability).

@pytest.fixture
def new_database(database_url, tmp_path) -> Iterator[Callable[[], str]]:
    """Make an empty database on the engine of this pass (a new SQLite file, or a new
    PostgreSQL database, dropped afterwards); returns its URL."""
    made: list[str] = []

    def make() -> str:
        name = f"restored_{uuid.uuid4().hex[:10]}"
        if database_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / name}.db"
        made.append(name)
        return postgres.create(name)
    yield make
    for name in made:
        postgres.drop(name)


@pytest.fixture
def storage(app):
    """Point the suite's app at a storage backend and folder for one test:
    ``storage("filesystem", folder)``; settings are put back afterwards."""
    saved = {key: app.config[key] for key in ("ATTACHMENT_STORAGE", "ATTACHMENTS_DIR")}

    def use(kind: str, folder: Path) -> dict[str, str]:
        app.config.update(ATTACHMENT_STORAGE=kind, ATTACHMENTS_DIR=str(folder))
        return {"ATTACHMENT_STORAGE": kind, "ATTACHMENTS_DIR": str(folder)}
    yield use
    app.config.update(saved)
