"""Server-side session registry: a portal login is valid only while its row exists.

Flask's session is a signed cookie, which cannot be revoked: replayed after logout it
would still log its holder in. So each login records a ``UserSession`` row and stores its
id in the cookie; Flask-Login's user loader accepts the cookie only while the row exists
and has been used within ``SESSION_LIFETIME_MINUTES`` (idle expiry) and started within
``SESSION_MAX_HOURS`` (absolute expiry). Logging out deletes the row;
changing the password or being deactivated ends every other session of that user
(Flask-Security also rotates ``fs_uniquifier`` then, which voids API tokens).
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Flask, current_app, request, session
from flask_security.utils import set_request_attr
from flask_login import user_logged_out
from flask_security.signals import password_changed, user_authenticated
from sqlalchemy import delete, update

from portal.auth.current import security
from portal.auth.models import User, UserSession
from portal.db_types import utcnow
from portal.extensions import db

SESSION_KEY = "portal_sid"
#: How stale ``last_seen_at`` may get before a request refreshes it (saves a write per request).
TOUCH_EVERY = timedelta(minutes=1)


def _lifetime() -> timedelta:
    return current_app.permanent_session_lifetime


def start_session(user: User) -> UserSession:
    """Register a new session for ``user`` and bind it to this browser's cookie."""
    row = UserSession(id=secrets.token_urlsafe(32), user=user,
                      ip=request.remote_addr if request else None)
    db.session.add(row)
    session[SESSION_KEY] = row.id
    session.permanent = True  # expires after SESSION_LIFETIME_MINUTES without use
    return row


def end_sessions(user: User, *, keep: str | None = None) -> None:
    """Delete ``user``'s sessions (but ``keep``); the caller commits."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    if keep:
        statement = statement.where(UserSession.id != keep)
    db.session.execute(statement)


def _absolute_lifetime() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_MAX_HOURS"])


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: what Flask-Security's does (an active user by
    ``fs_uniquifier``, marked as authenticated by session), plus a live registry row that
    is neither idle too long nor older than ``SESSION_MAX_HOURS``."""
    sid = session.get(SESSION_KEY)
    if not user_id or not sid:
        return None
    user = security().datastore.find_user(fs_uniquifier=str(user_id))
    if user is None or not user.active:
        return None
    row = db.session.get(UserSession, sid)
    now = utcnow()
    if row is None or row.user_id != user.id or row.last_seen_at + _lifetime() < now \
            or row.created_at + _absolute_lifetime() < now:
        return None
    # As Flask-Security's own loader: freshness and auth_required("session") read these.
    set_request_attr("fs_authn_via", "session")
    set_request_attr("fs_paa", session.get("fs_paa", 0))
    if now - row.last_seen_at > TOUCH_EVERY:
        db.session.execute(update(UserSession).where(UserSession.id == sid)
                           .values(last_seen_at=now))
        db.session.commit()
    return user


def _on_login(_app, user: User, **_kwargs) -> None:
    start_session(user)


def _on_logout(_app, user: User | None = None, **_kwargs) -> None:
    sid = session.pop(SESSION_KEY, None)
    if sid:
        db.session.execute(delete(UserSession).where(UserSession.id == sid))
        db.session.commit()


def _on_password_changed(_app, user: User, **_kwargs) -> None:
    # Flask-Security logs the current browser back in after a change: keep only that one.
    end_sessions(user, keep=session.get(SESSION_KEY))


def init_sessions(app: Flask) -> None:
    """Install the registry-checking user loader and the login/logout hooks on ``app``."""
    minutes = app.config["SESSION_LIFETIME_MINUTES"]
    app.permanent_session_lifetime = timedelta(minutes=minutes)
    app.login_manager.user_loader(load_user)
    user_authenticated.connect(_on_login, app)
    user_logged_out.connect(_on_logout, app)
    password_changed.connect(_on_password_changed, app)

