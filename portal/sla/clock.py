"""The SLA clock of one incident, derived from its history alone, so it can be recomputed
and explained line by line.

The history is read as *steps* (``Step``): a status change, a priority change, a first
response. From them:

- **first response** is due the priority's response target after creation, in the
  priority's calendar. It is met by the first public comment, ``take`` or ``start`` or a
  resolution by staff other than the reporter; the reporter's own actions never count.
  A ``take`` is an assignment whose assignee is its actor, compared by user id
  (``IncidentEvent.assignee_id``), so renaming a user leaves past clocks as they were.
- **resolution** counts the priority's calendar time while the incident is active and
  not in a paused status: those ``SLA_PAUSED_STATUSES`` lists (by default ``on_hold``;
  a list without it makes ``on_hold`` count). While paused or resolved the clock stands;
  a resume or a reopen goes on from where it stood, so ``due_at`` moves by the stopped
  business time.
- a **priority change** recomputes both targets from creation in the new priority's
  calendar; the paused and resolved spans stay uncounted.

``compute`` is pure (history, policy, now → ``Clock``), its steps the functions below it,
one rule each; ``refresh`` stores its results on the incident; the lifecycle calls it
whenever it records an event or a comment.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select

from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents.enums import (ACTIVE, STOPPED_FOR_GOOD, EventKind, Priority, SlaState,
                                   Status)
from portal.incidents.models import Comment, Incident, IncidentEvent
from portal.sla.calendar import ZERO, Calendar
from portal.sla.policy import Policy, current_policy


class Target(StrEnum):
    first_response = "first_response"
    resolution = "resolution"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


@dataclass(frozen=True)
class Step:
    """One fact of the history that moves the clock."""

    at: datetime
    status: Status | None = None        # the status from now on
    priority: Priority | None = None    # the priority from now on
    responds: bool = False              # counts as the first response


@dataclass(frozen=True)
class Threshold:
    """A moment the clock announces: the warning or the breach of a target."""

    target: Target
    kind: SlaState        # SlaState.warning or SlaState.breached
    at: datetime


@dataclass(frozen=True)
class Clock:
    """Where an incident stands against its targets, as of ``now``."""

    state: SlaState
    first_response_due_at: datetime
    first_responded_at: datetime | None
    due_at: datetime
    paused: timedelta
    #: Warnings and breaches the history has reached or will reach as it stands.
    thresholds: tuple[Threshold, ...]

    def reached(self, now: datetime) -> list[Threshold]:
        return [t for t in self.thresholds if t.at <= now]

    def next_check(self, after: datetime | None = None) -> datetime | None:
        """The first threshold (after ``after``, when given): when to look again."""
        moments = [t.at for t in self.thresholds if after is None or t.at > after]
        return min(moments, default=None)


@dataclass(frozen=True)
class Span:
    """A stretch of the history in one status."""

    start: datetime
    end: datetime | None    # None: it lasts
    status: Status


def compute(*, created_at: datetime, priority: Priority, steps: list[Step],
            policy: Policy, now: datetime) -> Clock:
    """The clock of an incident created at ``created_at`` with ``priority``, after
    ``steps`` (in order)."""
    priority = latest_priority(priority, steps)
    calendar = policy.calendar(priority)
    response_target, resolution_target = policy.response[priority], policy.resolution[priority]
    spans = status_spans(created_at, steps)
    last = spans[-1]
    responded = first_response_at(steps)
    counted = count_resolution(spans, target=resolution_target, policy=policy,
                               calendar=calendar, now=now)
    thresholds = (
        *response_thresholds(created_at, target=response_target,
                             end=response_end(responded, last), policy=policy,
                             calendar=calendar),
        *(Threshold(Target.resolution, kind, at) for kind, at in counted.reached.items()))
    return Clock(
        state=state_of(last.status, thresholds, policy=policy, now=now),
        first_response_due_at=calendar.add(created_at, response_target),
        first_responded_at=responded,
        due_at=resolution_due(last, counted, target=resolution_target, calendar=calendar),
        paused=counted.paused, thresholds=thresholds)


# --- the steps of ``compute`` ----------------------------------------------------------

def latest_priority(priority: Priority, steps: list[Step]) -> Priority:
    """The priority after ``steps``: a change recomputes both targets from creation."""
    for step in steps:
        if step.priority is not None:
            priority = step.priority
    return priority


def status_spans(created_at: datetime, steps: list[Step]) -> list[Span]:
    """The history as spans of one status each, from creation (``open``) on; the last one
    lasts."""
    spans: list[Span] = []
    status, since = Status.open, created_at
    for step in steps:
        if step.status is not None and step.status is not status:
            spans.append(Span(since, step.at, status))
            status, since = step.status, step.at
    spans.append(Span(since, None, status))
    return spans


def first_response_at(steps: list[Step]) -> datetime | None:
    """When the first step that responds was taken (None: no response yet)."""
    return next((step.at for step in steps if step.responds), None)


def counts_time(status: Status, policy: Policy) -> bool:
    """Whether the resolution clock runs in ``status``: active and not paused."""
    return status in ACTIVE and status not in policy.paused


def marks(target: timedelta, policy: Policy) -> dict[SlaState, timedelta]:
    """The counted time at which ``target`` warns and at which it is breached."""
    return {SlaState.warning: target * policy.warn_at, SlaState.breached: target}


@dataclass(frozen=True)
class Counted:
    """What the resolution clock counted over the history."""

    #: When the counted time reached the warning and the target (those it reached).
    reached: dict[SlaState, datetime]
    #: Calendar time counted in the spans that ended.
    elapsed: timedelta
    #: Calendar time spent in paused statuses, the current pause up to ``now``.
    paused: timedelta


def count_resolution(spans: list[Span], *, target: timedelta, policy: Policy,
                     calendar: Calendar, now: datetime) -> Counted:
    """Walk the spans, counting calendar time where the clock runs and noting when the
    count reaches each of ``target``'s marks; a span that lasts reaches every mark."""
    reached: dict[SlaState, datetime] = {}
    elapsed = paused = ZERO
    for span in spans:
        if span.status in policy.paused:
            paused += calendar.between(span.start, span.end or max(now, span.start))
        if not counts_time(span.status, policy):
            continue
        length = None if span.end is None else calendar.between(span.start, span.end)
        for kind, amount in marks(target, policy).items():
            if kind not in reached and (length is None or elapsed + length >= amount):
                reached[kind] = calendar.add(span.start, amount - elapsed)
        elapsed += length or ZERO
    return Counted(reached=reached, elapsed=elapsed, paused=paused)


