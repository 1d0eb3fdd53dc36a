"""The delivery guarantee, end to end (issue 20): across a slow SMTP server, a worker
killed with SIGKILL and a database crash-restart, every message arrives at least once;
a message arrives twice only where the server had accepted it and the sender could not
record that, and both copies carry the same ``Message-ID``. Counted at the server."""
from __future__ import annotations

import time
import uuid

import pytest
from flask_migrate import upgrade
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from portal import create_app
from portal.auth.security import ensure_roles
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from tests.processes import app_env, kill, start_process
from tests.waiting import DEADLINE, wait_until

pytestmark = pytest.mark.slow


def stored(app) -> dict[str, tuple[str, str]]:
    """recipient -> (Message-ID, status), read again until the database answers."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with app.app_context():
                rows = db.session.execute(select(OutboxMessage.recipient,
                                                 OutboxMessage.message_id,
                                                 OutboxMessage.status)).all()
                db.session.remove()
            return {recipient: (message_id, status) for recipient, message_id, status in rows}
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_at_least_once_with_the_same_message_id(running_postgres, smtp, processes,
                                                tmp_path):
    url = running_postgres.create_database(f"guarantee_{uuid.uuid4().hex[:8]}")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        ensure_roles()
        db.session.add_all(OutboxMessage(recipient=f"user{i}@example.com", subject=f"M{i}",
                                         text_body="t", html_body="<p>h</p>",
                                         event_kind="created") for i in range(8))
        db.session.commit()
        db.session.remove()
    smtp.mode, smtp.delay = "slow", 0.1
    env = app_env(url, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port),
                  MAIL_POLL_SECONDS="300", MAIL_CLAIM_TIMEOUT_SECONDS="2",
                  MAIL_CONNECT_TIMEOUT="2", MAIL_TIMEOUT="5", DATABASE_CONNECT_TIMEOUT="2")
    log = tmp_path / "worker.log"
    try:
        # 1. A worker killed while the server holds its answer to user2's message.
        held = smtp.hold("user2@example.com")
        first = start_process(["worker"], env, tmp_path / "first.log")
        processes.append(first)
        assert held.reached.wait(DEADLINE), (tmp_path / "first.log").read_text()
        kill(first)
        smtp.rules.pop("user2@example.com")
        held.release()

        # 2. A second worker; the database crashes while user5's answer is held, so the
        #    commit recording it fails; then the database comes back.
        held = smtp.hold("user5@example.com")
        processes.append(start_process(["worker"], env, log))
        assert held.reached.wait(DEADLINE), log.read_text()
        running_postgres.stop("immediate")
        smtp.rules.pop("user5@example.com")
        held.release()
        # The worker meets the dead database: its round fails (and says so) before the
        # database comes back.
        assert wait_until(lambda: "worker: job mail failed" in log.read_text()), \
            log.read_text()
        running_postgres.start()

        assert wait_until(lambda: {status for _, status in stored(app).values()} == {"sent"},
                          timeout=60, interval=0.2), log.read_text()
        ids = stored(app)
        copies = smtp.copies()
        assert set(copies) == {message_id for message_id, _ in ids.values()}
        doubled = {recipient for recipient, (message_id, _) in ids.items()
                   if copies[message_id] > 1}
        # Exactly the two the server accepted unrecorded: user2's sender was killed,
        # user5's commit met the crashed database.
        assert doubled == {"user2@example.com", "user5@example.com"}
        assert max(copies.values()) == 2
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
