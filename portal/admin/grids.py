"""The portal's incident grids, in one table: what each shows, to whom, under which menu
label, and whose start page it is. The menu, each role's start page and every link to an
incident's page (``details_url``, the address emails use) are read from it.

A grid's rows are the incidents the user may see (``visibility_conditions``) narrowed by
its ``statuses`` and its ``narrow`` rule. Both are written once and evaluated either as
SQL over the ``Incident`` class or in Python over one incident, as the visibility rule is.
The last grid, ``incident``, is the read-only fallback: it holds every incident the user
may see, so each of them has a page, even one that no other grid of theirs shows (a
technician's closed incident).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import url_for

from portal.auth.models import User
from portal.auth.roles import ALL_ROLES, ASSIGNABLE_ROLES, SEE_EVERY_INCIDENT, RoleName
from portal.incidents.access import can_see
from portal.incidents.enums import NOT_CLOSED, Status
from portal.incidents.models import Incident


@dataclass(frozen=True)
class Grid:
    endpoint: str
    label: str
    roles: frozenset[str]
    #: The statuses its rows may have.
    statuses: frozenset[Status] = frozenset(Status)
    #: A further condition on ``(target, user)``: ``Incident`` or an incident.
    narrow: Callable | None = None
    url: str | None = None
    #: The roles (as their widest) that land here after logging in.
    start_for: frozenset[str] = frozenset()
    in_menu: bool = True

    def conditions(self, target, user: User) -> list:
        """The grid's own conditions on ``target`` (beyond visibility)."""
        found = []
        if self.statuses != frozenset(Status):
            found.append(target.status.in_(self.statuses) if target is Incident
                         else target.status in self.statuses)
        if self.narrow is not None:
            found.append(self.narrow(target, user))
        return found

    def shows(self, incident: Incident, user: User) -> bool:
        """Whether ``incident`` is one of this grid's rows for ``user``."""
        return (bool(user.role_names & self.roles) and can_see(user, incident)
                and all(self.conditions(incident, user)))


GRIDS: tuple[Grid, ...] = (
    Grid("all_incidents", "All incidents", SEE_EVERY_INCIDENT, url="/admin/incidents"),
    # The work grids: for those incidents may be assigned to (``portal.auth.roles``).
    Grid("queue", "My queue", ASSIGNABLE_ROLES, statuses=NOT_CLOSED,
         narrow=lambda target, user: target.technician_id == user.id,
         start_for=frozenset({RoleName.technician})),
    Grid("unassigned", "Unassigned", ASSIGNABLE_ROLES, statuses=frozenset({Status.open}),
         narrow=lambda target, user: target.technician_id == None),  # noqa: E711 (SQL too)
    Grid("mine", "My incidents", ALL_ROLES,
         narrow=lambda target, user: target.reporter_id == user.id,
         start_for=frozenset({RoleName.reporter})),
    Grid("incident", "Incident", ALL_ROLES, in_menu=False),
)
FALLBACK = GRIDS[-1]


def grids_for(user: User) -> list[Grid]:
    """The grids in ``user``'s menu, in menu order."""
    return [grid for grid in GRIDS if grid.in_menu and user.role_names & grid.roles]


def grid_of(incident: Incident, user: User) -> Grid:
    """The first grid of ``user`` that shows ``incident``; the fallback otherwise."""
    return next((grid for grid in GRIDS if grid.shows(incident, user)), FALLBACK)


def details_url(incident: Incident, user: User) -> str:
    """The incident's page, in the grid where ``user`` finds it."""
    return url_for(f"{grid_of(incident, user).endpoint}.details_view", id=incident.id)


def start_page(user: User) -> str:
    """Where ``user`` lands after logging in: their role's grid, else the dashboard."""
    for grid in GRIDS:
        if user.widest_role in grid.start_for:
            return url_for(f"{grid.endpoint}.index_view")
    return url_for("admin.index")