def resolution_due(last: Span, counted: Counted, *, target: timedelta,
                   calendar: Calendar) -> datetime:
    """When the resolution target falls: where the count reaches it, else (the clock
    stands now) where it would, counting on from the moment it stopped."""
    if SlaState.breached in counted.reached:
        return counted.reached[SlaState.breached]
    return calendar.add(last.start, target - counted.elapsed)


def response_end(responded: datetime | None, last: Span) -> datetime | None:
    """When the first-response clock stopped: at the response, or at a resolution that
    came without one (None: it runs)."""
    if responded is not None:
        return responded
    return last.start if last.status in STOPPED_FOR_GOOD else None


def response_thresholds(created_at: datetime, *, target: timedelta, end: datetime | None,
                        policy: Policy, calendar: Calendar) -> list[Threshold]:
    """The first response's warning and breach that come before ``end``; this clock
    never pauses."""
    moments = {kind: calendar.add(created_at, amount)
               for kind, amount in marks(target, policy).items()}
    return [Threshold(Target.first_response, kind, at) for kind, at in moments.items()
            if end is None or at < end]


def state_of(status: Status, thresholds: tuple[Threshold, ...], *, policy: Policy,
             now: datetime) -> SlaState:
    """Where the clock stands: a breach stays; else resolved or closed is met, a paused
    status paused, a warning reached warning."""
    hit = {threshold.kind for threshold in thresholds if threshold.at <= now}
    if SlaState.breached in hit:
        return SlaState.breached
    if status in STOPPED_FOR_GOOD:
        return SlaState.met
    if status in policy.paused:
        return SlaState.paused
    return SlaState.warning if hit else SlaState.ok


# --- from the history ----------------------------------------------------------------------

def _responds_by(user, incident: Incident) -> bool:
    """Staff acting on someone else's incident respond; the reporter never does."""
    return user is not None and user.is_staff and user.id != incident.reporter_id


