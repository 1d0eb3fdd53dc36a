"""How values read on every page: times in the reader's zone with the zone named,
vocabularies as words. Templates use these as filters (``|when``, ``|words``), the grids
as formatters; nothing else formats a moment (durations and due times in words are
``portal.sla.words``', which builds on ``when``).

The reader's zone is their own setting (``User.time_zone``), else the server's
``PORTAL_TIMEZONE``; ``zone`` is the one place that decides it."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_request_context
from flask_security import current_user

from portal.incidents.enums import Labelled
from portal.time_zones import COMMON_ZONES, is_zone, zone_names


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


def words(value) -> str:
    """A vocabulary member (status, priority, event kind ...) as words; else as it is."""
    if isinstance(value, Labelled):
        return value.label
    return "—" if value is None else str(value)


def init_display(app: Flask) -> None:
    app.jinja_env.filters.update(when=when, words=words)
