"""Flask-Security-Too bound to an app: the datastore, session and token logins,
registration, and this project's extension points and hooks in the order they need.

It stands above ``portal.auth`` and ``portal.notifications``: Flask-Security's mails go
through the notifications' outbox (``OutboxMailUtil``), while the notifications read the
accounts.
"""
from __future__ import annotations

import hashlib
import hmac

from flask import Flask, g, request
from flask_security import Security
from flask_wtf.csrf import CSRFError

from portal.auth.audit import init_audit
from portal.auth.forms import PortalLoginForm, PortalRegisterForm
from portal.auth.security import user_datastore
from portal.auth.sessions import init_sessions
from portal.auth.throttling import init_throttling
from portal.auth.totp import ReplayProofTotp
from portal.auth.usernames import AsciiUsernameUtil
from portal.extensions import csrf
from portal.notifications.account_mail import OutboxMailUtil


def init_security(app: Flask) -> Security:
    """Bind Flask-Security to ``app`` (one ``Security`` per app), with the session
    registry, the access audit and login throttling."""
    # TOTP secrets are stored encrypted with this key; derived from SECRET_KEY so it is
    # as stable and as secret as that.
    app.config.setdefault("SECURITY_TOTP_SECRETS", {
        "1": hmac.new(app.config["SECRET_KEY"].encode(), b"totp", hashlib.sha256).hexdigest()})
    # Flask-Security's extension points: its mails (the confirmation link too) go
    # through the outbox, authenticator codes work once, usernames cannot look like each
    # other, and an unconfirmed registration holds no address against a new one.
    security = Security(app, user_datastore(), mail_util_cls=OutboxMailUtil,
                        totp_cls=ReplayProofTotp, username_util_cls=AsciiUsernameUtil,
                        login_form=PortalLoginForm, register_form=PortalRegisterForm)
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
