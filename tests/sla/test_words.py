"""Durations and due times in words (``portal.sla.words``): one rounding for every page,
a paused clock never overdue, and the SLA box of an incident on hold that says so in
every row (against the hand-counted world of ``conftest.world``)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from portal.incidents.enums import Priority, SlaState, Status
from portal.incidents.models import Incident
from portal.sla.words import due_words, duration_words, sla_words
from tests.clients import log_in
from tests.sla.helpers import MONDAY

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("span,words", [
    (timedelta(0), "less than a minute"),
    (timedelta(seconds=59), "less than a minute"),
    (timedelta(minutes=1), "1 min"),
    (timedelta(minutes=35, seconds=59), "35 min"),
    (timedelta(hours=2), "2 h"),
    (timedelta(hours=2, minutes=58, seconds=59), "2 h 58 min"),
    (timedelta(hours=24), "24 h"),
    (timedelta(hours=47, minutes=59, seconds=59), "47 h 59 min"),
    (timedelta(hours=48), "2 days"),
    (timedelta(hours=50, minutes=30), "2 days 2 h"),
    (timedelta(days=7), "7 days"),
    (-timedelta(hours=2, minutes=9, seconds=30), "2 h 9 min"),
])
def test_a_duration_reads_down_to_the_whole_minute_in_at_most_two_units(span, words):
    assert duration_words(span) == words


def incident(*, status=Status.in_progress, state=SlaState.ok, due_in=None, response_in=None,
             responded=True) -> Incident:
    """An incident with a stored clock, seen at ``NOW``: ``due_in`` (and ``response_in``)
    from then."""
    return Incident(
        status=status, priority=Priority.high, sla_state=state,
        due_at=None if due_in is None else NOW + due_in,
        first_response_due_at=None if response_in is None else NOW + response_in,
        first_responded_at=NOW - timedelta(hours=1) if responded else None)


@pytest.mark.parametrize("case,due,sla", [
    # A paused clock stands: its stored due_at passing means nothing until it resumes.
    (incident(status=Status.on_hold, state=SlaState.paused, due_in=-timedelta(hours=2)),
     "paused", "paused"),
    (incident(state=SlaState.breached, due_in=-timedelta(hours=2, minutes=10)),
     "overdue by 2 h 10 min", "resolution breached 2 h 10 min ago"),
    (incident(state=SlaState.warning, due_in=timedelta(minutes=20, seconds=30)),
     "due in 20 min", "20 min left to resolve"),
    # The rounding edge: the same 2 h 58 min in the due column and in the badge.
    (incident(due_in=timedelta(hours=2, minutes=58, seconds=30)),
     "due in 2 h 58 min", "2 h 58 min left to resolve"),
    (incident(due_in=timedelta(days=3, hours=4, minutes=59)),
     "due in 3 days 4 h", "3 days 4 h left to resolve"),
    (incident(due_in=timedelta(hours=7), response_in=timedelta(minutes=45), responded=False),
     "due in 7 h", "45 min left to respond"),
    (incident(status=Status.resolved, state=SlaState.met, due_in=-timedelta(hours=5)),
     "no longer due", "met"),
], ids=["paused", "overdue", "due soon", "2 h 58 min", "days", "response first", "resolved"])
def test_due_words_and_the_sla_badge_read_alike(case, due, sla):
    assert (due_words(case, NOW), sla_words(case, NOW)) == (due, sla)


def row_of(page: str, number: str) -> str:
    start = page.index(f">{number}<")
    return page[start:page.index("</tr>", start)]


def test_a_grid_row_and_the_incident_page_say_one_time_one_way(client, world):
    """``started`` is due at 17:00; at 14:01:30 that is 2 h 58 min 30 s away."""
    with time_machine.travel(MONDAY.replace(hour=14, minute=1, second=30), tick=False):
        log_in(client, world["people"]["admin"])
        grid = client.get("/admin/incidents/").get_data(as_text=True)
        page = client.get(f"/admin/incidents/details/?id={world['started'].id}") \
            .get_data(as_text=True)
    row = row_of(grid, world["started"].number)
    assert ">due in 2 h 58 min</span>" in row
    assert ">2 h 58 min left to resolve</span>" in row
    assert ">Due in 2 h 58 min</span>" in page
    assert ">2 h 58 min left to resolve</span>" in page


def test_an_incident_on_hold_reads_paused_everywhere_never_overdue(client, world):
    """``held`` was put on hold at 09:30 with 7 h 30 min to go, so its stored due_at
    (17:00) has passed at 17:30: still it is paused, not overdue."""
    with time_machine.travel(MONDAY.replace(hour=17, minute=30), tick=False):
        log_in(client, world["people"]["admin"])
        grid = client.get("/admin/incidents/").get_data(as_text=True)
        page = client.get(f"/admin/incidents/details/?id={world['held'].id}") \
            .get_data(as_text=True)
    row = row_of(grid, world["held"].number)
    assert re.search(r"<span[^>]*>paused</span>", row) and "overdue" not in row
    header = page[page.index('class="incident-facts'):]
    header = header[:header.index("</div>")]
    assert ">Paused</span>" in header and "overdue" not in header.lower()
    box = page[page.index('class="sla-clocks'):]
    box = box[:box.index("</section>")]
    assert '<span class="badge sla-paused">paused</span>' in box
    assert "Paused</th><td>now, since 23 Nov 2026, 09:30 UTC</td>" in box
    assert "Resolution due</th><td>23 Nov 2026, 17:00 UTC plus the time it stays paused" in box
    assert "never" not in box


def test_a_clock_that_was_paused_says_for_how_long(client, world, db):
    """``held`` resumed at 11:00: paused 09:30-11:00, 1 h 30 min of business time."""
    from portal.incidents import lifecycle

    with time_machine.travel(MONDAY.replace(hour=11), tick=False):
        lifecycle.resume(world["held"], actor=world["people"]["technician"])
        db.session.commit()
        log_in(client, world["people"]["admin"])
        page = client.get(f"/admin/incidents/details/?id={world['held'].id}") \
            .get_data(as_text=True)
    box = page[page.index('class="sla-clocks'):]
    assert "Paused</th><td>1 h 30 min</td>" in box[:box.index("</section>")]


def test_mail_says_a_paused_due_time_moves_on(world, db):
    """A reporter's comment on the held incident mails its technician the due time with
    the pause in words."""
    from portal.notifications.compose import Notice, render_comment
    from portal.incidents import lifecycle

    with time_machine.travel(MONDAY.replace(hour=10), tick=False):
        comment = lifecycle.comment(world["held"], actor=world["people"]["reporter"],
                                    body="Any news?")
        db.session.commit()
        text, html = render_comment(Notice(world["people"]["technician"], "commented",
                                           "comment"), comment)
    due = "23 Nov 2026, 17:00 UTC plus the time it stays paused"
    assert f"Due:        {due}" in text and due in html
