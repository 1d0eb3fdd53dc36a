"""Sending webhook deliveries: the worker's ``webhooks`` job (``manage.py worker``).

A round serves the endpoints at once, each on a thread of its own (``ENDPOINTS_AT_ONCE``
of them), so one endpoint that hangs or is down cannot hold the others:

- an endpoint's deliveries are claimed through ``portal.outbox`` (one deliverer per row
  however many workers run), a few at a time: ``WEBHOOK_PARALLEL_PER_ENDPOINT`` requests
  in flight to it at once, ``WEBHOOK_ROUND_PER_ENDPOINT`` attempts a round at most, and
  the round ends with the worker's time box;
- **in each incident's order**: a delivery waits while an earlier one of the same incident
  and endpoint is pending (retrying included), so a receiver sees an incident's events in
  the order they happened, even after an outage. Deliveries without an incident
  (``webhook.test``) wait for nothing;
- each endpoint has a **circuit breaker** (``breaker``): after
  ``WEBHOOK_BREAKER_FAILURES`` failures in a row it is left alone, backlog unread, until
  one trial finds it answering again.

Each attempt is signed afresh (``signing``) and sent by ``sending.post`` to the address
``addresses.resolve`` checked, with ``WEBHOOK_TIMEOUT_SECONDS`` (10 s) and no redirects
followed. A 2xx answer is success; anything else, a timeout or a refused connection is
retried with exponential backoff and jitter (``WEBHOOK_RETRY_BASE_SECONDS`` doubling up to
``WEBHOOK_RETRY_MAX_SECONDS``) until the delivery is ``WEBHOOK_GIVE_UP_HOURS`` (24) old,
then it is ``failed``. An address that is refused fails at once (retrying cannot help).
Delivery is at-least-once: the ``webhook-id`` header is the same on every attempt, for
receivers to drop duplicates.

An endpoint whose deliveries have all failed for ``WEBHOOK_GIVE_UP_HOURS`` is disabled and
the admins are mailed; its waiting deliveries stay, and go when an admin enables it again
(those still within their day). Events while an endpoint is off are not queued for it.
"""
from __future__ import annotations

import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx
from flask import Flask, current_app, render_template
from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from portal import outbox
from portal.db_types import utcnow
from portal.extensions import db
from portal.notifications.compose import active_admins
from portal.notifications.models import OutboxMessage
from portal.webhooks import breaker, sending, signing
from portal.webhooks.hooks import CHANNEL
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from portal.worker import Job, TimeBox, register, time_box

log = logging.getLogger(__name__)
#: Endpoints one worker's round serves at once, each on a thread of its own.
ENDPOINTS_AT_ONCE = 8
PENDING = outbox.OutboxStatus.pending.value


def claim_timeout() -> timedelta:
    return timedelta(seconds=current_app.config["WEBHOOK_CLAIM_TIMEOUT_SECONDS"])


