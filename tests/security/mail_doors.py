"""The two ways mail comes in, as the attack review sent it: piped to ``manage.py
ingest-mail`` in a process of its own (as Postfix runs it), and APPENDed to the real
dovecot the mail-in tests run, then read by the worker's poller. ``mail_door`` is a
fixture over both; its ``send(*messages)`` delivers through the one it stands for.

The dovecot fixture lives with the mail-in tests; a module that sends mail imports it
with ``mail_door`` (``from tests.security.mail_doors import dovecot, mail_door``).
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable

import pytest

from harness.servers import ROOT
from portal.mailin.imap import Poller
from tests.mailin.conftest import dovecot  # noqa: F401 - a fixture, offered with mail_door
from tests.mailin.helpers import INBOX_ADDRESS
from tests.processes import app_env

#: The desk's intake settings, for the app and for the piped process alike.
INTAKE = {"MAIL_INBOX_ADDRESS": INBOX_ADDRESS,
          "MAIL_DEFAULT_SENDER": "incident-portal@localhost"}


def pipe(raw: bytes, database_url: str, **settings: str) -> str:
    """``raw`` through ``manage.py ingest-mail`` (a new process, the test's database);
    returns its output. It must exit 0: handled, quarantined or ignored."""
    done = subprocess.run([sys.executable, "manage.py", "ingest-mail"], cwd=ROOT,
                          input=raw, capture_output=True, timeout=120,
                          env=app_env(database_url, **INTAKE, **settings))
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 0 and b"Traceback" not in done.stderr, output
    return output


@dataclass
class MailDoor:
    """One way in: ``send(*messages)`` delivers and processes them; ``setting`` changes a
    setting of the app and of the piped process alike."""

    name: str
    app: object
    monkeypatch: pytest.MonkeyPatch
    deliver: Callable[[list[bytes], dict[str, str]], None]
    settings: dict[str, str] = field(default_factory=dict)

    def setting(self, key: str, value) -> None:
        self.monkeypatch.setitem(self.app.config, key, value)
        self.settings[key] = str(value)

    def send(self, *messages: bytes) -> None:
        self.deliver(list(messages), self.settings)


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