def _took_it(event: IncidentEvent) -> bool:
    """An assignment its actor gave themselves (``take``), by user id: names change."""
    return (event.kind is EventKind.assigned and event.actor is not None
            and event.assignee_id == event.actor.id)


def steps_of(incident: Incident, events: list[IncidentEvent],
             comments: list[Comment]) -> tuple[Priority, list[Step]]:
    """The priority the incident was created with and the steps of its history."""
    steps: list[tuple[datetime, int, Step]] = []
    first_priority: Priority | None = None
    for order, event in enumerate(events):
        priority = None
        change = (event.changes or {}).get("priority")
        if event.kind is EventKind.updated and change:
            first_priority = first_priority or Priority(change[0])
            priority = Priority(change[1])
        responds = _responds_by(event.actor, incident) and (
            event.kind in (EventKind.started, EventKind.resolved) or _took_it(event))
        status = event.to_status if event.kind not in (EventKind.sla_warning,
                                                       EventKind.sla_breached) else None
        steps.append((event.created_at, order, Step(event.created_at, status=status,
                                                    priority=priority, responds=responds)))
    for comment in comments:
        if not comment.internal and _responds_by(comment.author, incident):
            steps.append((comment.created_at, len(steps), Step(comment.created_at,
                                                               responds=True)))
    steps.sort(key=lambda item: (item[0], item[1]))
    return first_priority or incident.priority, [step for _, _, step in steps]


def _history(incident: Incident) -> tuple[list[IncidentEvent], list[Comment]]:
    """The incident's events and comments, those not yet flushed included."""
    session = db.session
    with session.no_autoflush:
        events, comments = [], []
        if incident.id is not None:
            events = list(session.scalars(
                select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
                .order_by(IncidentEvent.created_at, IncidentEvent.id)))
            comments = list(session.scalars(
                select(Comment).where(Comment.incident_id == incident.id)))
        known = set(map(id, events)) | set(map(id, comments))
        for obj in list(session.new):
            if id(obj) in known or getattr(obj, "incident", None) is not incident:
                continue
            if isinstance(obj, IncidentEvent):
                events.append(obj)
            elif isinstance(obj, Comment):
                comments.append(obj)
    events.sort(key=lambda e: (e.created_at, e.id is None, e.id or 0))
    return events, comments


def clock_of(incident: Incident, *, policy: Policy | None = None,
             now: datetime | None = None) -> Clock:
    """The clock of ``incident`` from its history (flushed or not)."""
    events, comments = _history(incident)
    priority, steps = steps_of(incident, events, comments)
    return compute(created_at=incident.created_at, priority=priority, steps=steps,
                   policy=policy or current_policy(), now=now or utcnow())


def stored_values(clock: Clock) -> dict:
    """The incident's columns that hold ``clock`` (for lists, filters and sorting).

    ``sla_next_check_at`` is the first threshold, even one already past: the worker looks
    at it then, and announces what has not been announced (``escalation``).
    """
    return {"first_response_due_at": clock.first_response_due_at,
            "first_responded_at": clock.first_responded_at, "due_at": clock.due_at,
            "sla_paused_seconds": int(clock.paused.total_seconds()),
            "sla_state": clock.state, "sla_next_check_at": clock.next_check()}


def refresh(incident: Incident, *, policy: Policy | None = None) -> Clock:
    """Recompute ``incident``'s clock from its history (under ``policy``, by default the
    current one) and store it on the incident."""
    clock = clock_of(incident, policy=policy)
    for name, value in stored_values(clock).items():
        if getattr(incident, name) != value:
            setattr(incident, name, value)
    return clock


def refresh_active(policy: Policy | None = None) -> int:
    """Recompute and store the clock of every active incident (after the calendar changed:
    a holiday added or removed); returns how many were looked at.

    Resolved and closed incidents keep their stored clocks: they were met or breached on
    the calendar of their day. One history read per incident; admins change holidays
    seldom."""
    policy = policy or current_policy()
    incidents = list(db.session.scalars(select(Incident).where(Incident.status.in_(ACTIVE))))
    for incident in incidents:
        refresh(incident, policy=policy)
    return len(incidents)
