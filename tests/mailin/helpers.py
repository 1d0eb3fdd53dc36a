"""Helpers of the mail-in tests: the corpus, the desk's address, mail as a trusted
server passes it on, the pipe in its own process, and what a message changed in the
database (their fixtures are in this folder's conftest)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from portal.extensions import db
from portal.mailin.models import InboundMail
from portal.notifications.models import OutboxMessage
from portal.notifications.threads import outgoing_headers
from tests.processes import app_env

CORPUS = Path(__file__).parent / "corpus"
INBOX_ADDRESS = "helpdesk@example.com"
#: The authserv-id of the tests' receiving mail server (``MAIL_INBOX_TRUSTED_AUTHSERV_ID``).
AUTHSERV_ID = "mx.test.example"


def proven(raw: bytes) -> bytes:
    """``raw`` as the trusted receiving mail server passes it on: its
    ``Authentication-Results`` on top, saying DMARC passed for the From domain."""
    found = re.search(rb"^From:[^\n]*@([A-Za-z0-9.-]+)>?\s*$", raw,
                      re.MULTILINE | re.IGNORECASE)
    domain = found.group(1).decode().lower()
    return (f"Authentication-Results: {AUTHSERV_ID}; spf=pass smtp.mailfrom={domain}; "
            f"dmarc=pass (p=reject) header.from={domain}\r\n").encode() + raw


def counts() -> tuple[int, int]:
    """(inbound messages, outbox messages): what a refused message must not change."""
    return (db.session.scalar(select(func.count(InboundMail.id))),
            db.session.scalar(select(func.count(OutboxMessage.id))))


def last_inbound() -> InboundMail:
    """The newest inbound message, read afresh."""
    db.session.expire_all()
    return db.session.scalars(select(InboundMail).order_by(InboundMail.id.desc())).first()


def ingest_by_pipe(database_url: str, raw: bytes, **env: str) -> str:
    """``manage.py ingest-mail`` in its own process (as a mail server's pipe runs it,
    ``env`` its settings) with ``raw`` on standard input; what it printed, log lines at
    INFO included. It must exit 0 (handled, quarantined and ignored included)."""
    result = subprocess.run([sys.executable, "manage.py", "ingest-mail"],
                            cwd=Path(__file__).resolve().parents[2], input=raw,
                            capture_output=True, timeout=120, env=app_env(database_url, **env))
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, output
    db.session.expire_all()
    return output


def reply_address_of(user, incident) -> str:
    """The Reply-To of the newest notification ``user`` was sent about ``incident``, as
    the deliverer sends it."""
    db.session.expire_all()
    message = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == user.email, OutboxMessage.incident_id == incident.id)
        .order_by(OutboxMessage.id.desc())).first()
    return outgoing_headers(message)["Reply-To"]
