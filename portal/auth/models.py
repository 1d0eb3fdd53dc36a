"""``User`` and ``Role``, on Flask-Security-Too's current SQLAlchemy mixins (fsqla v3)."""
from __future__ import annotations

from enum import StrEnum

from flask_security.models import fsqla_v3 as fsqla
from sqlalchemy.orm import synonym

from portal.extensions import db

fsqla.FsModels.set_db_info(db, user_table_name="users", role_table_name="roles")


class RoleName(StrEnum):
    """The three roles of the portal; a user may hold several and the widest wins."""

    admin = "admin"
    technician = "technician"
    reporter = "reporter"


ROLE_DESCRIPTIONS = {
    RoleName.admin: "Service desk lead: sees and may do everything",
    RoleName.technician: "Works and resolves the incidents assigned to them",
    RoleName.reporter: "Reports incidents and follows their own",
}


class Role(db.Model, fsqla.FsRoleMixin):
    """A named role (``admin``, ``technician`` or ``reporter``)."""

    __tablename__ = "roles"

    def __str__(self) -> str:
        return self.name


class User(db.Model, fsqla.FsUserMixin):
    """A person who logs in: email, username, argon2 password hash, roles, active flag."""

    __tablename__ = "users"

    created_at = synonym("create_datetime")

    @property
    def role_names(self) -> set[str]:
        return {role.name for role in self.roles}

    @property
    def is_admin(self) -> bool:
        return RoleName.admin in self.role_names

    @property
    def is_technician(self) -> bool:
        """Holds the technician role (admins may also be assigned, see ``can_be_assigned``)."""
        return RoleName.technician in self.role_names

    @property
    def is_staff(self) -> bool:
        """Admins and technicians: they see internal comments."""
        return self.is_admin or self.is_technician

    @property
    def can_be_assigned(self) -> bool:
        """Whether incidents may be assigned to this user."""
        return self.active and (self.is_admin or self.is_technician)

    @property
    def widest_role(self) -> str | None:
        for name in (RoleName.admin, RoleName.technician, RoleName.reporter):
            if name in self.role_names:
                return name.value
        return None

    def __str__(self) -> str:
        return self.username or self.email
