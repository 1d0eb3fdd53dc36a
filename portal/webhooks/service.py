"""What admins do to webhook endpoints, for the portal and the API alike: register one
(its secret shown once), change it, rotate its secret, send a test event, send a delivery
again. Each function checks its input and raises ``WebhookRefused`` naming the field;
the caller commits.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Iterable

from portal.auth.models import User
from portal.db_types import utcnow
from portal.extensions import db
from portal.outbox import OutboxStatus
from portal.refusals import Refused
from portal.webhooks import addresses, breaker, payloads, signing
from portal.webhooks.events import EVENT_TYPES, TEST
from portal.webhooks.models import (DESCRIPTION_MAX, WebhookDelivery, WebhookEndpoint,
                                    give_up_at, new_event_id)

#: How long the previous secret keeps signing after a rotation.
OVERLAP = timedelta(hours=24)


class WebhookRefused(Refused, http_status=422):
    """A webhook change is refused; ``field`` names the culprit (422, 403 for a
    non-admin)."""


def ensure_admin(actor: User) -> None:
    if not actor.is_admin:
        raise WebhookRefused("only admins manage webhooks", http_status=403)


def _url(value) -> str:
    try:
        addresses.resolve(value)
    except addresses.AddressRefused as exc:
        raise WebhookRefused(str(exc), field="url") from None
    return value.strip()


def _events(values: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(values or []))
    unknown = [value for value in wanted if value not in EVENT_TYPES]
    if unknown:
        raise WebhookRefused(f"unknown event type {unknown[0]!r}; the types are "
                             + ", ".join(EVENT_TYPES), field="events")
    if not wanted:
        raise WebhookRefused("choose at least one event type", field="events")
    return [event for event in EVENT_TYPES if event in wanted]


def _description(value) -> str:
    value = (value or "").strip()
    if len(value) > DESCRIPTION_MAX:
        raise WebhookRefused(f"at most {DESCRIPTION_MAX} characters", field="description")
    return value


def create(actor: User, *, url: str, events: Iterable[str], description: str = "",
           active: bool = True, internal: bool = False) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its secret (shown once, stored sealed)."""
    ensure_admin(actor)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(url=_url(url), events=_events(events),
                               description=_description(description), active=bool(active),
                               internal=bool(internal), secret_sealed=signing.seal(secret),
                               created_by=actor)
    db.session.add(endpoint)
    db.session.flush()
    return endpoint, secret


def update(actor: User, endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    """Change an endpoint's url, events, description, active or internal. Switching it on
    again forgets why it was switched off, and its waiting deliveries go; so does a new URL
    (both close its circuit breaker)."""
    ensure_admin(actor)
    if "url" in changes:
        url = _url(changes["url"])
        if url != endpoint.url:
            breaker.reset(endpoint)
        endpoint.url = url
    if "events" in changes:
        endpoint.events = _events(changes["events"])
    if "description" in changes:
        endpoint.description = _description(changes["description"])
    if "internal" in changes:
        endpoint.internal = bool(changes["internal"])
    if "active" in changes:
        if changes["active"] and not endpoint.active:
            endpoint.disabled_at = endpoint.disabled_reason = endpoint.failing_since = None
            breaker.reset(endpoint)
        endpoint.active = bool(changes["active"])
    db.session.flush()
    return endpoint


def rotate_secret(actor: User, endpoint: WebhookEndpoint) -> str:
    """A new secret; the current one keeps signing (as a second signature) for a day."""
    ensure_admin(actor)
    secret = signing.new_secret()
    endpoint.previous_secret_sealed = endpoint.secret_sealed
    endpoint.previous_secret_until = utcnow() + OVERLAP
    endpoint.secret_sealed = signing.seal(secret)
    db.session.flush()
    return secret


def send_test(actor: User, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``webhook.test`` event for ``endpoint`` (it must be on)."""
    ensure_admin(actor)
    if not endpoint.active:
        raise WebhookRefused("switch the endpoint on first: a test goes through the same "
                             "delivery as real events", field="active")
    event_id, now = new_event_id(), utcnow()
    delivery = WebhookDelivery(
        endpoint=endpoint, event_type=TEST, event_id=event_id, incident_id=None,
        payload=payloads.body(event_id, TEST, now, None, extra={
            "message": f"A test event from Incident Portal, sent by {actor.username}."}))
    db.session.add(delivery)
    db.session.flush()
    return delivery


def redeliver(actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again: same body and ``webhook-id`` (receivers that saw it drop
    it), a fresh day of retries."""
    ensure_admin(actor)
    if delivery.status == OutboxStatus.pending.value and delivery.claimed_at is not None:
        raise WebhookRefused("it is being sent right now", field="delivery")
    delivery.status = OutboxStatus.pending.value
    delivery.attempts, delivery.last_error = 0, None
    delivery.next_attempt_at, delivery.expires_at = utcnow(), give_up_at()
    db.session.flush()
    return delivery


def delete(actor: User, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its delivery log."""
    ensure_admin(actor)
    db.session.delete(endpoint)
    db.session.flush()
