"""How values read on every page: times in the portal's zone with the zone named, due
times in words, vocabularies as words. Templates use these as filters (``|when``,
``|due_words``, ``|words``), the grids as formatters; nothing else formats a time."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from portal.db_types import utcnow
from portal.incidents.enums import ACTIVE, Labelled


def zone() -> ZoneInfo:
    """The zone pages show times in (``PORTAL_TIMEZONE``)."""
    return ZoneInfo(current_app.config.get("PORTAL_TIMEZONE", "UTC"))


def when(value: datetime | None, *, seconds: bool = False) -> str:
    """``2 Dec 2026, 06:18 CET``: a stored (UTC) time in the portal's zone, zone named."""
    if value is None:
        return "—"
    local = value.astimezone(zone())
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