def backoff(attempts: int) -> timedelta:
    """Exponential, capped, with "equal jitter": half the delay fixed, half random, so
    endpoints that failed together do not all come back at the same second."""
    config = current_app.config
    delay = min(config["WEBHOOK_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0),
                config["WEBHOOK_RETRY_MAX_SECONDS"])
    return timedelta(seconds=delay / 2 + random.uniform(0, delay / 2))


def secrets_of(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets to sign with: the current one, and the previous one during its day."""
    valid = [signing.unseal(endpoint.secret_sealed)]
    if endpoint.previous_secret_sealed and endpoint.previous_secret_until \
            and endpoint.previous_secret_until > utcnow():
        valid.append(signing.unseal(endpoint.previous_secret_sealed))
    return valid


def in_incident_order():
    """The condition of a delivery with no earlier one of its incident and endpoint
    still pending."""
    earlier = aliased(WebhookDelivery)
    return ~exists().where(earlier.endpoint_id == WebhookDelivery.endpoint_id,
                           earlier.incident_id == WebhookDelivery.incident_id,
                           earlier.status == PENDING, earlier.id < WebhookDelivery.id)


def _servable(now: datetime):
    """Endpoints a round may try at ``now``: switched on, breaker not open."""
    return select(WebhookEndpoint.id).where(WebhookEndpoint.active.is_(True),
                                            breaker.not_open(now))


def _waiting(now: datetime):
    """Pending deliveries, unclaimed, next in their incident's order, at endpoints that
    may be tried now (due or not)."""
    return ((WebhookDelivery.status == PENDING) & WebhookDelivery.claimed_at.is_(None)
            & WebhookDelivery.endpoint_id.in_(_servable(now)) & in_incident_order())


def deliver_due() -> int:
    """Send what is due now; returns how many were accepted. Needs an app context.

    Each delivery is tried at most once per call (``outbox.Round``); run by the worker,
    the round ends when its time box is over (``portal.worker.time_box``).
    """
    app, box, now = current_app._get_current_object(), time_box(), utcnow()
    endpoint_ids = list(db.session.scalars(_servable(now).where(exists().where(
        WebhookDelivery.endpoint_id == WebhookEndpoint.id, WebhookDelivery.status == PENDING,
        WebhookDelivery.next_attempt_at <= now)).order_by(WebhookEndpoint.id)))
    db.session.commit()
    if not endpoint_ids:
        return 0
    with outbox.Round(WebhookDelivery, claim_timeout()) as this_round, \
            sending.client(app.config["WEBHOOK_TIMEOUT_SECONDS"]) as http, \
            ThreadPoolExecutor(min(len(endpoint_ids), ENDPOINTS_AT_ONCE),
                               thread_name_prefix="webhook-endpoint") as endpoints:
        served = endpoints.map(
            lambda endpoint_id: _serve_in_context(app, endpoint_id, this_round, http, box),
            endpoint_ids)
        return sum(served)


def _serve_in_context(app: Flask, endpoint_id: int, this_round: outbox.Round,
                      http: httpx.Client, box: TimeBox) -> int:
    with app.app_context():
        try:
            return _serve(db.session.get(WebhookEndpoint, endpoint_id), this_round, http, box)
        except Exception:  # noqa: BLE001 - one endpoint's trouble must not end the others'
            log.exception("webhooks: serving endpoint %s failed", endpoint_id)
            outbox.release(WebhookDelivery, this_round.token,
                           where=WebhookDelivery.endpoint_id == endpoint_id)
            return 0


def _serve(endpoint: WebhookEndpoint | None, this_round: outbox.Round, http: httpx.Client,
           box: TimeBox) -> int:
    """One endpoint's part of the round; returns how many deliveries it accepted."""
    if endpoint is None or not endpoint.active:
        return 0
    config = current_app.config
    parallel, quota = config["WEBHOOK_PARALLEL_PER_ENDPOINT"], \
        config["WEBHOOK_ROUND_PER_ENDPOINT"]
    trial = breaker.tripped(endpoint)
    if trial and not breaker.take_trial(endpoint):
        return 0
    sent = attempts = 0
    app = current_app._get_current_object()
    with ThreadPoolExecutor(parallel, thread_name_prefix=f"webhook-{endpoint.id}") as lanes:
        while attempts < quota and not box.over():
            size = 1 if trial else min(parallel, quota - attempts,
                                       breaker.attempts_left(endpoint))
            batch = this_round.claim(size, where=(WebhookDelivery.endpoint_id == endpoint.id)
                                     & in_incident_order())
            if not batch:
                if trial and not attempts:
                    breaker.give_back_trial(endpoint)
                break
            ready = [outgoing for delivery in batch
                     if (outgoing := _prepare(delivery, this_round.token)) is not None]
            outcomes = dict(zip((outgoing.delivery_id for outgoing in ready),
                                lanes.map(lambda out: sending.post(app, http, out), ready)))
            for delivery in batch:
                if delivery.id in outcomes:
                    attempts += 1
                    sent += _record(delivery, outcomes[delivery.id])
                delivery.claimed_at = delivery.claimed_by = None
                db.session.commit()
            db.session.refresh(endpoint)
            if not endpoint.active or breaker.tripped(endpoint):
                break  # switched off, or failing: the breaker decides when to try again
            trial = False  # a trial that succeeded closed the breaker
    return sent


def _prepare(delivery: WebhookDelivery, token: str) -> sending.Outgoing | None:
    """The signed request for ``delivery``, or None when it is not to be sent (taken over
    by another deliverer, or too old before its first attempt); commits."""
    if not outbox.still_ours(delivery, token):
        return None
    if delivery.attempts == 0 and utcnow() > delivery.expires_at:
        _failed(delivery, delivery.endpoint, "not sent: the endpoint was off until the "
                "delivery was too old", count=False, permanent=True)
        db.session.commit()
        return None
    headers = signing.headers(secrets_of(delivery.endpoint), delivery.webhook_id,
                              int(time.time()), delivery.payload)
    return sending.Outgoing(delivery.id, delivery.endpoint.url, headers, delivery.payload)


def _record(delivery: WebhookDelivery, outcome: sending.Outcome) -> bool:
    """Store what an attempt found, and count it in the endpoint's breaker; True when
    the receiver accepted it. The caller commits."""
    endpoint = delivery.endpoint
    delivery.attempted_at, delivery.duration_ms = outcome.attempted_at, outcome.duration_ms
    delivery.response_status, delivery.response_body = outcome.status, outcome.body
    breaker.record(endpoint, succeeded=outcome.succeeded)
    if outcome.refused:
        _failed(delivery, endpoint, outcome.error, permanent=True)
        return False
    if outcome.error is not None:
        _failed(delivery, endpoint, outcome.error)
        return False
    if outcome.succeeded:
        delivery.attempts += 1
        delivery.status, delivery.sent_at = outbox.OutboxStatus.sent.value, utcnow()
        delivery.last_error = None
        endpoint.failing_since = None
        log.info("webhook %s (%s) delivered to endpoint %s", delivery.id,
                 delivery.event_type, endpoint.id)
        return True
    error = f"the receiver answered {outcome.status}"
    if outcome.redirect:
        error += " (a redirect, not followed: give the final URL)"
    _failed(delivery, endpoint, error)
    return False


def _failed(delivery: WebhookDelivery, endpoint: WebhookEndpoint, error: str, *,
            permanent: bool = False, count: bool = True) -> None:
    now = utcnow()
    if count:
        delivery.attempts += 1
    delivery.last_error = error[:2000]
    if permanent or now >= delivery.expires_at:
        delivery.status = outbox.OutboxStatus.failed.value
        log.error("webhook %s to endpoint %s failed for good after %d attempts: %s",
                  delivery.id, endpoint.id, delivery.attempts, delivery.last_error)
    else:
        delivery.next_attempt_at = min(now + backoff(delivery.attempts), delivery.expires_at)
        log.warning("webhook %s to endpoint %s failed (attempt %d), retrying at %s: %s",
                    delivery.id, endpoint.id, delivery.attempts,
                    delivery.next_attempt_at.isoformat(), delivery.last_error)
    if count:
        endpoint.failing_since = endpoint.failing_since or now
        limit = timedelta(hours=current_app.config["WEBHOOK_GIVE_UP_HOURS"])
        if endpoint.active and now - endpoint.failing_since >= limit:
            disable(endpoint, f"every delivery failed for {_hours(limit)}; last: {error}")


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hours" if hours != 1 else "an hour"


def disable(endpoint: WebhookEndpoint, reason: str) -> None:
    """Switch a failing endpoint off and tell the admins (their mail goes through the
    outbox, in the same commit)."""
    endpoint.active = False
    endpoint.disabled_at, endpoint.disabled_reason = utcnow(), reason[:255]
    log.error("webhook endpoint %s disabled: %s", endpoint.id, reason)
    link = f"{current_app.config['PORTAL_BASE_URL']}/admin/webhooks/details/?id={endpoint.id}"
    for admin in active_admins():
        context = {"recipient": admin, "endpoint": endpoint, "reason": reason, "link": link}
        db.session.add(OutboxMessage(
            recipient=admin.email, subject=f"Webhook endpoint disabled: {endpoint}"[:255],
            text_body=render_template("email/webhook_disabled.txt", **context),
            html_body=render_template("email/webhook_disabled.html", **context),
            event_kind="webhook_disabled", incident_id=None))


def next_due_in(default: float) -> float:
    """Seconds until a delivery may be tried (``default`` when none): the next one due at
    an endpoint that may be tried, the moment a breaker half-opens, the moment a claim
    held by another worker would expire. Never 0 for a delivery that waits its turn
    behind an earlier one of its incident, or at an endpoint left alone."""
    now = utcnow()
    moments = [db.session.scalar(select(func.min(WebhookDelivery.next_attempt_at))
                                 .where(_waiting(now)))]
    moments.append(db.session.scalar(
        select(func.min(WebhookEndpoint.breaker_open_until)).where(
            WebhookEndpoint.active.is_(True), WebhookEndpoint.breaker_open_until > now,
            exists().where(WebhookDelivery.endpoint_id == WebhookEndpoint.id,
                           WebhookDelivery.status == PENDING))))
    held = db.session.scalar(select(func.min(WebhookDelivery.claimed_at)).where(
        WebhookDelivery.status == PENDING, WebhookDelivery.claimed_by.is_not(None)))
    if held is not None:
        moments.append(held + claim_timeout())
    moments = [moment for moment in moments if moment is not None]
    if not moments:
        return default
    return max(0.0, min(default, (min(moments) - now).total_seconds()))


def ready() -> bool:
    """Whether a delivery may be tried now (the worker's SQLite poll)."""
    now = utcnow()
    return db.session.scalar(select(WebhookDelivery.id).where(
        _waiting(now), WebhookDelivery.next_attempt_at <= now).limit(1)) is not None


def _round() -> float:
    deliver_due()
    return next_due_in(current_app.config["WEBHOOK_POLL_SECONDS"])


def register_job() -> None:
    """Give ``manage.py worker`` the ``webhooks`` job (registering again replaces it)."""
    register(Job(name="webhooks", interval=lambda app: app.config["WEBHOOK_POLL_SECONDS"],
                 run=_round, channel=CHANNEL, ready=ready))
