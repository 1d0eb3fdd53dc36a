"""Mail delivery under SMTP faults (issue 20, findings 1 and 3-7; issue 13, bug 6): each
test counts what the real SMTP server received, per ``Message-ID``."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from portal.db_types import utcnow
from portal.extensions import db
from portal.notifications import deliver as delivery
from portal.notifications.models import OutboxMessage
from tests.reliability.helpers import outbox


def test_every_message_has_a_stored_message_id_sent_unchanged_on_a_resend(
        smtp, deliver, queue):
    queue(2)
    stored = {m.id: m.message_id for m in outbox()}
    assert all(value.startswith("<") and value.endswith(">") for value in stored.values())
    assert len(set(stored.values())) == 2
    smtp.mode = "drop"  # received, but the sender never hears so: sent again later
    deliver()
    assert all(m.status == "pending" for m in outbox())
    db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()
    smtp.mode = "accept"
    assert deliver() == 2
    assert smtp.copies() == {message_id: 2 for message_id in stored.values()}


def test_a_long_round_on_a_slow_server_is_never_doubled(mail_app, smtp, queue):
    """Finding 1: a round lasting longer than the claim timeout (here 1 s, against 0.3 s
    per message) must not let a second deliverer take over rows still being sent."""
    mail_app.config["MAIL_CLAIM_TIMEOUT_SECONDS"] = 1
    smtp.mode, smtp.delay = "slow", 0.3
    queue(12)

    def deliverer(second: bool) -> None:
        if second:  # starts when the first has been sending for longer than the timeout
            smtp.wait_for(4)
        with mail_app.app_context():
            while delivery.deliver_due():
                pass
            db.session.remove()

    threads = [threading.Thread(target=deliverer, args=(second,)) for second in (False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(smtp.copies()) == 12
    assert max(smtp.copies().values()) == 1, "a message was sent twice"
    assert {m.status for m in outbox()} == {"sent"}


def test_a_stale_claim_is_taken_over_and_a_fresh_one_is_not(mail_app, smtp, deliver, queue):
    """Issue 13, bug 6: the claim of a deliverer on another host that stopped refreshing
    it is taken over after MAIL_CLAIM_TIMEOUT_SECONDS; a fresh claim is left alone."""
    stale, fresh = queue(2)
    timeout = mail_app.config["MAIL_CLAIM_TIMEOUT_SECONDS"]
    stale.claimed_by, stale.claimed_at = "otherhost123:42:dead", \
        utcnow() - timedelta(seconds=timeout + 5)
    fresh.claimed_by, fresh.claimed_at = "otherhost123:43:alive", utcnow()
    db.session.commit()
    assert deliver() == 1
    rows = {m.id: m for m in outbox()}
    assert rows[stale.id].status == "sent" and rows[fresh.id].status == "pending"
    assert rows[fresh.id].claimed_by == "otherhost123:43:alive"
    assert [m["Subject"] for m in smtp.messages] == ["Message 0"]


def test_the_wait_is_for_the_claim_to_expire_not_zero(mail_app, queue):
    """Finding 4: a due row claimed by someone else made ``next_due_in`` answer 0, so the
    thread spun. It waits until that claim could expire."""
    (message,) = queue(1)
    message.claimed_by, message.claimed_at = "otherhost123:43:alive", utcnow()
    db.session.commit()
    with mail_app.app_context():
        mail_app.config["MAIL_CLAIM_TIMEOUT_SECONDS"] = 60
        wait = delivery.next_due_in(300)
    assert 50 < wait <= 60


def test_the_rate_limit_waits_for_room_instead_of_spinning(mail_app, smtp, deliver, queue):
    mail_app.config["MAIL_MAX_PER_MINUTE"] = 2
    queue(3)
    assert deliver() == 2
    with mail_app.app_context():
        assert delivery.next_due_in(300) > 50


def test_one_dropped_connection_does_not_fail_the_rest_of_the_batch(smtp, deliver, queue):
    """Finding 5: every third connection dropped at DATA. The dead connection is replaced
    before the next message, and no attempt is spent without reaching the server."""
    smtp.mode = "drop-every-3"
    queue(6)
    assert deliver() == 6
    rows = outbox()
    assert {m.status for m in rows} == {"sent"}
    assert [m.attempts for m in rows] == [1] * 6
    assert max(smtp.copies().values()) == 1 and len(smtp.copies()) == 6


@pytest.mark.parametrize("answer, status, attempts", [
    ("550", "failed", 1),   # permanent: no retries
    ("451", "pending", 1),  # temporary: retried later, with backoff
    ("421", "pending", 1),
])
def test_permanent_failures_end_at_once_temporary_ones_retry(smtp, deliver, queue,
                                                             answer, status, attempts):
    """Finding 6: a 5xx ends the message with the server's answer; a 4xx retries."""
    smtp.mode = answer
    queue(1)
    before = utcnow()
    assert deliver() == 0
    (message,) = outbox()
    assert (message.status, message.attempts) == (status, attempts)
    assert answer in message.last_error
    if status == "pending":
        assert message.next_attempt_at >= before + timedelta(seconds=50)


def test_a_silent_server_costs_one_timeout_per_round_not_one_per_message(
        mail_app, smtp, deliver, queue):
    """Finding 7: a server that accepts TCP and never greets. The round stops after the
    first connection times out; the other messages wait without spending attempts."""
    smtp.stop()
    smtp.silent()
    queue(5)
    assert deliver() == 0
    assert len(smtp.silent_connections) == 1
    rows = outbox()
    assert [m.attempts for m in rows] == [1, 0, 0, 0, 0]
    assert {m.status for m in rows} == {"pending"}
    assert all(m.next_attempt_at > utcnow() for m in rows)
    assert "not tried" in rows[1].last_error


def test_one_slow_recipient_does_not_starve_the_others(mail_app, smtp, deliver, queue):
    """Finding 7: a message the server sits on past the read timeout fails alone; the
    messages after it go out in the same round."""
    mail_app.config["MAIL_TIMEOUT"] = 0.5
    smtp.rules["user0@example.com"] = "hold"
    queue(4)
    try:
        assert deliver() == 3
    finally:
        smtp.release()
    rows = outbox()
    assert [m.status for m in rows] == ["pending", "sent", "sent", "sent"]
    assert "timed out" in rows[0].last_error
