"""The two ways mail comes in, as the attack review sent it: piped to ``manage.py
ingest-mail`` in a process of its own (as Postfix runs it), and APPENDed to the real
dovecot the mail-in tests run, then read by the worker's poller. ``mail_door`` is a
fixture over both; its ``send(*messages)`` delivers through the one it stands for.

The fixture is in ``tests/security/conftest.py``; ``dovecot`` is the suite's.
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable

import pytest

from harness.servers import ROOT
from tests.mailin.helpers import AUTHSERV_ID, INBOX_ADDRESS, proven
from tests.processes import app_env

#: The desk's intake settings, for the app and for the piped process alike.
INTAKE = {"MAIL_INBOX_ADDRESS": INBOX_ADDRESS,
          "MAIL_DEFAULT_SENDER": "incident-portal@localhost",
          "MAIL_INBOX_TRUSTED_AUTHSERV_ID": AUTHSERV_ID}


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
        """Deliver ``messages`` as the trusted receiving server passes them on: their
        sender proven (these attacks come from who the From says; forged senders are
        ``test_mail_sender_proof``'s)."""
        self.deliver([proven(raw) for raw in messages], self.settings)
