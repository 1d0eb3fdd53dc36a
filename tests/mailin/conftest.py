"""Mail-in fixtures: a desk with people and one incident, reading corpus messages (as a
trusted receiving mail server passes them on), piping them through ``manage.py
ingest-mail``. The real IMAP server (``dovecot``) is the suite's fixture
(``tests/conftest.py``, ``tests/dovecot.py``); the helpers (the corpus, counts, the last
inbound message) are in ``helpers.py``."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from portal.incidents.enums import Status
from portal.notifications.threads import thread_root
from tests.factories import make_incident, make_user
from tests.mailin.helpers import AUTHSERV_ID, CORPUS, INBOX_ADDRESS, proven


@pytest.fixture(autouse=True)
def inbox_settings(app, monkeypatch):
    """The desk's intake settings for every mail-in test (the session app's config)."""
    monkeypatch.setitem(app.config, "MAIL_INBOX_ADDRESS", INBOX_ADDRESS)
    monkeypatch.setitem(app.config, "MAIL_INBOX_ALLOWED_DOMAINS", frozenset({"example.jp"}))
    monkeypatch.setitem(app.config, "MAIL_DEFAULT_SENDER", "incident-portal@localhost")
    monkeypatch.setitem(app.config, "MAIL_INBOX_TRUSTED_AUTHSERV_ID", AUTHSERV_ID)


@dataclass
class Desk:
    admin: object
    technician: object
    rita: object           # a reporter, with an incident assigned to the technician
    incident: object

    def message(self, name: str, *, incident=None) -> bytes:
        """Corpus message ``name``, answering ``incident`` (default: Rita's), as the
        trusted mail server passes it on (its DMARC pass on top) when it has a From."""
        incident = incident or self.incident
        raw = (CORPUS / name).read_bytes()
        root = thread_root(incident.id) or "<none@example.invalid>"
        raw = (raw.replace(b"%INCIDENT%", str(incident.id).encode())
               .replace(b"%ROOT%", root.strip("<>").encode()))
        return proven(raw) if re.search(rb"^From:", raw, re.MULTILINE) else raw


@pytest.fixture
def desk() -> Desk:
    admin = make_user("admin", username="ada")
    technician = make_user("technician", username="tom")
    rita = make_user("reporter", username="rita")
    make_user("reporter", username="zoe")
    incident = make_incident(reporter=rita, admin=admin, technician=technician,
                             status=Status.assigned, title="VPN drops every 10 minutes")
    return Desk(admin, technician, rita, incident)


@pytest.fixture
def pipe(runner):
    """``manage.py ingest-mail`` with ``raw`` on standard input: (exit code, output)."""
    def run(raw: bytes):
        result = runner.invoke(args=["ingest-mail"], input=raw)
        return result.exit_code, result.output
    return run
