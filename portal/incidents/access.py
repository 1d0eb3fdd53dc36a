"""Who sees which incidents and in what capacity a user acts on one.

``visible_incidents(user)`` is the one query every list in the portal and the API starts
from. The rule is written once (``_visible``) and evaluated either as SQL, over the
``Incident`` class, or in Python, over one loaded incident.
"""
from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Select, false, select
from sqlalchemy.sql.elements import ColumnElement

from portal.auth.models import User
from portal.incidents.models import Comment, Incident
from portal.incidents.enums import Status


class Capacity(StrEnum):
    """The parts a user can play towards one incident; permissions are granted to these."""

    admin = "admin"
    technician_on_it = "technician_on_it"
    reporter_of_it = "reporter_of_it"
    staff = "staff"          # any admin or technician who can see it
    viewer = "viewer"        # anyone who can see it


def _visible(target, user: User):
    """The visibility rule for a non-admin; ``target`` is ``Incident`` or an incident."""
    own = target.reporter_id == user.id
    if user.is_technician:
        unassigned_queue = (target.status == Status.open) & (target.technician_id == None)  # noqa: E711
        return own | (target.technician_id == user.id) | unassigned_queue
    return own


def visibility_conditions(user: User | None) -> list[ColumnElement[bool]]:
    """The SQL conditions an incident must meet for ``user`` to see it: none for an
    admin. None at all rather than ``WHERE 1 = 1``: SQLite counts a whole table from its
    smallest index only when a count has no condition (0.1 ms instead of 5 on 100,000
    incidents)."""
    if user is None or not user.is_authenticated or not user.active:
        return [false()]
    if user.is_admin:
        return []
    return [_visible(Incident, user)]


def visible_incidents(user: User | None) -> Select[tuple[Incident]]:
    """Return a query of the incidents ``user`` may see: admins all; technicians theirs and
    the unassigned queue; everyone the incidents they reported."""
    return select(Incident).where(*visibility_conditions(user))


def can_see(user: User | None, incident: Incident) -> bool:
    """Whether ``incident`` exists for ``user`` (the same rule as ``visible_incidents``)."""
    if user is None or not user.is_authenticated or not user.active:
        return False
    return user.is_admin or bool(_visible(incident, user))


def capacities(user: User, incident: Incident) -> set[Capacity]:
    """The capacities in which ``user`` acts on ``incident`` (empty when not visible)."""
    if not can_see(user, incident):
        return set()
    held = {Capacity.viewer}
    if user.is_admin:
        held |= {Capacity.admin, Capacity.staff}
    if user.is_technician:
        held.add(Capacity.staff)
        if incident.technician_id == user.id:
            held.add(Capacity.technician_on_it)
    if incident.reporter_id == user.id:
        held.add(Capacity.reporter_of_it)
    return held


def visible_comments(user: User, incident: Incident) -> list[Comment]:
    """The comments of ``incident`` that ``user`` may read: internal ones for staff only."""
    if user.is_staff:
        return list(incident.comments)
    return [comment for comment in incident.comments if not comment.internal]


def can_read_comment(user: User | None, comment: Comment) -> bool:
    """Whether ``user`` may read ``comment`` (the rule of ``visible_comments``)."""
    return can_see(user, comment.incident) and (not comment.internal or user.is_staff)
