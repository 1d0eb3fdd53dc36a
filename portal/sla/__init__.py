"""The SLA clock: business calendars, per-priority targets, the clock derived from an
incident's history, the words for it, and the warnings and escalations the worker sends.

``init_sla(app)`` checks the settings and tells the app's incident lifecycle to keep each
clock current and to take priorities from the policy's matrix (the lifecycle cannot
import this package, which reads the incidents). The worker's ``sla`` job is
``escalation.register_job``.
"""
from __future__ import annotations

from flask import Flask

from portal.incidents import lifecycle
from portal.incidents.enums import Level, Priority
from portal.sla import clock, policy, words


def _priority_for(impact: Level, urgency: Level) -> Priority:
    return policy.current_policy().priority_for(impact, urgency)


def init_sla(app: Flask) -> None:
    """Check ``app``'s SLA settings and hook the clock and the matrix into its lifecycle."""
    policy.init_app(app)
    words.init_app(app)
    hooks = lifecycle.hooks(app)
    hooks.after_change.append(clock.refresh)
    hooks.priority_for = _priority_for
