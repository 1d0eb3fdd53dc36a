"""The SLA policy in force: targets per priority, the calendar each priority counts in,
the statuses that stop the resolution clock and when to warn, read from the app's
configuration, the holidays admins keep (``Holiday``) and, with ``SLA_HOLIDAY_COUNTRY``,
that country's public holidays (the ``holidays`` package)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays as public_holidays

from flask import Flask, current_app
from sqlalchemy import select

from portal.config import ConfigError
from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents.enums import Level, Priority, Status
from portal.settings.sla import DEFAULT_MATRIX
from portal.sla.calendar import (AroundTheClock, BusinessCalendar, Calendar, CalendarError,
                                 parse_hours, zone)
from portal.sla.models import Holiday


@dataclass(frozen=True)
class Policy:
    """Everything the clock needs to know besides the incident's history, and the matrix
    that gives a new incident its priority from its impact and urgency."""

    business: BusinessCalendar
    around_the_clock: frozenset[Priority]
    response: dict[Priority, timedelta]
    resolution: dict[Priority, timedelta]
    paused: frozenset[Status]
    warn_at: float
    #: (impact, urgency) → priority, every pair of levels.
    matrix: dict[tuple[Level, Level], Priority]

    def priority_for(self, impact: Level, urgency: Level) -> Priority:
        """The priority the ITIL matrix gives ``impact`` and ``urgency``."""
        return self.matrix[impact, urgency]

    def calendar(self, priority: Priority) -> Calendar:
        """The calendar ``priority``'s targets are counted in."""
        return AroundTheClock() if priority in self.around_the_clock else self.business


def build(config, holidays: frozenset[date] = frozenset()) -> Policy:
    """The policy that ``config`` describes, with ``holidays`` (``load_config`` has checked
    its numbers against the declarations in ``portal.settings.sla``; the names and the
    calendar are checked here, where the domain is known).

    :raises ConfigError: a setting that does not read, naming its key.
    """
    try:
        hours = parse_hours(config["SLA_BUSINESS_HOURS"])
    except CalendarError as exc:
        raise ConfigError(f"SLA_BUSINESS_HOURS: {exc}") from None
    try:
        tz = zone(config["SLA_TIMEZONE"])
    except CalendarError as exc:
        raise ConfigError(f"SLA_TIMEZONE: {exc}") from None
    return Policy(
        business=BusinessCalendar(tz, hours, holidays),
        around_the_clock=frozenset(_choices(Priority, config["SLA_24X7_PRIORITIES"],
                                            "SLA_24X7_PRIORITIES")),
        response={p: timedelta(minutes=config["SLA_RESPONSE_MINUTES"][p.value])
                  for p in Priority},
        resolution={p: timedelta(hours=config["SLA_HOURS"][p.value]) for p in Priority},
        paused=frozenset(_choices(Status, config["SLA_PAUSED_STATUSES"], "SLA_PAUSED_STATUSES")),
        warn_at=config["SLA_WARN_AT"],
        matrix=parse_matrix(config["SLA_PRIORITY_MATRIX"]),
    )


def parse_matrix(entries) -> dict[tuple[Level, Level], Priority]:
    """The matrix of ``DEFAULT_MATRIX`` with ``entries`` (``impact/urgency=priority``) in
    place of its pairs.

    :raises ConfigError: an entry that does not read, naming it.
    """
    matrix = {}
    for entry in (*DEFAULT_MATRIX, *entries):
        try:
            pair, priority = entry.split("=")
            impact, urgency = pair.split("/")
            matrix[Level(impact.strip()), Level(urgency.strip())] = Priority(priority.strip())
        except ValueError:
            raise ConfigError(
                f"SLA_PRIORITY_MATRIX: {entry!r} is not impact/urgency=priority with impact "
                f"and urgency one of low, medium, high and priority one of "
                f"{', '.join(p.value for p in Priority)}") from None
    return matrix


def current_policy() -> Policy:
    """The policy of the current app, with the holidays in the database now and those of
    ``SLA_HOLIDAY_COUNTRY``."""
    # Asked in the middle of a lifecycle change: read without flushing it half-made.
    with db.session.no_autoflush:
        holidays = frozenset(db.session.scalars(select(Holiday.day)))
    country = current_app.config.get("SLA_HOLIDAY_COUNTRY")
    if country:
        holidays |= country_holidays(country, utcnow().year)
    return build(current_app.config, holidays)


#: Years around today whose public holidays the calendar knows (incidents older or
#: targets further away than this count those days as working days).
HOLIDAY_YEARS = 5


@lru_cache(maxsize=8)
def country_holidays(country: str, year: int) -> frozenset[date]:
    """The public holidays of ``country`` from ``HOLIDAY_YEARS`` before ``year`` to as many
    after (the ``holidays`` package computes them, no network; cached per process).

    :raises ConfigError: a country the package does not know.
    """
    try:
        days = public_holidays.country_holidays(
            country, years=range(year - HOLIDAY_YEARS, year + HOLIDAY_YEARS + 1))
    except NotImplementedError:
        raise ConfigError(f"SLA_HOLIDAY_COUNTRY: {country!r} is not a country the holidays "
                          f"package knows (an ISO 3166 code such as DE or US)") from None
    return frozenset(days)


def init_app(app: Flask) -> None:
    """Refuse to start with SLA settings that do not read (the message names the key)."""
    build(app.config)
    if app.config.get("SLA_HOLIDAY_COUNTRY"):
        country_holidays(app.config["SLA_HOLIDAY_COUNTRY"], utcnow().year)


def _choices(enum_class, names, key: str) -> list:
    try:
        return [enum_class(name) for name in names]
    except ValueError:
        allowed = ", ".join(member.value for member in enum_class)
        raise ConfigError(f"{key} must list some of {allowed}, not {', '.join(names)}") from None
