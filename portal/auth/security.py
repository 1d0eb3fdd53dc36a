"""Flask-Security-Too's datastore and the roles every database holds (``ensure_roles``).
``portal.security_setup`` binds Flask-Security to an app; ``portal.auth.current.security()``
reads the current app's instance.

Self-registration (``REGISTRATION_OPEN``) makes reporters only: the datastore gives every
user created without explicit roles ``DEFAULT_ROLE`` (reporter), and the registration
form has no roles field to ask for more. Every account it creates takes its email and
username from an unconfirmed account that held them (``portal.auth.confirmation``).
"""
from __future__ import annotations

from flask_security import SQLAlchemyUserDatastore

from portal.auth.confirmation import release
from portal.auth.models import Role, User
from portal.auth.roles import DEFAULT_ROLE, ROLES
from portal.extensions import db


class PortalUserDatastore(SQLAlchemyUserDatastore):
    """Flask-Security's datastore, with ``DEFAULT_ROLE`` as the role of a user created
    bare; a new user removes the unconfirmed account that held its email or username."""

    def create_user(self, **kwargs):
        kwargs.setdefault("roles", [DEFAULT_ROLE.value])
        release(email=kwargs.get("email"), username=kwargs.get("username"))
        return super().create_user(**kwargs)


def user_datastore() -> PortalUserDatastore:
    return PortalUserDatastore(db, User, Role)


def ensure_roles() -> None:
    """Create the declared roles (``portal.auth.roles.ROLES``) that are missing and give each its
    declared description (idempotent); the caller commits."""
    existing = {role.name: role for role in db.session.scalars(db.select(Role))}
    for name, declared in ROLES.items():
        row = existing.get(name.value)
        if row is None:
            db.session.add(Role(name=name.value, description=declared.description))
        elif row.description != declared.description:
            row.description = declared.description
    db.session.flush()
