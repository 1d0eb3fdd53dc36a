"""The portal's roles, declared once: each one's name, what it is for, which incidents its
holders see and the capacities in which they may act on them.

Everything that names a role reads it here: the ``Role`` rows (``ensure_roles`` creates
them from ``ROLES``), account and fixture checks, the ``User`` properties, the visibility
rule (``portal.incidents.access``), what the lifecycle's menus offer (``can_hold``) and
the grids. Adding a role is one entry in ``RoleName`` and ``ROLES`` (and its row in the
README's roles table). This module imports no model, so any module may import it.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Iterable


class RoleName(StrEnum):
    """The roles, widest first: a user may hold several and the widest names them."""

    admin = "admin"
    technician = "technician"
    reporter = "reporter"


class Capacity(StrEnum):
    """The parts a user can play towards one incident; the lifecycle grants its actions
    to these, and a role grants some of them."""

    admin = "admin"
    technician_on_it = "technician_on_it"  # held only towards the incidents assigned to them
    reporter_of_it = "reporter_of_it"      # held only towards the incidents they reported
    staff = "staff"          # any admin or technician who can see it
    viewer = "viewer"        # anyone who can see it


class Reach(StrEnum):
    """Which incidents a role's holders see, widest first (``portal.incidents.access``
    writes each as SQL); a user sees by the widest reach of their roles."""

    every_incident = "every_incident"
    assigned_and_queue = "assigned_and_queue"  # theirs, and the open ones nobody holds
    reported = "reported"                      # the ones they reported (everyone sees those)


@dataclass(frozen=True)
class RoleSpec:
    """One role's declaration."""

    description: str
    reach: Reach
    #: The capacities the role grants besides those every role holds (``REPORTING``).
    grants: frozenset[Capacity] = frozenset()
    #: Incidents may be assigned to its holders.
    assignable: bool = False

    @property
    def is_staff(self) -> bool:
        """Its holders are staff: they read and write internal comments."""
        return Capacity.staff in self.grants


#: Every role reports incidents and sees those it reported.
REPORTING = frozenset({Capacity.reporter_of_it, Capacity.viewer})

#: Each role, in ``RoleName``'s order (widest first).
ROLES: dict[RoleName, RoleSpec] = {
    RoleName.admin: RoleSpec(
        "Service desk lead: sees and may do everything", Reach.every_incident,
        frozenset({Capacity.admin, Capacity.staff}), assignable=True),
    RoleName.technician: RoleSpec(
        "Works and resolves the incidents assigned to them", Reach.assigned_and_queue,
        frozenset({Capacity.technician_on_it, Capacity.staff}), assignable=True),
    RoleName.reporter: RoleSpec(
        "Reports incidents and follows their own", Reach.reported),
}

#: The sets the rest of the portal asks about, derived from ``ROLES`` (plain names, as
#: ``User.role_names`` holds them and the database binds them).
ROLE_NAMES = [name.value for name in RoleName]
ALL_ROLES = frozenset(ROLE_NAMES)


def _names(having) -> frozenset[str]:
    return frozenset(name.value for name, role in ROLES.items() if having(role))


STAFF_ROLES = _names(lambda role: role.is_staff)
ADMIN_ROLES = _names(lambda role: Capacity.admin in role.grants)
ASSIGNABLE_ROLES = _names(lambda role: role.assignable)
SEE_EVERY_INCIDENT = _names(lambda role: role.reach is Reach.every_incident)

#: The role of a user created without roles: self-registration and mail in.
DEFAULT_ROLE = RoleName.reporter


def held(names: Iterable[str]) -> list[RoleName]:
    """The declared roles among ``names``, widest first (unknown names are ignored)."""
    names = set(names)
    return [name for name in RoleName if name in names]


def widest(names: Iterable[str]) -> RoleName | None:
    """The widest of the roles ``names``, or None when there is none."""
    return next(iter(held(names)), None)


def reach(names: Iterable[str]) -> Reach:
    """Which incidents a holder of the roles ``names`` sees: the widest of their reaches."""
    reaches = {ROLES[name].reach for name in held(names)} | {Reach.reported}
    return next(each for each in Reach if each in reaches)


def can_hold(names: Iterable[str]) -> frozenset[Capacity]:
    """The capacities a holder of the roles ``names`` can hold towards some incident
    (what menus may offer; ``tests/incidents/test_access.py`` checks it against
    ``capacities()``); none without a role."""
    return frozenset().union(*(ROLES[name].grants | REPORTING for name in held(names)))
