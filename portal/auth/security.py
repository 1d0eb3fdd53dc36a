"""Flask-Security-Too wiring: the datastore, session and token logins, registration.

Self-registration (``REGISTRATION_OPEN``) makes reporters only: the datastore gives every
user created without explicit roles the ``reporter`` role, and the registration form has
no roles field to ask for more.
"""
from __future__ import annotations

import hashlib
import hmac

from flask import Flask, g, request
from flask_wtf.csrf import CSRFError
from flask_security import Security, SQLAlchemyUserDatastore

from portal.auth.models import ROLE_DESCRIPTIONS, Role, RoleName, User
from portal.extensions import csrf, db


class PortalUserDatastore(SQLAlchemyUserDatastore):
    """Flask-Security's datastore, with ``reporter`` as the role of a user created bare."""

    def create_user(self, **kwargs):
        kwargs.setdefault("roles", [RoleName.reporter.value])
        return super().create_user(**kwargs)


def user_datastore() -> PortalUserDatastore:
    return PortalUserDatastore(db, User, Role)


def init_security(app: Flask) -> Security:
    """Bind Flask-Security to ``app`` (one ``Security`` per app), with the session
    registry, the access audit and login throttling."""
    from portal.auth.audit import init_audit
    from portal.auth.forms import PortalLoginForm
    from portal.auth.mail import OutboxMailUtil
    from portal.auth.sessions import init_sessions
    from portal.auth.throttling import init_throttling
    from portal.auth.totp import ReplayProofTotp
    from portal.auth.usernames import AsciiUsernameUtil

    # TOTP secrets are stored encrypted with this key; derived from SECRET_KEY so it is
    # as stable and as secret as that.
    app.config.setdefault("SECURITY_TOTP_SECRETS", {
        "1": hmac.new(app.config["SECRET_KEY"].encode(), b"totp", hashlib.sha256).hexdigest()})
    # Flask-Security's extension points: its mails go through the outbox, authenticator
    # codes work once, usernames cannot look like each other.
    security = Security(app, user_datastore(), mail_util_cls=OutboxMailUtil,
                        totp_cls=ReplayProofTotp, username_util_cls=AsciiUsernameUtil,
                        login_form=PortalLoginForm)
    init_sessions(app)
    # Throttling first: Flask runs after_request hooks last-registered first, and the
    # audit's hook must mark a refused attempt before the limiter decides to count it.
    init_throttling(app)
    init_audit(app)
    app.before_request(require_csrf_on_page_changes)
    return security


def require_csrf_on_page_changes() -> None:
    """Every unsafe request to a page carries the CSRF token, whether or not the view
    behind it validates a form of its own: Flask-Admin's ajax and delete endpoints,
    Flask-Security's logout and two-factor rescue, and any view added later. The API
    checks its own (session callers send ``X-CSRF-Token``; token callers need none)."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and not request.path.startswith("/api/"):
        try:
            csrf.protect()
        except CSRFError:
            g.csrf_refused = True  # the access audit does not count it as a failed login
            raise


def ensure_roles() -> None:
    """Create the three roles when missing (idempotent); the caller commits."""
    existing = set(db.session.scalars(db.select(Role.name)))
    for name, description in ROLE_DESCRIPTIONS.items():
        if name.value not in existing:
            db.session.add(Role(name=name.value, description=description))
    db.session.flush()
