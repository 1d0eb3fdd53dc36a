"""Fixtures for the fault tests: the fault-mode SMTP server, an app that delivers to it,
outbox rows and a private PostgreSQL cluster (helpers are in ``helpers.py``)."""
from __future__ import annotations

import subprocess

import pytest

from portal.extensions import db
from portal.notifications.models import OutboxMessage
from tests import pg_cluster
from tests.components import missing
from tests.smtp_faults import FaultSmtp


@pytest.fixture
def smtp():
    """The fault-injecting server instead of the plain sink (``deliver`` is the shared one)."""
    server = FaultSmtp().start()
    yield server
    server.stop()


#: Short timeouts so the fault tests take seconds (production defaults are in
#: portal/settings/mail.py). Not 1 s for an answer: the in-process sink answered a DATA
#: later than that beside stress-ng and another suite, and a delivery meant to succeed failed.
FAST_MAIL = {"MAIL_BACKEND": "smtp", "MAIL_CONNECT_TIMEOUT": 1, "MAIL_TIMEOUT": 5,
             "MAIL_RETRY_BASE_SECONDS": 60}


@pytest.fixture
def mail_app(make_app, smtp):
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, **FAST_MAIL)


@pytest.fixture
def queue():
    """Write ``n`` outbox rows (to user0@..., user1@...); returns them."""
    def write(n: int, **values) -> list[OutboxMessage]:
        rows = [OutboxMessage(recipient=f"user{i}@example.com", subject=f"Message {i}",
                              text_body="text", html_body="<p>html</p>",
                              event_kind="created", **values) for i in range(n)]
        db.session.add_all(rows)
        db.session.commit()
        return rows
    return write


@pytest.fixture(scope="session")
def private_postgres():
    """A private PostgreSQL cluster (started); tests may stop and start it."""
    reason = pg_cluster.available()
    if reason:
        missing(f"private PostgreSQL cluster: {reason}")
    cluster = pg_cluster.PrivateCluster()
    cluster.start()
    yield cluster
    cluster.remove()


@pytest.fixture
def running_postgres(private_postgres):
    """The private cluster, started again after the test if the test stopped it."""
    yield private_postgres
    try:
        private_postgres.start()
    except subprocess.CalledProcessError:
        pass  # already running
