"""``User`` and ``Role`` (Flask-Security-Too's fsqla v3 mixins), server-side ``UserSession``s
and the ``AccessEvent`` audit."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask import current_app
from flask_security.models import fsqla_v3 as fsqla
from sqlalchemy import ColumnElement, ForeignKey, Index, Integer, String, and_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from portal.auth.roles import ADMIN_ROLES, ASSIGNABLE_ROLES, STAFF_ROLES, widest
from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db

fsqla.FsModels.set_db_info(db, user_table_name="users", role_table_name="roles")

# Flask-Security defines the roles_users association without an index on user_id: every
# request that loads the caller's roles would scan it (migration 0004 adds this index).
Index("ix_roles_users_user_id", db.metadata.tables["roles_users"].c.user_id)


class Role(db.Model, fsqla.FsRoleMixin):
    """A role's row: one per declaration in ``portal.auth.roles`` (``ensure_roles``)."""

    __tablename__ = "roles"

    def __str__(self) -> str:
        return self.name


class User(db.Model, fsqla.FsUserMixin):
    """A person who logs in: email, username, argon2 password hash, roles, active flag,
    and when the address was confirmed (``confirmed_at``; NULL: a registration waiting
    for its link, which owns nothing: ``portal.auth.confirmation``)."""

    __tablename__ = "users"

    created_at = synonym("create_datetime")
    #: The time step of the last authenticator code accepted: it and older ones are
    #: refused (``portal.auth.totp``).
    tf_totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The IANA zone the user reads times in; NULL: the server's ``PORTAL_TIMEZONE``
    #: (``portal.display.zone``). Checked against ``zoneinfo`` by ``portal.auth.accounts``.
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)

    @property
    def role_names(self) -> set[str]:
        return {role.name for role in self.roles}

    @property
    def is_admin(self) -> bool:
        """Holds an admin role (``ADMIN_ROLES``)."""
        return bool(self.role_names & ADMIN_ROLES)

    @property
    def is_staff(self) -> bool:
        """Holds a staff role (``STAFF_ROLES``): they see internal comments."""
        return bool(self.role_names & STAFF_ROLES)

    @property
    def address_confirmed(self) -> bool:
        """The account owns its address: its confirmation link was followed, or whoever
        made the account vouched for it (``portal.auth.confirmation``)."""
        return self.confirmed_at is not None

    @hybrid_property
    def receives_mail(self) -> bool:
        """Notifications may be sent to this account, and work given to it: active, with a
        confirmed address (in SQL too: ``where(User.receives_mail)``)."""
        return bool(self.active) and self.confirmed_at is not None

    @receives_mail.inplace.expression
    @classmethod
    def _receives_mail_expression(cls) -> ColumnElement[bool]:
        return and_(cls.active.is_(True), cls.confirmed_at.is_not(None))

    @property
    def can_be_assigned(self) -> bool:
        """Whether incidents may be assigned to this user (``ASSIGNABLE_ROLES``, active,
        with a confirmed address)."""
        return self.receives_mail and bool(self.role_names & ASSIGNABLE_ROLES)

    @property
    def widest_role(self) -> str | None:
        """The name of the widest role held (``RoleName``'s order), or None."""
        name = widest(self.role_names)
        return name.value if name is not None else None

    def check_tf_required(self, tf_setup_methods, tf_fresh):
        """Flask-Security's hook: also require a second factor of admins when
        ``REQUIRE_2FA_FOR_ADMINS`` is on (those without one are sent to set it up)."""
        required, methods = super().check_tf_required(tf_setup_methods, tf_fresh)
        if not required and not tf_setup_methods and self._admin_needs_2fa():
            return True, methods
        return required, methods

    def check_tf_required_setup(self) -> bool:
        return super().check_tf_required_setup() or self._admin_needs_2fa()

    def _admin_needs_2fa(self) -> bool:
        return self.is_admin and bool(current_app.config.get("REQUIRE_2FA_FOR_ADMINS"))

    def __str__(self) -> str:
        return self.username or self.email


class UserSession(db.Model):
    """A logged-in browser session, kept server-side so that logging out, changing the
    password or being deactivated really ends it (a signed cookie alone cannot be revoked)."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class AccessKind(StrEnum):
    """What an ``AccessEvent`` records."""

    login = "login"
    login_failed = "login_failed"
    logout = "logout"
    password_changed = "password_changed"
    password_reset = "password_reset"
    two_factor_changed = "two_factor_changed"
    two_factor_disabled = "two_factor_disabled"
    role_added = "role_added"
    role_removed = "role_removed"
    activated = "activated"
    deactivated = "deactivated"
    token_created = "token_created"
    token_new_address = "token_new_address"
    token_revoked = "token_revoked"
    #: The account's address was confirmed: by its link, or by the admin who made it.
    address_confirmed = "address_confirmed"
    #: An unconfirmed account was removed: a new account took its address or username.
    registration_replaced = "registration_replaced"


class AccessEvent(db.Model):
    """The access audit: logins, failures, logouts, 2FA, role and activation changes."""

    __tablename__ = "access_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    #: The account concerned (None for a failed login with an unknown identity).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    #: Who made the change (an admin changing roles); None from the command line.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    identity: Mapped[str | None] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])

    def __str__(self) -> str:
        return f"{self.kind} {self.identity or ''}".strip()


class TokenScope(StrEnum):
    """What a personal access token may be used for (``api.scopes`` maps them to
    endpoints). A token acts with these *and* its user's current roles."""

    incidents_read = "incidents:read"
    incidents_write = "incidents:write"
    comments_write = "comments:write"
    users_admin = "users:admin"


#: Longest token name.
TOKEN_NAME_MAX = 100


class PersonalToken(db.Model):
    """A named, scoped, expiring API token a user made for a script (issue 18).

    Only ``sha256(secret)`` is stored: the secret is 32 random bytes (256 bits), so a
    slow password hash would add nothing — nobody can guess it — while it would make
    every API request pay for argon2. The hash is indexed, so a look-up is one read.
    """

    __tablename__ = "personal_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    name: Mapped[str] = mapped_column(String(TOKEN_NAME_MAX))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The secret's first characters (``ipat_ab12``), to tell tokens apart in lists.
    prefix: Mapped[str] = mapped_column(String(16))
    #: Space-separated ``TokenScope`` values.
    scopes: Mapped[str] = mapped_column(String(255))
    #: A digest of the user's password hash when the token was made: a password change
    #: (from any path: portal, reset, admin, command line) ends the token by construction.
    password_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))
    last_used_ip: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))

    user: Mapped[User] = relationship(User)

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())
