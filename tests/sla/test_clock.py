"""The clock over sequences of lifecycle actions, time moved with time-machine.

Every incident is created on Monday 23 November 2026 at 09:00 UTC under the default
policy: business hours Monday-Friday 08:00-18:00 UTC, critical around the clock; high
is 2 h to first response and 8 h to resolution, critical 30 min and 4 h.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from portal.incidents import lifecycle
from portal.incidents.enums import SlaState, Status
from portal.sla.clock import Target, Threshold, clock_of, state_of
from portal.sla.policy import build

MONDAY = datetime(2026, 11, 23, tzinfo=timezone.utc)


def at(text: str) -> datetime:
    """``"09:10"`` on Monday, ``"tue 10:00"`` on a later day of that week."""
    day, _, clock = text.rpartition(" ")
    offset = ("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(day or "mon")
    hours, minutes = map(int, clock.split(":"))
    return MONDAY + timedelta(days=offset, hours=hours, minutes=minutes)


def play(steps, *, priority, cast, db, created="09:00"):
    """Create the incident at ``created`` and take ``steps``: (when, what)."""
    with time_machine.travel(at(created), tick=False):
        incident = lifecycle.create(actor=cast["reporter"], title="VPN drops",
                                    description="every 10 minutes", priority=priority)
        db.session.commit()
    for when, what in steps:
        with time_machine.travel(at(when), tick=False):
            name, _, value = what.partition(":")
            if name == "take":
                lifecycle.take(incident, actor=cast["technician"])
            elif name == "comment":   # comment:<who>[:internal]
                who, _, internal = value.partition(":")
                lifecycle.comment(incident, actor=cast[who], body="Looking at it",
                                  internal=internal == "internal")
            elif name == "priority":
                lifecycle.update(incident, actor=cast["admin"], priority=value)
            elif name == "resolve":
                lifecycle.resolve(incident, actor=cast["technician"], resolution_notes="fixed")
            elif name == "reopen":
                lifecycle.reopen(incident, actor=cast["reporter"])
            else:
                getattr(lifecycle, name)(incident, actor=cast["technician"])
            db.session.commit()
    return incident


@pytest.fixture
def cast(admin, technician, reporter):
    return {"admin": admin, "technician": technician, "reporter": reporter}


CASES = {
    # name: (priority, steps, looked at, state, due_at, first response, paused)
    "one hold moves due_at by the held business time": (
        "high", [("09:10", "take"), ("09:20", "start"), ("10:00", "hold"),
                 ("12:00", "resume")],
        "12:00", SlaState.ok, "tue 09:00", "09:10", 2 * 3600),
    "several holds add up": (
        "high", [("09:10", "take"), ("09:20", "start"), ("10:00", "hold"), ("11:00", "resume"),
                 ("13:00", "hold"), ("14:30", "resume")],
        "14:30", SlaState.ok, "tue 09:30", "09:10", int(2.5 * 3600)),
    "on hold the clock stands and says paused": (
        "high", [("09:10", "take"), ("09:20", "start"), ("10:00", "hold")],
        "17:30", SlaState.paused, "17:00", "09:10", int(7.5 * 3600)),
    "a hold over the night counts only business time": (
        "high", [("09:10", "take"), ("09:20", "start"), ("15:00", "hold"),
                 ("tue 09:00", "resume")],
        "tue 09:30", SlaState.warning, "tue 11:00", "09:10", 4 * 3600),
    "reopen goes on from where resolve left it": (
        "high", [("09:10", "take"), ("09:20", "start"), ("11:00", "resolve"),
                 ("tue 10:00", "reopen")],
        "tue 10:00", SlaState.ok, "tue 16:00", "09:10", 0),
    "resolved in time is met": (
        "high", [("09:10", "take"), ("09:20", "start"), ("11:00", "resolve")],
        "wed 12:00", SlaState.met, "17:00", "09:10", 0),
    "a priority change during a hold recomputes from creation and keeps the pause": (
        "high", [("09:10", "take"), ("09:20", "start"), ("10:00", "hold"),
                 ("11:00", "priority:critical"), ("12:00", "resume")],
        "12:00", SlaState.ok, "15:00", "09:10", 2 * 3600),
    "a public staff comment is the first response": (
        "high", [("09:45", "comment:technician")],
        "10:00", SlaState.ok, "17:00", "09:45", 0),
    "an internal comment is no response": (
        "high", [("09:45", "comment:technician:internal")],
        "11:30", SlaState.breached, "17:00", None, 0),
    "the reporter's own comment is no response": (
        "high", [("09:45", "comment:reporter")],
        "11:30", SlaState.breached, "17:00", None, 0),
    "start is the first response": (
        "high", [("09:05", "take"), ("10:30", "start")],
        "10:30", SlaState.ok, "17:00", "09:05", 0),
    "nearing the first-response target warns": (
        "high", [], "10:40", SlaState.warning, "17:00", None, 0),
    "critical runs around the clock": (
        "critical", [("09:10", "take")], "12:30", SlaState.warning, "13:00", "09:10", 0),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_the_clock_over_a_history(case, cast, db):
    priority, steps, looked_at, state, due, responded, paused = CASES[case]
    incident = play(steps, priority=priority, cast=cast, db=db)
    clock = clock_of(incident, now=at(looked_at))
    assert (clock.state, clock.due_at, clock.first_responded_at,
            int(clock.paused.total_seconds())) == (
        state, at(due), at(responded) if responded else None, paused)
    # What the lifecycle stored at the last change is the same clock, as of then.
    assert incident.due_at == clock.due_at
    assert incident.first_responded_at == clock.first_responded_at


def test_business_hours_priorities_wait_for_monday_and_critical_does_not(cast, db):
    """Created on Friday 17:00: critical is due at 21:00, high on Monday at 15:00."""
    critical = play([], priority="critical", cast=cast, db=db, created="fri 17:00")
    high = play([], priority="high", cast=cast, db=db, created="fri 17:00")
    assert critical.due_at == at("fri 21:00")
    assert high.due_at == MONDAY + timedelta(days=7, hours=15)
    assert high.first_response_due_at == MONDAY + timedelta(days=7, hours=9)


def test_renaming_the_technician_leaves_a_past_take_as_the_first_response(cast, db):
    """The take at 09:10 answered the incident; renaming its technician afterwards (and
    any later change recomputing the clock) must not take that response back."""
    from portal.auth.accounts import update_account

    incident = play([("09:10", "take")], priority="high", cast=cast, db=db)
    update_account(cast["technician"], actor=cast["admin"], username="renamedtech")
    db.session.commit()
    with time_machine.travel(at("10:00"), tick=False):
        lifecycle.comment(incident, actor=cast["reporter"], body="Any news?")
        db.session.commit()
    assert incident.first_responded_at == at("09:10")
    assert clock_of(incident, now=at("12:00")).state is SlaState.ok


def _threshold(kind: SlaState, minutes: int) -> Threshold:
    return Threshold(Target.resolution, kind, MONDAY + timedelta(minutes=minutes))


@pytest.mark.parametrize("status,reached,state", [
    # (status now, (kind, minutes after Monday 00:00) of the thresholds, state at 01:00)
    ("in_progress", [], SlaState.ok),
    ("in_progress", [(SlaState.warning, 30)], SlaState.warning),
    ("in_progress", [(SlaState.warning, 90)], SlaState.ok),
    ("in_progress", [(SlaState.warning, 30), (SlaState.breached, 50)], SlaState.breached),
    ("on_hold", [(SlaState.warning, 30)], SlaState.paused),
    ("on_hold", [(SlaState.breached, 30)], SlaState.breached),
    ("resolved", [(SlaState.warning, 30)], SlaState.met),
    ("closed", [(SlaState.breached, 30)], SlaState.breached),
])
def test_the_state_a_breach_stays_then_done_paused_warned(app, status, reached, state):
    thresholds = tuple(_threshold(kind, minutes) for kind, minutes in reached)
    assert state_of(Status(status), thresholds, policy=build(app.config),
                    now=MONDAY + timedelta(hours=1)) is state
