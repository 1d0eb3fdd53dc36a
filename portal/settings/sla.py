"""SLA settings (``portal/sla``), and every SLA default in one place.

Each priority has a resolution target in hours and a first-response target in minutes,
counted in the priority's calendar: business hours (``SLA_BUSINESS_HOURS`` in
``SLA_TIMEZONE``, holidays left out) unless it is in ``SLA_24X7_PRIORITIES``, so ``due_at`` is
creation plus the target in that calendar, less the time the incident was paused. The
names of priorities, statuses and levels, the business-hours grammar and the matrix are
checked by ``portal.sla.policy.build`` at start-up, as this layer knows no domain.
"""
from __future__ import annotations

from portal.settings.declare import (LIST, NUMBER, TEXT, WHOLE, ZONE, Area, Setting, Type,
                                     fraction, positive)

#: Priority, resolution target (hours), first-response target (minutes).
TARGETS = (("critical", 4, 30), ("high", 8, 120), ("medium", 72, 480), ("low", 168, 1440))

#: The ITIL impact × urgency matrix (SLA_PRIORITY_MATRIX replaces some or all of its pairs).
DEFAULT_MATRIX = (
    "high/high=critical", "high/medium=high", "high/low=medium",
    "medium/high=high", "medium/medium=medium", "medium/low=low",
    "low/high=medium", "low/medium=low", "low/low=low",
)

AREA = Area("SLA", "targets, the business calendar, warnings (see \"The SLA clock\")", (
    *(Setting(f"SLA_{priority.upper()}_HOURS", str(hours),
              f"{priority}: resolution target, in hours of the priority's calendar",
              WHOLE, positive, name="SLA_HOURS", item=priority)
      for priority, hours, _ in TARGETS),
    *(Setting(f"SLA_{priority.upper()}_RESPONSE_MINUTES", str(minutes),
              f"{priority}: first-response target, in minutes of the priority's calendar",
              WHOLE, positive, name="SLA_RESPONSE_MINUTES", item=priority)
      for priority, _, minutes in TARGETS),
    Setting("SLA_TIMEZONE", "UTC", "the zone business hours are kept in", ZONE),
    Setting("SLA_BUSINESS_HOURS", "mon-fri 08:00-18:00", "`DAYS HH:MM-HH:MM[,HH:MM-HH:MM]` "
            "clauses separated by `;`", TEXT),
    Setting("SLA_24X7_PRIORITIES", "critical", "priorities whose targets run around the "
            "clock", LIST),
    Setting("SLA_PAUSED_STATUSES", "on_hold", "statuses that stop the resolution clock",
            LIST),
    Setting("SLA_WARN_AT", "0.8", "warn when this fraction of a target has passed", NUMBER,
            fraction),
    Setting("SLA_CHECK_SECONDS", "60", "how often the worker looks at due clocks", WHOLE),
    Setting("SLA_PRIORITY_MATRIX", "", "`impact/urgency=priority` pairs that replace those "
            "of the default ITIL matrix", LIST, shown="empty: the ITIL matrix"),
    Setting("SLA_HOLIDAY_COUNTRY", "", "this country's public holidays (ISO code such as "
            "`DE`) join the admins' holidays", Type("ISO 3166 code", lambda raw:
                                                     raw.strip().upper(),
                                                     blank_is_default=False),
            shown="empty: only the admins'"),
))
