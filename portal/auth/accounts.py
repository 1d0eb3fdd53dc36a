"""Creating and changing user accounts: the one place the rules for accounts live.

The command line, the API and the portal's Users view all call these functions, so an
account is validated the same way everywhere: Flask-Security normalises and checks the
email, username and password (its password policy), and hashes the password; a time
zone must be one `zoneinfo` knows.

Accounts made here are made by someone who vouches for the address (an admin, the
command line, mail in), so they are confirmed at once; an email or username held only
by an unconfirmed registration counts as free, and that registration is removed
(``portal.auth.confirmation``).
"""
from __future__ import annotations

import uuid
from typing import Any, Iterable

from flask_security import hash_password
from flask_security.confirmable import confirm_user
from sqlalchemy import event, func, select

from portal.auth.confirmation import release
from portal.auth.current import security
from portal.auth.models import User
from portal.auth.roles import ADMIN_ROLES, ROLE_NAMES
from portal.auth.security import ensure_roles, user_datastore
from portal.auth.sessions import end_sessions
from portal.extensions import db
from portal.refusals import Refused
from portal.time_zones import is_zone


class AccountError(Refused, http_status=422):
    """An account change is refused; ``field`` names the culprit (422)."""


class AccountForbidden(AccountError, http_status=403):
    """Only admins manage accounts (403)."""


def ensure_may_manage(actor: User) -> None:
    """:raises AccountForbidden: ``actor`` is not an admin."""
    if not actor.is_admin:
        raise AccountForbidden("only admins manage user accounts")


def _email(value: str, *, exclude: User | None = None) -> str:
    try:
        email = security().mail_util.validate(value)
    except ValueError as exc:
        raise AccountError(f"email {value!r} is not valid: {exc}", field="email") from None
    query = select(User.id).where(func.lower(User.email) == email.lower(),
                                  User.confirmed_at.is_not(None))
    if exclude is not None:
        query = query.where(User.id != exclude.id)
    if db.session.scalar(query):
        raise AccountError(f"a user with email {email} already exists", field="email")
    return email


def _username(value: str, *, exclude: User | None = None) -> str:
    error, username = security().username_util.validate(value)
    if error:
        raise AccountError(f"username is not valid: {error}", field="username")
    query = select(User.id).where(func.lower(User.username) == username.lower(),
                                  User.confirmed_at.is_not(None))
    if exclude is not None:
        query = query.where(User.id != exclude.id)
    if db.session.scalar(query):
        raise AccountError(f"a user with username {username} already exists",
                           field="username")
    return username


def _password(value: str, *, email: str, username: str, user: User | None = None) -> str:
    if user is None:
        problems, password = security().password_util.validate(
            value, True, email=email, username=username)
    else:
        problems, password = security().password_util.validate(value, False, user=user)
    if problems:
        raise AccountError(f"password is not valid: {' '.join(problems)}", field="password")
    return hash_password(password)


def _roles(values: Iterable[str]) -> list[str]:
    roles = list(dict.fromkeys(values))
    unknown = [name for name in roles if name not in ROLE_NAMES]
    if unknown:
        raise AccountError(f"unknown role {unknown[0]!r}: choose from {', '.join(ROLE_NAMES)}",
                           field="roles")
    if not roles:
        raise AccountError("an account needs at least one role", field="roles")
    return roles


def _time_zone(value: str | None) -> str | None:
    """An IANA zone name, or None (empty too) for the server's default."""
    if not value:
        return None
    if not is_zone(value):
        raise AccountError(f"{value!r} is not a time zone: choose an IANA name such as "
                           "Europe/Berlin", field="time_zone")
    return value


def create_account(*, email: str, username: str, password: str | None,
                   roles: Iterable[str], active: bool = True,
                   time_zone: str | None = None) -> User:
    """Create a user, its address confirmed; the caller commits. ``password=None`` makes
    an account without one (a reporter who wrote in by mail sets it through "forgot
    password"). An unconfirmed registration holding the email or username is removed.

    :raises AccountError: a bad or taken email or username, a weak password, a bad role
        or time zone.
    """
    email = _email(email)
    username = _username(username)
    hashed = None if password is None else _password(password, email=email,
                                                     username=username)
    ensure_roles()
    user = user_datastore().create_user(email=email, username=username, password=hashed,
                                        roles=_roles(roles), active=active,
                                        time_zone=_time_zone(time_zone))
    confirm_user(user)
    db.session.flush()
    return user


def update_account(user: User, *, actor: User | None, **changes: Any) -> User:
    """Change ``email``, ``username``, ``password``, ``roles``, ``active`` or
    ``time_zone`` (None: the server's); caller commits.

    Admins cannot deactivate themselves or drop their own admin role (no lock-out). A new
    email or username held only by an unconfirmed registration is taken from it.

    :raises AccountError: as ``create_account``, or a self lock-out.
    """
    datastore = user_datastore()
    if "email" in changes:
        email = _email(changes["email"], exclude=user)
        release(email=email, keep=user)  # before the change is flushed: unique email
        user.email = email
    if "username" in changes:
        username = _username(changes["username"], exclude=user)
        release(username=username, keep=user)
        user.username = username
    if "password" in changes:
        user.password = _password(changes["password"], email=user.email,
                                  username=user.username, user=user)
        datastore.set_uniquifier(user)  # ends the user's sessions and API tokens
    if "roles" in changes:
        roles = _roles(changes["roles"])
        if actor is not None and actor.id == user.id and user.is_admin \
                and not ADMIN_ROLES & set(roles):
            raise AccountError("you cannot remove your own admin role", field="roles")
        ensure_roles()
        for role in list(user.roles):
            if role.name not in roles:
                datastore.remove_role_from_user(user, role)
        for name in roles:
            datastore.add_role_to_user(user, name)
    if "time_zone" in changes:
        user.time_zone = _time_zone(changes["time_zone"])
    if "active" in changes and changes["active"] != user.active:
        if actor is not None and actor.id == user.id and not changes["active"]:
            raise AccountError("you cannot deactivate your own account", field="active")
        user.active = bool(changes["active"])  # deactivation voids tokens: end_access
        if not user.active:
            end_sessions(user)
    db.session.flush()
    return user


@event.listens_for(User.active, "set")
def end_access(user: User, value: bool, old, _initiator) -> None:
    """Deactivating an account voids its API tokens and session cookies for good: a new
    ``fs_uniquifier`` (which both carry), so reactivating it later does not bring old
    tokens back, whatever path deactivates (portal, API, command line)."""
    if old is True and value is False:
        user.fs_uniquifier = uuid.uuid4().hex  # as Flask-Security's set_uniquifier does
