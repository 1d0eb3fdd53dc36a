"""Security fixtures: ``mail_door``, each way mail comes in (``mail_doors.py``)."""
from __future__ import annotations

import pytest

from portal.mailin.imap import Poller
from tests.security.mail_doors import INTAKE, MailDoor, pipe


@pytest.fixture(params=["ingest-mail", "imap"])
def mail_door(request, app, database_url, monkeypatch) -> MailDoor:
    """Each test that takes it runs once through each way in."""
    for key, value in INTAKE.items():
        monkeypatch.setitem(app.config, key, value)
    if request.param == "ingest-mail":
        def deliver(messages, settings):
            for raw in messages:
                pipe(raw, database_url, **settings)
    else:
        server = request.getfixturevalue("dovecot")
        monkeypatch.setitem(app.config, "MAIL_INBOX_URL", server.url)

        def deliver(messages, settings):
            for raw in messages:
                server.append(raw)
            assert Poller().poll(app) == len(messages)
    return MailDoor(request.param, app, monkeypatch, deliver)
