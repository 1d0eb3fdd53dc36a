"""Durations and due times in words, one wording for every page and mail: "35 min",
"2 h 58 min", "3 days 4 h"; "due in 2 h 58 min", "overdue by 20 min", "paused"; the SLA
badge naming its target: "35 min left to respond", "2 h 10 min left to resolve",
"response breached 35 min ago", "paused", "met".

One rounding for all of them (down to the whole minute, at most two units), so a grid
row's due time beside its SLA badge, and the incident page's heading above its SLA box,
say one time one way. A paused clock is never "overdue": its ``due_at`` moves on when it
resumes. Everything reads the stored clock (``Incident``'s SLA columns) and does no SQL;
``paused_words`` reads the incident's history, which the incident page has loaded.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from portal.db_types import utcnow
from portal.display import when
from portal.incidents.enums import ACTIVE, SlaState

#: Below this a duration reads in hours ("47 h 10 min"), from it in days ("2 days 3 h").
DAYS_FROM = timedelta(hours=48)


def duration_words(span: timedelta) -> str:
    """``span`` (its length, whatever its sign) as people say it, down to the whole minute:
    "less than a minute", "35 min", "2 h 10 min", "47 h", "3 days 4 h"."""
    minutes = int(abs(span).total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    hours, minutes = divmod(minutes, 60)
    if abs(span) >= DAYS_FROM:
        days, hours = divmod(hours, 24)
        return f"{days} days {hours} h" if hours else f"{days} days"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def seconds_words(seconds: float) -> str:
    """A number of seconds as ``duration_words`` says it."""
    return duration_words(timedelta(seconds=seconds))


def due_words(incident, now: datetime | None = None) -> str:
    """Where the resolution target stands: "due in 3 h", "overdue by 2 h 9 min", "paused"
    (the clock stands, so nothing is counting down), "no longer due" (resolved, closed)."""
    if incident.status not in ACTIVE or incident.due_at is None:
        return "no longer due"
    if incident.sla_state is SlaState.paused:
        return "paused"
    left = incident.due_at - (now or utcnow())
    return f"due in {duration_words(left)}" if left >= timedelta(0) \
        else f"overdue by {duration_words(left)}"


def due_time_words(incident, *, user=None) -> str:
    """The resolution due time in ``user``'s zone (see ``display.when``); on a paused
    clock, that it moves on by the pause: "23 Nov 2026, 17:00 UTC plus the time it stays
    paused"."""
    moment = when(incident.due_at, user=user)
    if incident.sla_state is SlaState.paused and incident.due_at is not None:
        return f"{moment} plus the time it stays paused"
    return moment


def paused_since(incident) -> datetime | None:
    """When ``incident`` entered the status it is in (the start of a pause), from its
    history; None when the history does not say."""
    for event in reversed(incident.events):
        if event.to_status is incident.status and event.from_status is not incident.status:
            return event.created_at
    return None


def paused_words(incident, *, user=None) -> str:
    """How long the resolution clock has stood: "never", "2 h"; on a paused clock, since
    when, and what the stored figure counted up to the incident's last change."""
    counted = incident.sla_paused_seconds
    if incident.sla_state is not SlaState.paused:
        return seconds_words(counted) if counted else "never"
    since = paused_since(incident)
    words = f"now, since {when(since, user=user)}" if since is not None else "now"
    return f"{words} ({seconds_words(counted)} counted up to its last change)" if counted \
        else words


RESPONSE, RESOLUTION = "response", "resolution"


def next_due(incident) -> tuple[datetime, str] | None:
    """The target that comes first, and which it is: the first response while none was
    made, else the resolution."""
    dues = [(incident.due_at, RESOLUTION)]
    if incident.first_responded_at is None and incident.first_response_due_at is not None:
        dues.append((incident.first_response_due_at, RESPONSE))
    return min(((due, which) for due, which in dues if due is not None), default=None)


def breached_at(incident, now: datetime) -> tuple[datetime, str] | None:
    """When the first of ``incident``'s targets was missed, and which (None if none is
    past)."""
    moments = []
    response_due, responded = incident.first_response_due_at, incident.first_responded_at
    if response_due is not None and response_due <= now and (
            responded is None or responded > response_due):
        moments.append((response_due, RESPONSE))
    if incident.due_at is not None and incident.due_at <= now:
        moments.append((incident.due_at, RESOLUTION))
    return min(moments, default=None)


#: What is left to do before each target.
TO_DO = {RESPONSE: "to respond", RESOLUTION: "to resolve"}


def sla_words(incident, now: datetime | None = None) -> str:
    """Where ``incident`` stands against its SLA, in a few words."""
    now = now or utcnow()
    state = incident.sla_state
    if state is SlaState.paused:
        return "paused"
    if state is SlaState.met:
        return "met"
    missed = breached_at(incident, now)
    if missed is not None:
        moment, which = missed
        return f"{which} breached {duration_words(now - moment)} ago"
    if state is SlaState.breached:
        return "breached"
    due = next_due(incident)
    if due is None:
        return state.label
    moment, which = due
    return f"{duration_words(moment - now)} left {TO_DO[which]}"


def init_app(app) -> None:
    """Let every template say it the same way."""
    app.jinja_env.filters.update(due_words=due_words)
    app.jinja_env.globals.update(sla_words=sla_words, sla_duration=seconds_words,
                                 sla_due=due_time_words, sla_paused=paused_words)
