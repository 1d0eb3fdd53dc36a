"""Delivering the outbox: claim due messages, send them with Flask-Mailman, retry temporary
failures with capped exponential backoff, end permanent ones at once.

**Delivery is at-least-once.** Any number of deliverers may run at once (gunicorn
workers' threads, ``manage.py worker`` processes). A message is claimed by one of them —
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional ``UPDATE ... WHERE
claimed_at IS NULL ... RETURNING`` on SQLite — so with no fault none is sent twice. But a
deliverer that dies (or loses its database) after the SMTP server accepted a message and
before its commit recorded it leaves the message pending, and it is sent again. Every
message therefore carries its stored ``Message-ID`` on each attempt, so receivers can drop
the second copy.

Claims and how they end (the claiming is ``portal.outbox``'s, shared with webhooks):

- a claim names its deliverer (``host:pid:token``); a live deliverer keeps its claims
  fresh with a heartbeat (every third of ``MAIL_CLAIM_TIMEOUT_SECONDS``) and re-stamps each
  message just before sending it, skipping one another deliverer took over meanwhile;
- a claim not refreshed for ``MAIL_CLAIM_TIMEOUT_SECONDS`` (60 s by default: its deliverer
  died, or its database went away) is taken over by any deliverer;
- a claim whose process is gone from this host (``kill -9``) is released before the next
  batch of any deliverer on that host, without waiting for the timeout.

Claim ages are judged against the current time before every batch (``outbox.Round``), so
a long round does not hold a dead deliverer's messages back.

Failures: a 5xx answer ends the message as ``failed`` with the server's words; a 4xx, a
timeout or a dropped connection retries with backoff. A connection the server dropped is
closed and reopened before the next message, and an attempt is counted only when a fresh
connection reached the server. When the server cannot be reached at all the round stops
and the messages it claimed wait for the backoff of the first.
"""
from __future__ import annotations

import contextlib
import logging
import smtplib
from datetime import datetime, timedelta

from flask import Flask, current_app
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import func, select, update

from portal import outbox
from portal.db_types import utcnow
from portal.extensions import db, mail
from portal.notifications.hooks import CHANNEL
from portal.notifications.models import OutboxMessage, OutboxStatus
from portal.notifications.threads import outgoing_headers
from portal.worker import InProcess, Job, register, time_box

log = logging.getLogger(__name__)
#: Messages claimed at a time: a short batch keeps a slow server from holding many claims.
BATCH = 10


def claim_timeout() -> timedelta:
    return timedelta(seconds=current_app.config["MAIL_CLAIM_TIMEOUT_SECONDS"])


def _backoff(attempts: int) -> timedelta:
    config = current_app.config
    seconds = config["MAIL_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, config["MAIL_RETRY_MAX_SECONDS"]))


def send(message: OutboxMessage, connection) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.text_body,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"], to=[message.recipient],
        connection=connection,
        headers={"Message-ID": message.message_id,
                 "X-Incident-Portal-Message": str(message.id),
                 **outgoing_headers(message)})
    email.attach_alternative(message.html_body, "text/html")
    email.send(fail_silently=False)


class Unreachable(Exception):
    """The SMTP server could not be reached (refused, timed out, no greeting, login)."""


class Connection:
    """One SMTP connection for a round, opened on demand with a connect timeout
    (``MAIL_CONNECT_TIMEOUT``), then reading with ``MAIL_TIMEOUT``; closed and forgotten
    after any failure, so the next message gets a fresh one."""

    def __init__(self) -> None:
        self.backend = None

    @property
    def is_open(self) -> bool:
        return self.backend is not None

    def open(self):
        if self.backend is None:
            config = current_app.config
            backend = mail.get_connection(fail_silently=False,
                                          timeout=config["MAIL_CONNECT_TIMEOUT"])
            try:
                backend.open()
            except Exception as exc:  # noqa: BLE001 - whatever stops us reaching it
                _close_quietly(backend)
                raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
            # The SMTP backend's smtplib connection (public attributes of both): from
            # here on each read waits MAIL_TIMEOUT, not the connect timeout.
            smtp = getattr(backend, "connection", None)
            if smtp is not None and getattr(smtp, "sock", None) is not None:
                smtp.sock.settimeout(config["MAIL_TIMEOUT"])
            self.backend = backend
        return self.backend

    def reset(self) -> None:
        if self.backend is not None:
            _close_quietly(self.backend)
            self.backend = None


