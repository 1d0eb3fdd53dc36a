"""The IANA time zones a user may choose: what this machine's zone database knows.

Below both the accounts (which check a chosen zone) and the display (which offers the
zones and shows times in them)."""
from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

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
