"""The access audit: who logged in, failed to, logged out, changed their password or
second factor, and whose roles or activation an admin changed — with time and IP.

Logins and logouts come from Flask-Security's signals; failed logins from an
``after_request`` hook on the login endpoint (so unknown identities are caught too);
role and activation changes from SQLAlchemy attribute events on ``User``, so every path
(portal, API, command line) is audited the same way.
"""
from __future__ import annotations

import logging

from flask import Flask, Response, g, has_request_context, request
from flask_security import current_user
from flask_login import user_logged_out
from flask_security.signals import (password_changed, password_reset, tf_disabled,
                                    tf_profile_changed, user_authenticated)
from sqlalchemy import event

from portal.auth.models import AccessEvent, AccessKind, Role, User
from portal.extensions import db

log = logging.getLogger("portal.access")

#: Endpoints where a credential is checked, and what success looks like there.
LOGIN_ENDPOINTS = {"security.login", "security.two_factor_token_validation",
                   "security.mf_recovery"}


def _actor() -> User | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def record(kind: AccessKind, *, user: User | None = None, identity: str | None = None,
           detail: str | None = None) -> AccessEvent:
    """Add an audit row to the current transaction (the caller's commit keeps it)."""
    ip = request.remote_addr if has_request_context() else None
    entry = AccessEvent(kind=kind.value, user=user, actor=_actor(), ip=ip, detail=detail,
                        identity=identity or (user.email if user is not None else None))
    db.session.add(entry)
    return entry


def _submitted_identity() -> str | None:
    data = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(data, dict) and not hasattr(data, "get"):
        return None
    value = data.get("email") or data.get("username")
    return str(value)[:255] if value else None


def _audit_failed_login(response: Response) -> Response:
    if request.method != "POST" or request.endpoint not in LOGIN_ENDPOINTS:
        return response
    # A refused credential re-shows the form (200) or answers JSON 400; anything else
    # (a redirect onwards, 413, 429) is not a failed credential check.
    refused = response.status_code == (400 if request.is_json else 200) \
        and not g.get("csrf_refused")
    if not refused:
        return response
    identity = _submitted_identity()
    user = None
    if identity:
        user = db.session.scalar(db.select(User).where(
            (db.func.lower(User.email) == identity.lower())
            | (db.func.lower(User.username) == identity.lower())))
    step = "second factor" if request.endpoint != "security.login" else "password"
    # Never the password: only who was tried, from where, and which step failed.
    log.warning("failed login for %r from %s (%s)", identity, request.remote_addr, step)
    record(AccessKind.login_failed, user=user, identity=identity, detail=step)
    db.session.commit()
    return response


def _signal(kind: AccessKind, detail: str | None = None):
    def handler(_app, user: User | None = None, **kwargs) -> None:
        user = user or _actor()
        if user is None:
            return
        extra = detail or (kwargs.get("method") and f"method: {kwargs['method']}")
        record(kind, user=user, detail=extra or None)
        db.session.commit()
    return handler


_HANDLERS = [
    (user_authenticated, _signal(AccessKind.login)),
    (user_logged_out, _signal(AccessKind.logout)),  # Flask-Login's signal
    (password_changed, _signal(AccessKind.password_changed)),
    (password_reset, _signal(AccessKind.password_reset)),
    (tf_profile_changed, _signal(AccessKind.two_factor_changed)),
    (tf_disabled, _signal(AccessKind.two_factor_disabled)),
]


def init_audit(app: Flask) -> None:
    """Connect the audit to ``app``'s Flask-Security signals and its login endpoints."""
    for signal, handler in _HANDLERS:
        signal.connect(handler, app)
    app.after_request(_audit_failed_login)


@event.listens_for(User.roles, "append")
def _role_added(user: User, role: Role, _initiator):
    record(AccessKind.role_added, user=user, detail=f"role: {role.name}")


@event.listens_for(User.roles, "remove")
def _role_removed(user: User, role: Role, _initiator):
    record(AccessKind.role_removed, user=user, detail=f"role: {role.name}")


@event.listens_for(User.active, "set")
def _activation_changed(user: User, value: bool, old, _initiator):
    if old is value or old not in (True, False):
        return  # unchanged, or a new user's first value
    record(AccessKind.activated if value else AccessKind.deactivated, user=user)
