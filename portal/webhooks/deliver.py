"""Sending webhook deliveries: the worker's ``webhooks`` job (``manage.py worker``).

Rows are claimed through ``portal.outbox`` (one deliverer per row however many workers
run), sent with httpx to the address ``addresses.resolve`` checked, signed at each attempt
(``signing``), with ``WEBHOOK_TIMEOUT_SECONDS`` (10 s) for the whole request and no
redirects followed. A 2xx answer is success; anything else, a timeout or a refused
connection is retried with exponential backoff and jitter
(``WEBHOOK_RETRY_BASE_SECONDS`` doubling up to ``WEBHOOK_RETRY_MAX_SECONDS``) until the
delivery is ``WEBHOOK_GIVE_UP_HOURS`` (24) old, then it is ``failed``. An address that is
refused fails at once (retrying cannot help). Delivery is at-least-once: the
``webhook-id`` header is the same on every attempt, for receivers to drop duplicates.

An endpoint whose deliveries have all failed for ``WEBHOOK_GIVE_UP_HOURS`` is disabled and
the admins are mailed; its waiting deliveries stay, and go when an admin enables it again
(those still within their day). Events while an endpoint is off are not queued for it.
"""
from __future__ import annotations

import logging
import random
import time
from datetime import timedelta

import httpx
from flask import current_app, render_template
from sqlalchemy import func, select

from portal import outbox
from portal.db_types import utcnow
from portal.extensions import db
from portal.notifications.compose import active_admins
from portal.notifications.models import OutboxMessage
from portal.webhooks import addresses, signing
from portal.webhooks.hooks import CHANNEL
from portal.webhooks.models import RESPONSE_KEPT, WebhookDelivery, WebhookEndpoint
from portal.worker import Job, register

log = logging.getLogger(__name__)
#: Deliveries claimed at a time (each may take up to the timeout).
BATCH = 10
USER_AGENT = "IncidentPortal-Webhooks/1.0"


def claim_timeout() -> timedelta:
    return timedelta(seconds=current_app.config["WEBHOOK_CLAIM_TIMEOUT_SECONDS"])


def backoff(attempts: int) -> timedelta:
    """Exponential, capped, with "equal jitter": half the delay fixed, half random, so
    endpoints that failed together do not all come back at the same second."""
    config = current_app.config
    delay = min(config["WEBHOOK_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0),
                config["WEBHOOK_RETRY_MAX_SECONDS"])
    return timedelta(seconds=delay / 2 + random.uniform(0, delay / 2))


def _active_endpoints():
    return select(WebhookEndpoint.id).where(WebhookEndpoint.active.is_(True))


def secrets_of(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets to sign with: the current one, and the previous one during its day."""
    valid = [signing.unseal(endpoint.secret_sealed)]
    if endpoint.previous_secret_sealed and endpoint.previous_secret_until \
            and endpoint.previous_secret_until > utcnow():
        valid.append(signing.unseal(endpoint.previous_secret_sealed))
    return valid


def deliver_due() -> int:
    """Send what is due now; returns how many were accepted. Needs an app context.

    Each delivery is tried at most once per call (``outbox.Round``).
    """
    sent = 0
    timeout = current_app.config["WEBHOOK_TIMEOUT_SECONDS"]
    with outbox.Round(WebhookDelivery, claim_timeout()) as this_round, \
            httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        while batch := this_round.claim(
                BATCH, where=WebhookDelivery.endpoint_id.in_(_active_endpoints())):
            for delivery in batch:
                if not outbox.still_ours(delivery, this_round.token):
                    continue
                if attempt(delivery, client):
                    sent += 1
                delivery.claimed_at = delivery.claimed_by = None
                db.session.commit()
    return sent


def _read_some(response: httpx.Response) -> str:
    """The first KB of the answer (a receiver cannot make us read more)."""
    kept = b""
    for chunk in response.iter_raw():
        kept += chunk
        if len(kept) >= RESPONSE_KEPT:
            break
    return kept[:RESPONSE_KEPT].decode("utf-8", errors="replace")


def attempt(delivery: WebhookDelivery, client: httpx.Client) -> bool:
    """One attempt at ``delivery``; True when the receiver answered 2xx. The caller
    commits."""
    endpoint, now = delivery.endpoint, utcnow()
    if delivery.attempts == 0 and now > delivery.expires_at:
        _failed(delivery, endpoint, "not sent: the endpoint was off until the delivery was "
                                    "too old", count=False, permanent=True)
        return False
    try:
        target = addresses.resolve(endpoint.url)
    except addresses.AddressRefused as exc:
        _failed(delivery, endpoint, f"refused: {exc}", permanent=True)
        return False
    headers = {**signing.headers(secrets_of(endpoint), delivery.webhook_id,
                                 int(time.time()), delivery.payload),
               "content-type": "application/json", "user-agent": USER_AGENT,
               "host": target.host_header}
    extensions = {"sni_hostname": target.host} if target.url.startswith("https:") else {}
    started = time.monotonic()
    delivery.attempted_at = now
    try:
        with client.stream("POST", target.url, content=delivery.payload.encode(),
                           headers=headers, extensions=extensions) as response:
            delivery.response_status = response.status_code
            delivery.response_body = _read_some(response)
    except httpx.HTTPError as exc:
        delivery.duration_ms = round((time.monotonic() - started) * 1000)
        delivery.response_status, delivery.response_body = None, None
        _failed(delivery, endpoint, f"{type(exc).__name__}: {exc}"[:500])
        return False
    delivery.duration_ms = round((time.monotonic() - started) * 1000)
    if 200 <= response.status_code < 300:
        delivery.attempts += 1
        delivery.status, delivery.sent_at = outbox.OutboxStatus.sent.value, utcnow()
        delivery.last_error = None
        endpoint.failing_since = None
        log.info("webhook %s (%s) delivered to endpoint %s", delivery.id,
                 delivery.event_type, endpoint.id)
        return True
    error = f"the receiver answered {response.status_code}"
    if response.is_redirect:
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
    """Seconds until a delivery of an active endpoint is due (``default`` when none)."""
    soonest = db.session.scalar(select(func.min(WebhookDelivery.next_attempt_at)).where(
        WebhookDelivery.status == outbox.OutboxStatus.pending.value,
        WebhookDelivery.claimed_at.is_(None),
        WebhookDelivery.endpoint_id.in_(_active_endpoints())))
    if soonest is None:
        return default
    return max(0.0, min(default, (soonest - utcnow()).total_seconds()))


def _round() -> float:
    deliver_due()
    return next_due_in(current_app.config["WEBHOOK_POLL_SECONDS"])


def register_job() -> None:
    """Give ``manage.py worker`` the ``webhooks`` job (registering again replaces it)."""
    register(Job(name="webhooks", interval=lambda app: app.config["WEBHOOK_POLL_SECONDS"],
                 run=_round, channel=CHANNEL,
                 ready=lambda: outbox.ready(WebhookDelivery)))