def _close_quietly(backend) -> None:
    with contextlib.suppress(Exception):
        backend.close()
    if getattr(backend, "connection", None) is not None:
        backend.connection = None  # a dead socket must never be reused


def is_permanent(exc: Exception) -> bool:
    """A 5xx answer: the server refused this message for good."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def _dropped(exc: Exception) -> bool:
    return isinstance(exc, (smtplib.SMTPServerDisconnected, ConnectionError))


def _room_this_minute() -> int:
    limit = current_app.config["MAIL_MAX_PER_MINUTE"]
    if not limit:
        return BATCH
    sent = db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.sent_at >= utcnow() - timedelta(minutes=1)))
    return max(0, min(BATCH, limit - sent))


def deliver_due() -> int:
    """Send what is due now; returns how many were sent. Needs an app context.

    Each message is tried at most once per call (``outbox.Round``); run by the worker, the
    round ends when its time box is over (``portal.worker.time_box``).
    """
    sent, box = 0, time_box()
    with outbox.Round(OutboxMessage, claim_timeout()) as this_round:
        while (room := _room_this_minute()) > 0 and not box.over():
            batch = this_round.claim(room)
            if not batch:
                break
            count, reachable = _send_batch(batch, this_round.token)
            sent += count
            if not reachable:
                break
    return sent


def _send_batch(batch: list[OutboxMessage], token: str) -> tuple[int, bool]:
    """Send a claimed batch; returns (sent, whether the server could be reached)."""
    sent, connection = 0, Connection()
    try:
        for position, message in enumerate(batch):
            if not outbox.still_ours(message, token):
                log.info("mail %s was taken over by another deliverer", message.id)
                continue
            try:
                if _attempt(message, connection):
                    sent += 1
            except Unreachable as exc:
                _failed(message, str(exc), permanent=False)
                # Even when this message has just run out of attempts, the server is down:
                # the rest wait a backoff, not a busy loop.
                _postpone(batch[position + 1:], token,
                          utcnow() + _backoff(max(message.attempts, 1)), str(exc))
                return sent, False
            finally:
                message.claimed_at = message.claimed_by = None
                db.session.commit()
    finally:
        connection.reset()
    return sent, True


def _attempt(message: OutboxMessage, connection: Connection) -> bool:
    """One counted attempt at ``message``; True when the server accepted it."""
    reused = connection.is_open
    try:
        send(message, connection.open())
    except Unreachable:
        raise
    except Exception as exc:  # noqa: BLE001 - any SMTP or network failure
        connection.reset()
        if not (reused and _dropped(exc)):
            _failed(message, f"{type(exc).__name__}: {exc}", permanent=is_permanent(exc))
            return False
        # The connection kept from the previous message had died: that was not this
        # message's attempt. Once more on a fresh connection.
        try:
            send(message, connection.open())
        except Unreachable:
            raise
        except Exception as exc:  # noqa: BLE001
            connection.reset()
            _failed(message, f"{type(exc).__name__}: {exc}", permanent=is_permanent(exc))
            return False
    message.attempts += 1
    message.status, message.sent_at = OutboxStatus.sent.value, utcnow()
    log.info("mail %s sent to %s", message.id, message.recipient)
    return True


def _failed(message: OutboxMessage, error: str, *, permanent: bool) -> None:
    message.attempts += 1
    message.last_error = error[:2000]
    if permanent or message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        message.status = OutboxStatus.failed.value
        log.error("mail %s to %s failed for good after %d attempts: %s", message.id,
                  message.recipient, message.attempts, message.last_error)
    else:
        message.next_attempt_at = utcnow() + _backoff(message.attempts)
        log.warning("mail %s to %s failed (attempt %d), retrying at %s: %s", message.id,
                    message.recipient, message.attempts, message.next_attempt_at.isoformat(),
                    message.last_error)


def _postpone(rest: list[OutboxMessage], token: str, until: datetime, error: str) -> None:
    """The server is unreachable: the rest of the batch waits as long as the message that
    found it so, without spending an attempt."""
    ids = [message.id for message in rest]
    if ids:
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids),
                                        OutboxMessage.claimed_by == token)
            .values(claimed_at=None, claimed_by=None, next_attempt_at=until,
                    last_error=f"not tried: {error}"[:2000])
            .execution_options(synchronize_session=False))


def next_due_in(default: float) -> float:
    """Seconds until there may be work: the next pending message due, the moment a claim
    held by someone else would expire, or a free place under ``MAIL_MAX_PER_MINUTE``
    (``default`` when nothing waits). Never 0 for a message merely claimed elsewhere."""
    now, timeout = utcnow(), claim_timeout()
    moments = []
    unclaimed = db.session.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(
        OutboxMessage.status == OutboxStatus.pending.value,
        OutboxMessage.claimed_at.is_(None)))
    if unclaimed is not None:
        moments.append(unclaimed)
    for next_attempt_at, claimed_at in db.session.execute(
            select(OutboxMessage.next_attempt_at, OutboxMessage.claimed_at).where(
                OutboxMessage.status == OutboxStatus.pending.value,
                OutboxMessage.claimed_at.is_not(None))):
        moments.append(max(next_attempt_at, claimed_at + timeout))
    if moments and _room_this_minute() == 0:
        oldest = db.session.scalar(select(func.min(OutboxMessage.sent_at)).where(
            OutboxMessage.sent_at >= now - timedelta(minutes=1)))
        if oldest is not None:
            moments = [max(moment, oldest + timedelta(minutes=1)) for moment in moments]
    if not moments:
        return default
    return max(0.0, min(default, (min(moments) - now).total_seconds()))


def retry(message: OutboxMessage) -> None:
    """Give a failed message a fresh set of attempts (the admin's *retry*); caller commits."""
    message.status = OutboxStatus.pending.value
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.claimed_at = message.claimed_by = None


def delivery_enabled(app: Flask) -> bool:
    return bool(app.config["MAIL_SERVER"]) or app.config.get("MAIL_BACKEND") not in (None, "smtp")


class Deliverer(InProcess):
    """The in-process deliverer, for a deployment without ``manage.py worker``
    (``MAIL_DELIVERY_THREAD=1``): the worker's mail job (``mail_job``) on a daemon thread
    of each web process, started with it (``start``), woken after each commit that queued
    mail, and otherwise sleeping until the next message is due (at most
    ``MAIL_POLL_SECONDS``). Requests never wait for it."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app, [mail_job()])

    def start(self) -> None:
        """Start the thread (once per process): the backlog and due retries go out
        without waiting for new mail."""
        if self.app.config["MAIL_DELIVERY_THREAD"]:
            super().start()


def init_delivery(app: Flask) -> None:
    """Attach the in-process deliverer; say once when delivery is off."""
    if not delivery_enabled(app):
        log.warning("MAIL_SERVER is not set: notifications are kept in the outbox and "
                    "not sent")
        return
    app.extensions["mail_deliverer"] = Deliverer(app)


def start_delivery(app: Flask) -> None:
    """Start the in-process deliverer of a serving process (gunicorn's ``post_worker_init``
    calls it in each worker, after the fork)."""
    deliverer = app.extensions.get("mail_deliverer")
    if deliverer is not None:
        deliverer.start()


def _deliver_round() -> float:
    deliver_due()
    return next_due_in(current_app.config["MAIL_POLL_SECONDS"])


def mail_job() -> Job:
    """Mail delivery as a job: one round sends what is due and says when more will be.
    ``manage.py worker`` hosts it, or a web process's thread (``Deliverer``)."""
    return Job(name="mail", interval=lambda app: app.config["MAIL_POLL_SECONDS"],
               run=_deliver_round, channel=CHANNEL, ready=lambda: outbox.ready(OutboxMessage),
               enabled=delivery_enabled)


def register_job() -> None:
    """Give ``manage.py worker`` the ``mail`` job (registering again replaces it)."""
    register(mail_job())
