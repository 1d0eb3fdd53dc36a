"""The business calendar's arithmetic: properties over any moments (Hypothesis), and
hand-counted cases for weekends, holidays, several days and daylight saving."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from portal.sla.calendar import (AroundTheClock, BusinessCalendar, CalendarError, parse_hours,
                                 zone)

UTC = timezone.utc
WEEKDAYS = parse_hours("mon-fri 08:00-18:00")


def calendar(tz: str = "Europe/Berlin", hours: str = "mon-fri 08:00-18:00",
             holidays=()) -> BusinessCalendar:
    return BusinessCalendar(zone(tz), parse_hours(hours), frozenset(holidays))


CALENDARS = st.sampled_from([
    calendar("Europe/Berlin"),
    calendar("America/New_York", "mon-fri 09:00-12:00,13:00-17:30; sat 10:00-14:00"),
    calendar("Europe/Berlin", "mon-sun 00:00-24:00"),
    calendar("America/New_York", "mon-fri 01:30-03:30"),   # windows across the DST hour
    calendar("Europe/Berlin", holidays=[date(2026, 12, 24), date(2026, 12, 25)]),
    AroundTheClock(),
])
MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                       timezones=st.just(UTC))
DURATIONS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40))


@settings(max_examples=150, deadline=None)
@given(CALENDARS, MOMENTS, DURATIONS)
def test_adding_business_time_then_measuring_it_gives_it_back(cal, start, duration):
    assert cal.between(start, cal.add(start, duration)) == duration


@settings(max_examples=150, deadline=None)
@given(CALENDARS, st.lists(MOMENTS, min_size=3, max_size=3))
def test_durations_add_up_over_any_split_point(cal, moments):
    a, b, c = sorted(moments)
    assert cal.between(a, c) == cal.between(a, b) + cal.between(b, c)


@settings(max_examples=100, deadline=None)
@given(CALENDARS, MOMENTS, DURATIONS, DURATIONS)
def test_adding_in_two_steps_ends_where_one_step_does(cal, start, first, second):
    """Where a clock stood when it stopped is where it goes on from (pause, reopen)."""
    assert cal.between(start, cal.add(cal.add(start, first), second)) == first + second


@settings(max_examples=100, deadline=None)
@given(MOMENTS, MOMENTS)
def test_business_time_is_never_more_than_the_time_between(a, b):
    a, b = sorted((a, b))
    assert timedelta(0) <= calendar().between(a, b) <= b - a


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=zone("Europe/Berlin"))


def new_york(*args) -> datetime:
    return datetime(*args, tzinfo=zone("America/New_York"))


@pytest.mark.parametrize("start,hours,due", [
    # Friday 16:00 + 4 business hours: 2 on Friday, 2 on Monday (the weekend skipped).
    (berlin(2026, 11, 27, 16), 4, berlin(2026, 11, 30, 10)),
    # Before opening: the clock starts at 08:00.
    (berlin(2026, 11, 24, 6), 1, berlin(2026, 11, 24, 9)),
    # After closing: the next morning.
    (berlin(2026, 11, 24, 19), 2, berlin(2026, 11, 25, 10)),
    # A target over several days: 25 h = Tue 10 + Wed 10 + Thu 5.
    (berlin(2026, 11, 24, 8), 25, berlin(2026, 11, 26, 13)),
    # Spring forward in Berlin (Sunday 29 March 2026): Friday 17:00 + 2 h is Monday 09:00
    # CEST, which is 07:00 UTC, not 08:00 UTC.
    (berlin(2026, 3, 27, 17), 2, berlin(2026, 3, 30, 9)),
    # Fall back in Berlin (Sunday 25 October 2026).
    (berlin(2026, 10, 23, 17), 2, berlin(2026, 10, 26, 9)),
])
def test_business_hours_in_berlin(start, hours, due):
    cal = calendar("Europe/Berlin")
    assert cal.add(start.astimezone(UTC), timedelta(hours=hours)) == due.astimezone(UTC)
    assert cal.between(start.astimezone(UTC), due.astimezone(UTC)) == timedelta(hours=hours)


def test_daylight_saving_moves_the_window_in_utc_not_in_local_time():
    cal = calendar("America/New_York")
    # 8 March 2026: clocks go forward. 08:00 local is 13:00 UTC before, 12:00 UTC after.
    before = cal.windows(date(2026, 3, 6))[0][0]
    after = cal.windows(date(2026, 3, 9))[0][0]
    assert (before.hour, after.hour) == (13, 12)
    # 1 November 2026: back again.
    assert cal.windows(date(2026, 11, 2))[0][0].hour == 13
    assert cal.between(new_york(2026, 3, 6, 17).astimezone(UTC),
                       new_york(2026, 3, 9, 9).astimezone(UTC)) == timedelta(hours=2)


def test_a_window_across_the_missing_hour_counts_the_hour_that_exists():
    """New York, 8 March 2026: 02:00-03:00 does not exist; 01:00-04:00 lasts 2 h."""
    cal = calendar("America/New_York", "mon-sun 01:00-04:00")
    begin, end = cal.windows(date(2026, 3, 8))[0]
    assert end - begin == timedelta(hours=2)
    begin, end = cal.windows(date(2026, 11, 1))[0]   # the repeated hour counts twice
    assert end - begin == timedelta(hours=4)


def test_holidays_have_no_business_hours():
    christmas = calendar(holidays=[date(2026, 12, 24), date(2026, 12, 25)])
    # Wednesday 23 December 17:00 + 2 h: Thursday and Friday are holidays → Monday 28th.
    assert christmas.add(berlin(2026, 12, 23, 17).astimezone(UTC),
                         timedelta(hours=2)) == berlin(2026, 12, 28, 9).astimezone(UTC)


def test_around_the_clock_counts_every_second():
    start = datetime(2026, 11, 28, 23, tzinfo=UTC)   # a Saturday night
    assert AroundTheClock().add(start, timedelta(minutes=30)) == start + timedelta(minutes=30)


@pytest.mark.parametrize("text,reason", [
    ("monday 08:00-18:00", "DAYS"), ("mon-fri 8-18", "HH:MM"), ("fri-mon 08:00-18:00", "backwards"),
    ("mon-fri 18:00-08:00", "within one day"), ("mon-fri 08:00-25:00", "within one day"),
    ("", "no business hours"), ("xyz 08:00-09:00", "not a day"),
])
def test_hours_that_do_not_read_say_why(text, reason):
    with pytest.raises(CalendarError, match=reason):
        parse_hours(text)


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(CalendarError, match="IANA"):
        zone("Mars/Olympus")
