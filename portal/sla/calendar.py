"""Business time: how much of it lies between two moments, and the moment a duration of
it after a start ends.

A ``BusinessCalendar`` has working windows per weekday in local wall time (an IANA zone,
so daylight saving moves them in UTC) and holiday dates without any; ``AroundTheClock``
counts every second. Both answer the same two questions, exactly (``timedelta``
arithmetic, no floats): ``between(a, b)`` and ``add(a, duration)``, and
``between(a, add(a, d)) == d`` for every ``d`` that is not negative.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ZERO = timedelta(0)
#: ``add`` looks this far ahead for business time before it gives up.
HORIZON_DAYS = 3660
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60


class CalendarError(ValueError):
    """A calendar setting that cannot be read; the message says why."""


@dataclass(frozen=True)
class AroundTheClock:
    """Every second counts (24×7)."""

    label: str = "24×7"

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The time from ``start`` to ``end`` (zero when ``end`` is not later)."""
        return max(end - start, ZERO)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` after ``start``."""
        return start + max(duration, ZERO)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working windows per weekday (0 Monday; minutes after local midnight, end
    exclusive, up to 1440) in ``zone``, none on ``holidays``."""

    zone: ZoneInfo
    windows_by_weekday: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date] = field(default_factory=frozenset)
    label: str = "business hours"

    def windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working windows of local ``day``, in UTC."""
        if day in self.holidays:
            return []
        midnight = datetime(day.year, day.month, day.day)
        result = []
        for start, end in self.windows_by_weekday[day.weekday()]:
            # Wall times made aware in the zone; one falling into a spring-forward gap
            # reads with the offset before the change (zoneinfo's fold=0).
            begin = (midnight + timedelta(minutes=start)).replace(tzinfo=self.zone)
            finish = (midnight + timedelta(minutes=end)).replace(tzinfo=self.zone)
            begin, finish = begin.astimezone(timezone.utc), finish.astimezone(timezone.utc)
            if finish > begin:
                result.append((begin, finish))
        return result

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The business time from ``start`` to ``end`` (zero when ``end`` is not later)."""
        if end <= start:
            return ZERO
        total = ZERO
        day, last = self._local_day(start), self._local_day(end)
        while day <= last:
            for begin, finish in self.windows(day):
                overlap = min(finish, end) - max(begin, start)
                if overlap > ZERO:
                    total += overlap
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of business time after ``start``.

        :raises CalendarError: no business time in the next ten years.
        """
        if duration <= ZERO:
            return start
        left = duration
        day = self._local_day(start)
        for _ in range(HORIZON_DAYS):
            for begin, finish in self.windows(day):
                begin = max(begin, start)
                if begin >= finish:
                    continue
                if left <= finish - begin:
                    return begin + left
                left -= finish - begin
            day += timedelta(days=1)
        raise CalendarError("the business calendar has no working time in the next ten years")


Calendar = AroundTheClock | BusinessCalendar

_CLAUSE = re.compile(r"^(?P<days>[a-z]{3}(?:-[a-z]{3})?)\s+(?P<ranges>\S+)$")
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def parse_hours(text: str) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Read ``SLA_BUSINESS_HOURS``: clauses ``DAYS HH:MM-HH:MM[,HH:MM-HH:MM]`` separated
    by ``;``, DAYS a day (``sat``) or a range (``mon-fri``); ``24:00`` ends a day.

    :raises CalendarError: a clause, day or time that does not read, or no hours at all.
    """
    days: list[list[tuple[int, int]]] = [[] for _ in DAY_NAMES]
    for clause in filter(None, (part.strip().lower() for part in text.split(";"))):
        match = _CLAUSE.match(clause)
        if not match:
            raise CalendarError(f"{clause!r} is not 'DAYS HH:MM-HH:MM' (e.g. mon-fri 08:00-18:00)")
        first, _, last = match["days"].partition("-")
        for name in (first, last or first):
            if name not in DAY_NAMES:
                raise CalendarError(f"{name!r} is not a day (mon ... sun)")
        indexes = range(DAY_NAMES.index(first), DAY_NAMES.index(last or first) + 1)
        if not indexes:
            raise CalendarError(f"{match['days']!r} runs backwards")
        for part in match["ranges"].split(","):
            window = _RANGE.match(part)
            if not window:
                raise CalendarError(f"{part!r} is not HH:MM-HH:MM")
            h1, m1, h2, m2 = map(int, window.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if m1 > 59 or m2 > 59 or not 0 <= start < end <= MINUTES_PER_DAY:
                raise CalendarError(f"{part!r} is not a range of times within one day")
            for index in indexes:
                days[index].append((start, end))
    if not any(days):
        raise CalendarError("no business hours on any day")
    return tuple(tuple(_merged(windows)) for windows in days)


def _merged(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``.

    :raises CalendarError: no such zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
