"""Session hooks that write a ``WebhookDelivery`` per event and endpoint, in the
transaction of the change (the outbox pattern of ``portal.notifications.hooks``):

- ``after_flush`` notes the new history entries that are webhook events and the new
  comments; ``before_flush`` keeps a copy of each incident being deleted (once flushed it
  is gone, and ``incident.deleted`` carries it as it was);
- ``before_commit`` flushes what is pending, then writes the deliveries, which the same
  commit stores: each body holds the incident as it stands when the change commits. On
  PostgreSQL it also sends ``NOTIFY webhook_deliveries``, delivered to the workers when
  (and only if) the transaction commits;
- ``after_rollback`` forgets everything: a rolled-back change sends nothing.

An endpoint receives an event only when its admin may see the incident (``can_see``) and,
for comments, read the comment (``can_read_comment``; internal ones only to endpoints
marked internal).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db_types import utcnow
from portal.incidents.access import can_read_comment, can_see
from portal.incidents.enums import EventKind
from portal.incidents.history import listen_once, note_written
from portal.incidents.models import Comment, Incident
from portal.outbox import notify_workers
from portal.webhooks import payloads
from portal.webhooks.events import BY_KIND, COMMENT_CREATED
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint, new_event_id

SLA_KINDS = {EventKind.sla_warning, EventKind.sla_breached}
PENDING = "webhooks.pending"
DELETED = "webhooks.deleted"
#: The PostgreSQL channel that wakes the workers' webhook job.
CHANNEL = "webhook_deliveries"


def _keep_deleted(session: Session, _context, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, Incident):
            with session.no_autoflush:
                session.info.setdefault(DELETED, []).append(
                    (obj, {internal: payloads.incident_json(obj, internal=internal)
                           for internal in (False, True)}))


def _collect(session: Session, _context) -> None:
    note_written(session, PENDING, BY_KIND)


def _write_deliveries(session: Session) -> None:
    if not session.info.get(PENDING):
        return
    session.flush()  # history written since the last flush joins the list first
    written = session.info.pop(PENDING, [])
    deleted = session.info.pop(DELETED, [])
    with session.no_autoflush:
        endpoints = list(session.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.active.is_(True)).order_by(WebhookEndpoint.id)))
        added = 0
        for item in sorted(written, key=lambda obj: (obj.created_at, obj.id)):
            added += _fan_out(session, item, endpoints, deleted)
        if added:
            notify_workers(session, CHANNEL)


def _fan_out(session: Session, item, endpoints: list[WebhookEndpoint], deleted) -> int:
    """Add the deliveries of one history entry or comment; return how many."""
    comment = item if isinstance(item, Comment) else None
    incident, snapshot = item.incident, None
    if comment is not None:
        event_type = COMMENT_CREATED
    else:
        event_type = BY_KIND[item.kind]
        if item.kind is EventKind.deleted:
            if not deleted:
                return 0
            incident, snapshot = deleted.pop(0)
    wanting = [endpoint for endpoint in endpoints
               if endpoint.wants(event_type) and _may_know(endpoint, incident, item)]
    if not wanting:
        return 0
    if comment is None and item.kind in SLA_KINDS:
        # The SLA check stores its results with a plain UPDATE: read them back.
        session.refresh(incident)
    event_id, moment, bodies = new_event_id(), item.created_at or utcnow(), {}
    for endpoint in wanting:
        internal = bool(endpoint.internal and endpoint.created_by.is_staff)
        if internal not in bodies:
            shown = snapshot[internal] if snapshot else payloads.incident_json(
                incident, internal=internal)
            bodies[internal] = payloads.body(event_id, event_type, moment, shown,
                                             event=None if comment else item,
                                             comment=comment)
        session.add(WebhookDelivery(endpoint_id=endpoint.id, event_type=event_type,
                                    event_id=event_id, payload=bodies[internal],
                                    incident_id=incident.id))
    return len(wanting)


def _may_know(endpoint: WebhookEndpoint, incident: Incident, item) -> bool:
    owner = endpoint.created_by
    if owner is None or not can_see(owner, incident):
        return False
    if isinstance(item, Comment):
        return can_read_comment(owner, item) and (not item.internal or endpoint.internal)
    return True


def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(DELETED, None)


def register() -> None:
    """Watch ``db.session`` with these hooks (idempotent; ``create_app`` calls it)."""
    listen_once({"before_flush": _keep_deleted, "after_flush": _collect,
                 "before_commit": _write_deliveries, "after_commit": _forget,
                 "after_rollback": _forget})
