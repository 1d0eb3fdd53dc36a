"""How values read on every page: times in the reader's zone with the zone named, due
times in words, vocabularies as words. Templates use these as filters (``|when``,
``|due_words``, ``|words``), the grids as formatters; nothing else formats a time.

The reader's zone is their own setting (``User.time_zone``), else the server's
``PORTAL_TIMEZONE``; ``zone`` is the one place that decides it."""
from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from flask import Flask, current_app, has_request_context
from flask_security import current_user

from portal.db_types import utcnow
from portal.incidents.enums import ACTIVE, Labelled

#: Offered first in the zone select: where most service desks sit (a convenience only;
#: every IANA zone is accepted).
COMMON_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York",
                "America/Chicago", "America/Los_Angeles", "Asia/Kolkata", "Asia/Tokyo",
                "Australia/Sydney")


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone this machine knows, sorted (what a user may choose)."""
    return tuple(sorted(available_timezones()))


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zone_names())


def is_zone(name: str) -> bool:
    """Whether ``name`` is an IANA zone this machine knows (exactly, case included)."""
    return name in _known_zones()


def default_zone_label() -> str:
    """What having no zone of one's own means: the server's ``PORTAL_TIMEZONE``."""
    return f"The portal's default ({current_app.config.get('PORTAL_TIMEZONE', 'UTC')})"


def zone_choices() -> list[tuple[str, str]]:
    """The zone select's options: the portal's default (empty), the common zones, then
    all of them."""
    known = set(zone_names())
    common = [name for name in COMMON_ZONES if name in known]
    return [("", default_zone_label())] + [(name, name) for name in common] + [
        (name, name) for name in zone_names() if name not in common]


def zone(user=None) -> ZoneInfo:
    """The zone to show times in for ``user`` (default: the signed-in user): their own
    setting, else the server's ``PORTAL_TIMEZONE``."""
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user
    server = current_app.config.get("PORTAL_TIMEZONE", "UTC")
    name = getattr(user, "time_zone", None)
    if name and is_zone(name):
        return ZoneInfo(name)
    # Stored zones were checked when set; one a later tzdata dropped falls back too.
    return ZoneInfo(server)


def when(value: datetime | None, *, seconds: bool = False, user=None) -> str:
    """``2 Dec 2026, 06:18 CET``: a stored (UTC) time in ``user``'s zone (default: the
    signed-in user's, see ``zone``), zone named."""
    if value is None:
        return "—"
    local = value.astimezone(zone(user))
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return f"{local.day} {local.strftime('%b %Y')}, {local.strftime(clock)} {local.tzname()}"


def span(seconds: float) -> str:
    """A duration in the largest unit that reads well: ``40 min``, ``3 h``, ``2 days``."""
    minutes = int(abs(seconds) // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


def due_words(incident, now: datetime | None = None) -> str:
    """``overdue by 2 h``, ``due in 3 h``; resolved and closed incidents are not due."""
    if incident.status not in ACTIVE or incident.due_at is None:
        return "no longer due"
    now = now or utcnow()
    seconds = (incident.due_at - now).total_seconds()
    return f"due in {span(seconds)}" if seconds >= 0 else f"overdue by {span(seconds)}"


def words(value) -> str:
    """A vocabulary member (status, priority, event kind ...) as words; else as it is."""
    if isinstance(value, Labelled):
        return value.label
    return "—" if value is None else str(value)


def init_display(app: Flask) -> None:
    app.jinja_env.filters.update(when=when, due_words=due_words, words=words)
