"""Warnings and breaches, announced once: the worker's ``sla`` job and ``sla-check``.

Each round takes the incidents whose ``sla_next_check_at`` has come, recomputes their
clocks from the history, and for every threshold reached claims its ``SlaAlert`` row
(``INSERT ... ON CONFLICT DO NOTHING`` on the unique incident/target/kind): only the
transaction whose insert went in writes the ``sla_warning`` or ``sla_breached`` event,
and the notification hooks turn that event into outbox mail in the same commit. Two
workers at the same moment therefore announce each threshold once, and a breach found
while SMTP is down waits in the outbox like every other message.

A warning first found after its breach is claimed without an event: nobody needs to be
told a target is near once it has been missed.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents.enums import EventKind, SlaState
from portal.incidents.models import Incident, IncidentEvent
from portal.sla.clock import Clock, Threshold, clock_of, stored_values
from portal.sla.models import SlaAlert
from portal.sla.policy import current_policy
from portal.sla.words import duration_words
from portal.worker import Job, register

log = logging.getLogger(__name__)
#: Incidents looked at per transaction round (the next round takes the rest).
BATCH = 200


def _claim(incident_id: int, threshold: Threshold) -> bool:
    """Whether this transaction is the one that announces ``threshold``."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(SlaAlert).values(
        incident_id=incident_id, target=threshold.target.value, kind=threshold.kind.value,
        created_at=utcnow()).on_conflict_do_nothing(
        index_elements=["incident_id", "target", "kind"]).returning(SlaAlert.id)
    # A row comes back only when this insert went in (rowcount is not reliable for
    # ORM-enabled inserts on every driver).
    return db.session.execute(statement).scalar() is not None


def _announce(incident: Incident, threshold: Threshold, now: datetime) -> None:
    if threshold.kind is SlaState.breached:
        kind = EventKind.sla_breached
        note = f"{threshold.target.label} target missed by {duration_words(now - threshold.at)}"
    else:
        kind = EventKind.sla_warning
        note = f"{threshold.target.label} target reached {duration_words(now - threshold.at)} ago"
    db.session.add(IncidentEvent(
        incident=incident, actor=None, kind=kind, from_status=incident.status,
        to_status=incident.status, created_at=now, note=note,
        changes={"target": threshold.target.value, "due_at": threshold.at.isoformat(),
                 "late_seconds": int((now - threshold.at).total_seconds())}))


def check_incident(incident: Incident, clock: Clock, now: datetime) -> int:
    """Announce what ``clock`` has reached and store it; return how many were announced."""
    announced = 0
    reached = clock.reached(now)
    breached = {t.target for t in reached if t.kind is SlaState.breached}
    for threshold in sorted(reached, key=lambda t: t.kind is SlaState.warning):
        if not _claim(incident.id, threshold):
            continue
        if threshold.kind is SlaState.warning and threshold.target in breached:
            continue
        _announce(incident, threshold, now)
        announced += 1
    values = stored_values(clock)
    values["sla_next_check_at"] = clock.next_check(after=now)
    # The stored clock is derived, not a user's change: a plain UPDATE, which leaves the
    # incident's version (and so its ETag and anyone's If-Match) as it was.
    db.session.execute(update(Incident).where(Incident.id == incident.id).values(**values)
                       .execution_options(synchronize_session=False))
    return announced


def check(now: datetime | None = None) -> int:
    """One round over the incidents whose clocks are due; commits per incident and
    returns how many warnings and breaches were announced."""
    now = now or utcnow()
    policy = current_policy()
    due = list(db.session.scalars(
        select(Incident.id).where(Incident.sla_next_check_at <= now)
        .order_by(Incident.sla_next_check_at).limit(BATCH)))
    db.session.rollback()
    announced = 0
    for incident_id in due:
        incident = db.session.get(Incident, incident_id)
        if incident is None:
            continue
        announced += check_incident(incident, clock_of(incident, policy=policy, now=now), now)
        db.session.commit()
    if announced:
        log.info("sla: %d warning(s) and breach(es) announced", announced)
    return announced


def register_job() -> None:
    """Give ``manage.py worker`` the ``sla`` job (registering again replaces it)."""
    register(Job(name="sla", interval=lambda app: app.config["SLA_CHECK_SECONDS"],
                 run=lambda: (check(), None)[1]))
