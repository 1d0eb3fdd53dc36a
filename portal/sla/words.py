"""The SLA badge in words, naming the target: "35 min left to respond", "2 h 10 min left
to resolve", "response breached 35 min ago", "paused", "met".

One function for every page (grids, incident page, dashboard) so they read the same; it
reads the stored clock (``Incident``'s SLA columns) and does no SQL.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from portal.db_types import utcnow
from portal.incidents.enums import SlaState


def duration_words(span: timedelta) -> str:
    """``span`` as people say it: "35 min", "2 h 10 min", "3 d 4 h"."""
    minutes = int(abs(span).total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


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


def seconds_words(seconds: int) -> str:
    """A number of seconds as ``duration_words`` says it."""
    return duration_words(timedelta(seconds=seconds))


def init_app(app) -> None:
    """Let every template say it the same way."""
    app.jinja_env.globals.update(sla_words=sla_words, sla_duration=seconds_words)
