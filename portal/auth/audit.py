"""The access audit: who logged in, failed to, logged out, changed their password or
second factor, confirmed an address, and whose roles or activation an admin changed —
with time and IP.

Logins and logouts come from Flask-Security's signals, and so do refused passwords and
codes of known accounts (``user_failed_authn``); an ``after_request`` hook on the
credential endpoints catches what that signal does not see: unknown identities, recovery
codes, ``/change``, and a right password refused for another reason (a rejected
``next``), which is audited as such, not as a wrong password;
role and activation changes from SQLAlchemy attribute events on ``User``, so every path
(portal, API, command line) is audited the same way.
"""
from __future__ import annotations

import logging

from flask import Flask, Response, g, has_request_context, request
from flask_security import current_user
from flask_login import user_logged_out
from flask_security.signals import (password_changed, password_reset, tf_disabled,
                                    tf_profile_changed, user_authenticated,
                                    user_confirmed, user_failed_authn)
from sqlalchemy import event

from portal.auth.models import AccessEvent, AccessKind, Role, User
from portal.auth.throttling import (find_account, looks_refused, mark_refused,
                                    submitted_identity)
from portal.extensions import db

log = logging.getLogger("portal.access")

#: Endpoints where a credential is checked.
LOGIN_ENDPOINTS = {"security.login", "security.two_factor_token_validation",
                   "security.mf_recovery", "security.verify", "security.change_password"}
#: Of those, the ones where Flask-Security sends ``user_failed_authn`` for known accounts.
SIGNALLED_ENDPOINTS = {"security.login", "security.two_factor_token_validation",
                       "security.verify"}


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


def _failed_authn(_app, user: User, auth_type: str = "password", tfa: bool = False,
                  **_kwargs) -> None:
    """Flask-Security refused a password or code of a known account."""
    step = "second factor" if tfa else auth_type
    where = request.endpoint if has_request_context() else "-"
    log.warning("failed login for user %s from %s (%s at %s)", user.id,
                request.remote_addr if has_request_context() else "-", step, where)
    record(AccessKind.login_failed, user=user, detail=step)
    db.session.commit()
    mark_refused()


def _audit_failed_login(response: Response) -> Response:
    if request.method != "POST" or request.endpoint not in LOGIN_ENDPOINTS \
            or g.get("credential_refused") or g.get("csrf_refused") \
            or not looks_refused(response):
        return response
    if request.endpoint in ("security.verify", "security.change_password"):
        user = _actor()
        identity = user.email if user is not None else None
    else:
        identity = submitted_identity()
        user = find_account(identity) if identity else None
    if request.endpoint in SIGNALLED_ENDPOINTS and user is not None:
        # Flask-Security would have signalled a wrong password: this one was right, and
        # the login was refused for another reason (a rejected "next", a disabled account).
        detail = "password right, login refused (next or account state)"
    else:
        detail = "second factor" if request.endpoint in (
            "security.two_factor_token_validation", "security.mf_recovery") else "password"
        mark_refused()
    # Never the password: only who was tried, from where, and which step failed.
    log.warning("failed login for %r from %s (%s)", identity, request.remote_addr, detail)
    record(AccessKind.login_failed, user=user, identity=identity, detail=detail)
    db.session.commit()
    return response


def _signal(kind: AccessKind, detail: str | None = None):
    def handler(_app, user: User | None = None, **kwargs) -> None:
        user = user or _actor()
        if user is None or not user.is_authenticated:
            return  # e.g. Flask-Security logging out a visitor who follows a confirmation link
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


def _confirmed(_app, user: User, **_kwargs) -> None:
    """An address was confirmed: by its link (the actor is nobody), or by the admin who
    made the account. No commit of its own: the confirming change's commit keeps it."""
    record(AccessKind.address_confirmed, user=user)


def init_audit(app: Flask) -> None:
    """Connect the audit to ``app``'s Flask-Security signals and its login endpoints."""
    for signal, handler in _HANDLERS:
        signal.connect(handler, app)
    user_failed_authn.connect(_failed_authn, app)
    user_confirmed.connect(_confirmed, app)
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
