"""A small SLA world on Monday 23 November 2026 (default policy, UTC business hours),
seen at 10:00, with every figure counted by hand in ``world``'s docstring."""
from __future__ import annotations

import pytest
import time_machine

from portal.extensions import db
from portal.incidents import lifecycle
from portal.sla.escalation import check
from tests.factories import make_user
from tests.sla.helpers import LOOKED_AT, MONDAY


@pytest.fixture
def world():
    """As seen at 10:00:

    - ``started``: high, created 09:00, taken 09:10 and started: ok, due 17:00,
      "7 h left to resolve";
    - ``waiting``: high, created 09:00, nobody yet: first response due 11:00,
      "1 h left to respond";
    - ``held``: high, created 09:00, held at 09:30: "paused";
    - ``late``: critical, created 05:00, nobody yet: first response was due 05:30,
      "response breached 4 h 30 min ago".
    """
    admin, tech, reporter = make_user("admin"), make_user("technician"), make_user("reporter")
    made = {}
    with time_machine.travel(MONDAY.replace(hour=5), tick=False):
        made["late"] = lifecycle.create(actor=reporter, title="Core switch down",
                                        description="all floors", priority="critical")
        db.session.commit()
    with time_machine.travel(MONDAY.replace(hour=9), tick=False):
        for name in ("started", "waiting", "held"):
            made[name] = lifecycle.create(actor=reporter, title=f"{name} VPN",
                                          description="drops", priority="high")
        db.session.commit()
    with time_machine.travel(MONDAY.replace(hour=9, minute=10), tick=False):
        for name in ("started", "held"):
            lifecycle.take(made[name], actor=tech)
            lifecycle.start(made[name], actor=tech)
        db.session.commit()
    with time_machine.travel(MONDAY.replace(hour=9, minute=30), tick=False):
        lifecycle.hold(made["held"], actor=tech)
        db.session.commit()
    check(LOOKED_AT)
    db.session.expire_all()
    made["people"] = {"admin": admin, "technician": tech, "reporter": reporter}
    return made


@pytest.fixture
def at_ten():
    with time_machine.travel(LOOKED_AT, tick=False):
        yield LOOKED_AT
