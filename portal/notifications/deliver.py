"""Delivering the outbox: claim due messages atomically, send them with Flask-Mailman,
retry failures with capped exponential backoff, give up after ``MAIL_MAX_ATTEMPTS``.

Any number of deliverers may run at once (gunicorn workers' threads, ``manage.py
deliver-mail`` workers): a message is claimed by exactly one of them — with
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL and a conditional ``UPDATE ... WHERE
claimed_at IS NULL`` on SQLite — so none is sent twice. A claim older than
``CLAIM_TIMEOUT`` (its deliverer died mid-send) is taken over.
"""
from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

from flask import Flask, current_app
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import func, or_, select, update

from portal.db_types import utcnow
from portal.extensions import db, mail
from portal.notifications.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)
CLAIM_TIMEOUT = timedelta(minutes=10)
BATCH = 20


def _due(now):
    return ((OutboxMessage.status == OutboxStatus.pending.value)
            & (OutboxMessage.next_attempt_at <= now)
            & or_(OutboxMessage.claimed_at.is_(None),
                  OutboxMessage.claimed_at < now - CLAIM_TIMEOUT))


def claim(limit: int, now=None) -> list[OutboxMessage]:
    """Claim up to ``limit`` messages due at ``now`` for this deliverer; commits the claim."""
    now, token = now or utcnow(), uuid.uuid4().hex
    due_ids = select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        ids = list(db.session.scalars(due_ids.with_for_update(skip_locked=True)))
        if ids:
            db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                               .values(claimed_at=now, claimed_by=token))
    else:
        # One UPDATE under SQLite's write lock: the due condition is checked again as rows
        # are claimed, so a row another deliverer just claimed is skipped.
        db.session.execute(update(OutboxMessage)
                           .where(OutboxMessage.id.in_(due_ids.scalar_subquery()), _due(now))
                           .values(claimed_at=now, claimed_by=token)
                           .execution_options(synchronize_session=False))
    db.session.commit()
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.claimed_by == token).order_by(OutboxMessage.id)))


def _backoff(attempts: int) -> timedelta:
    config = current_app.config
    seconds = config["MAIL_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, config["MAIL_RETRY_MAX_SECONDS"]))


def send(message: OutboxMessage, connection) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.text_body,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"], to=[message.recipient],
        connection=connection,
        headers={"X-Incident-Portal-Message": str(message.id)})
    email.attach_alternative(message.html_body, "text/html")
    email.send(fail_silently=False)


def _room_this_minute() -> int:
    limit = current_app.config["MAIL_MAX_PER_MINUTE"]
    if not limit:
        return BATCH
    sent = db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.sent_at >= utcnow() - timedelta(minutes=1)))
    return max(0, min(BATCH, limit - sent))


def deliver_due() -> int:
    """Send what is due now; returns how many were sent. Needs an app context.

    Each message is tried at most once per call: a retry is scheduled after ``started``.
    """
    sent, started = 0, utcnow()
    while (room := _room_this_minute()) > 0:
        batch = claim(room, now=started)
        if not batch:
            break
        connection = mail.get_connection(fail_silently=False)
        try:
            sent += _send_batch(batch, connection)
        finally:
            connection.close()
    return sent


def _send_batch(batch: list[OutboxMessage], connection) -> int:
    sent = 0
    for message in batch:
        message.attempts += 1
        try:
            send(message, connection)
        except Exception as exc:  # noqa: BLE001 - any SMTP or network failure is retried
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
                message.status = OutboxStatus.failed.value
                log.error("mail %s to %s failed for good after %d attempts: %s",
                          message.id, message.recipient, message.attempts,
                          message.last_error)
            else:
                message.next_attempt_at = utcnow() + _backoff(message.attempts)
                log.warning("mail %s to %s failed (attempt %d), retrying at %s: %s",
                            message.id, message.recipient, message.attempts,
                            message.next_attempt_at.isoformat(), message.last_error)
        else:
            message.status, message.sent_at = OutboxStatus.sent.value, utcnow()
            sent += 1
            log.info("mail %s sent to %s", message.id, message.recipient)
        message.claimed_at = message.claimed_by = None
        db.session.commit()
    return sent


def next_due_in(default: float) -> float:
    """Seconds until the next pending message is due (``default`` when none waits)."""
    due = db.session.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(
        OutboxMessage.status == OutboxStatus.pending.value))
    if due is None:
        return default
    return max(0.0, min(default, (due - utcnow()).total_seconds()))


def retry(message: OutboxMessage) -> None:
    """Give a failed message a fresh set of attempts (the admin's *retry*); caller commits."""
    message.status = OutboxStatus.pending.value
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.claimed_at = message.claimed_by = None


def delivery_enabled(app: Flask) -> bool:
    return bool(app.config["MAIL_SERVER"]) or app.config.get("MAIL_BACKEND") not in (None, "smtp")


class Deliverer:
    """The in-process deliverer: a daemon thread woken after each commit that queued mail,
    and every ``MAIL_POLL_SECONDS`` for retries. Requests never wait for it."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        if not self.app.config["MAIL_DELIVERY_THREAD"]:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mail-deliverer",
                                                daemon=True)
                self._thread.start()
        self._wake.set()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        poll = self.app.config["MAIL_POLL_SECONDS"]
        while not self._stop.is_set():
            self._wake.clear()
            wait = poll
            with self.app.app_context():
                try:
                    deliver_due()
                    wait = next_due_in(poll)
                except Exception:  # noqa: BLE001 - the thread must outlive a bad moment
                    log.exception("mail delivery round failed")
                    db.session.rollback()
                finally:
                    db.session.remove()
            self._wake.wait(wait)


def init_delivery(app: Flask) -> None:
    """Attach the in-process deliverer; say once when delivery is off."""
    from portal.notifications import hooks  # noqa: F401  (registers the session hooks)

    if not delivery_enabled(app):
        log.warning("MAIL_SERVER is not set: notifications are kept in the outbox and "
                    "not sent")
        return
    app.extensions["mail_deliverer"] = Deliverer(app)
