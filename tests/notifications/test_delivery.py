"""Delivery: nothing lost while SMTP is down, nothing waits on it, nothing sent twice
without a fault (with one, at least once: see tests/reliability/)."""
from __future__ import annotations

import logging
import time

from sqlalchemy import func, select

from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents import lifecycle
from portal.notifications.deliver import deliver_due, retry
from portal.notifications.models import OutboxMessage, OutboxStatus
from tests.factories import make_user
from tests.races import race


def queue(n: int) -> None:
    db.session.add_all(OutboxMessage(recipient=f"user{i}@example.com", subject=f"Message {i}",
                                     text_body="text", html_body="<p>html</p>",
                                     event_kind="created") for i in range(n))
    db.session.commit()


def statuses() -> dict[str, int]:
    return dict(db.session.execute(select(OutboxMessage.status, func.count())
                                   .group_by(OutboxMessage.status)).all())


def test_smtp_down_then_back_on_the_same_port(smtp, deliver):
    reporter = make_user("reporter")
    smtp.stop()
    incident = lifecycle.create(actor=reporter, title="Saved at once", description="d")
    db.session.commit()
    assert incident.id is not None
    assert deliver() == 0
    waiting = db.session.scalars(select(OutboxMessage)).all()
    db.session.expire_all()
    assert [(m.status, m.attempts) for m in waiting] == [("pending", 1)]
    assert "Connection refused" in waiting[0].last_error
    smtp.start()
    assert deliver() == 1
    assert [m["Subject"] for m in smtp.sink.messages] == \
        [f"[{incident.number}] We have your report: Saved at once"]
    assert statuses() == {"sent": 1}


def test_a_slow_smtp_server_never_slows_a_request(mail_app, smtp):
    # The server answers only once the test has its response: a request that waited for
    # SMTP would see "accepted" first (after the 10 s hold limit).
    smtp.sink.hold = True
    mail_app.config["MAIL_DELIVERY_THREAD"] = True
    admin = make_user("admin")
    client = mail_app.test_client()
    try:
        response = client.post("/api/v1/incidents", json={"title": "Urgent", "description": "d"},
                               headers={"Authorization": f"Bearer {admin.get_auth_token()}"})
        smtp.sink.events.append("response")
        smtp.sink.released.set()
        assert response.status_code == 201
        deadline = time.monotonic() + 15
        while not smtp.sink.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [m["Subject"] for m in smtp.sink.messages][:1] == \
            [f"[INC-{response.get_json()['id']}] We have your report: Urgent"]
        assert smtp.sink.events[:2] == ["response", "accepted"], \
            "the request returned only after the SMTP server had answered"
    finally:
        mail_app.extensions["mail_deliverer"].stop()


def test_two_deliverers_racing_send_each_message_once(mail_app, smtp):
    queue(200)

    def deliverer() -> int:
        total = 0
        while sent := deliver_due():  # rounds until one finds nothing left
            total += sent
        return total

    sent_by = race(mail_app, deliverer)
    subjects = [m["Subject"] for m in smtp.sink.messages]
    assert len(subjects) == 200 and len(set(subjects)) == 200
    assert sum(sent_by) == 200
    db.session.expire_all()
    assert statuses() == {"sent": 200}


def test_exhausted_retries_end_as_failed_with_the_error_kept(mail_app, smtp, deliver):
    mail_app.config["MAIL_MAX_ATTEMPTS"] = 3
    queue(1)
    smtp.stop()
    for _ in range(3):
        deliver()
    message = db.session.scalars(select(OutboxMessage)).one()
    db.session.refresh(message)
    assert (message.status, message.attempts) == ("failed", 3)
    assert "Connection refused" in message.last_error and message.sent_at is None
    # An admin's retry gives it a fresh start, and it goes once SMTP is back.
    retry(message)
    db.session.commit()
    smtp.start()
    assert deliver() == 1 and statuses() == {"sent": 1}


def test_backoff_grows_and_is_capped(mail_app, smtp, deliver):
    mail_app.config.update(MAIL_RETRY_BASE_SECONDS=60, MAIL_RETRY_MAX_SECONDS=150)
    queue(1)
    smtp.stop()
    waits = []
    for _ in range(3):
        before = utcnow()
        deliver()
        message = db.session.scalars(select(OutboxMessage)).one()
        db.session.refresh(message)
        waits.append(round((message.next_attempt_at - before).total_seconds() / 10) * 10)
        message.next_attempt_at = utcnow()  # due again now
        db.session.commit()
    assert waits == [60, 120, 150]


def test_send_rate_limit(mail_app, smtp, deliver):
    mail_app.config["MAIL_MAX_PER_MINUTE"] = 5
    queue(8)
    assert deliver() == 5 and deliver() == 0
    assert statuses() == {"sent": 5, "pending": 3}


def test_without_mail_server_messages_wait_and_the_log_says_so(make_app, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.notifications.deliver"):
        app = make_app(MAIL_SERVER="")
    assert "MAIL_SERVER is not set" in caplog.text
    assert "mail_deliverer" not in app.extensions
    reporter = make_user("reporter")
    lifecycle.create(actor=reporter, title="Kept", description="d")
    db.session.commit()
    assert statuses() == {"pending": 1}
    with app.app_context():  # the command runs in the current app context
        result = app.test_cli_runner().invoke(args=["deliver-mail", "--once"])
    assert result.exit_code == 1 and "MAIL_SERVER is not set" in result.output


def test_deliver_mail_command_sends_and_logs_ids_not_passwords(make_app, smtp, caplog):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_BACKEND="smtp")
    queue(2)
    with caplog.at_level(logging.INFO, logger="portal.notifications.deliver"), \
            app.app_context():  # the command runs in the current app context
        result = app.test_cli_runner().invoke(args=["deliver-mail", "--once"])
    assert result.exit_code == 0 and "Sent 2 messages." in result.output, result.output
    ids = db.session.scalars(select(OutboxMessage.id)).all()
    for message_id in ids:
        assert f"mail {message_id} sent to" in caplog.text


def test_smtp_login_failure_is_logged_without_the_password(make_app, smtp, caplog):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_BACKEND="smtp",
                   MAIL_USERNAME="mailer", MAIL_PASSWORD="hunter2-very-secret")
    queue(1)
    with caplog.at_level(logging.INFO, logger="portal.notifications.deliver"):
        with app.app_context():
            deliver_due()
    message = db.session.scalars(select(OutboxMessage)).one()
    db.session.refresh(message)
    assert message.status == OutboxStatus.pending.value and message.last_error
    assert "failed" in caplog.text
    assert "hunter2-very-secret" not in caplog.text
    assert "hunter2-very-secret" not in message.last_error
