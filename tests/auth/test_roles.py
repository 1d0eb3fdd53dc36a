"""The roles' one declaration (``portal.auth.roles``): complete, ranked, and the source of
the ``Role`` rows and of what each user is."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.auth import roles
from portal.auth.models import Role
from portal.auth.roles import Capacity, Reach, RoleName
from portal.auth.security import ensure_roles, user_datastore
from portal.extensions import db
from tests.factories import make_user


def test_every_role_is_declared_once_in_rank_order():
    assert list(roles.ROLES) == list(RoleName)
    assert roles.ROLE_NAMES == [name.value for name in RoleName]


#: role, staff, admin, assignable, reach: what the README's roles table says.
DECLARED = [("admin", True, True, True, Reach.every_incident),
            ("technician", True, False, True, Reach.assigned_and_queue),
            ("reporter", False, False, False, Reach.reported)]


def test_the_table_below_names_every_role():
    assert roles.ROLE_NAMES == [row[0] for row in DECLARED]


@pytest.mark.parametrize("name,staff,admin,assignable,reach", DECLARED)
def test_a_users_standing_is_read_from_their_roles_declaration(name, staff, admin,
                                                               assignable, reach):
    user = make_user(name)
    assert (user.is_staff, user.is_admin, user.can_be_assigned) == (staff, admin, assignable)
    assert roles.reach(user.role_names) is reach
    assert user.widest_role == name


@pytest.mark.parametrize("held,widest,reach", [
    ([], None, Reach.reported),
    (["reporter", "technician"], "technician", Reach.assigned_and_queue),
    (["technician", "admin"], "admin", Reach.every_incident),
    (["no-such-role", "reporter"], "reporter", Reach.reported),
])
def test_the_widest_role_and_reach_win(held, widest, reach):
    assert roles.widest(held) == widest
    assert roles.reach(held) is reach


def test_a_role_less_user_can_hold_no_capacity_and_every_role_reports():
    assert roles.can_hold([]) == frozenset()
    for name in RoleName:
        assert roles.REPORTING <= roles.can_hold([name])
    assert Capacity.admin in roles.can_hold(["reporter", "admin"])


def test_the_role_rows_are_made_from_the_declaration_and_follow_it():
    row = db.session.scalar(select(Role).where(Role.name == RoleName.technician.value))
    row.description = "something older"
    db.session.commit()
    ensure_roles()
    db.session.commit()
    rows = {role.name: role.description for role in db.session.scalars(select(Role))}
    assert rows == {name.value: spec.description for name, spec in roles.ROLES.items()}


def test_users_made_without_roles_get_the_default_role():
    """Self-registration and mail in make users this way."""
    user = user_datastore().create_user(email="bare@example.com", username="bare",
                                        password=None)
    db.session.commit()
    assert user.role_names == {roles.DEFAULT_ROLE.value}
