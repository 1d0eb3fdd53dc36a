"""Brute-force throttling of every place a password or code is tried (Flask-Limiter).

Two limits guard each credential endpoint, and both count **failed** attempts only
(Flask-Limiter's ``deduct_when``), so people who type their password right are never
locked out, however many log in from one office address:

- per account (``LOGIN_RATE_LIMIT``, 5 a minute): keyed on the account the attempt is
  for, found the way Flask-Security finds it (email or username, normalised and without
  regard to case), so ``Rosa@ｅxample.com`` and ``rosa`` spend the same budget. Unknown
  identities are keyed on their normalised form. Two-factor codes are keyed on the user
  waiting for their second step; ``/verify`` and ``/change`` on the logged-in user.
- per client address (``LOGIN_FAILURE_IP_LIMIT``, 50 a minute): high enough for a shared
  office or NAT address, low enough to stop one machine guessing across many accounts.

Password-reset and "send the confirmation again" requests count every request (each
sends a mail), registration is limited per address (``REGISTER_RATE_LIMIT``).

The counts live in the app's database by default (``portal-db://``, see
``portal.auth.limiter_storage``), so every gunicorn worker and every container sharing the
database shares them; ``RATELIMIT_STORAGE_URI=redis://...`` moves them to Redis.
"""
from __future__ import annotations

from typing import Callable

from flask import Flask, Response, g, jsonify, make_response, \
    render_template, request, session
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_security import current_user

from portal import plain_text
from portal.auth import limiter_storage  # noqa: F401  (registers portal-db://)
from portal.auth.current import security
from portal.auth.models import User
from portal.extensions import db

#: Endpoints where a credential is tried: both limits, failures only.
CREDENTIAL_ENDPOINTS = ("security.login", "security.two_factor_token_validation",
                        "security.mf_recovery", "security.verify",
                        "security.change_password")
#: Endpoints where every POST counts (each one sends a mail or consumes a token).
COUNTED_ENDPOINTS = ("security.forgot_password", "security.reset_password",
                     "security.send_confirmation")


def submitted_identity() -> str | None:
    """The email or username a form or JSON body names, if any (bounded; None when it
    holds control characters: no account is called so)."""
    data = request.get_json(silent=True) if request.is_json else request.form
    if not hasattr(data, "get"):
        return None
    value = data.get("email") or data.get("username")
    if not value or plain_text.problem(str(value)) is not None:
        return None  # no account is named so (and PostgreSQL cannot even look NUL up)
    return str(value).strip()[:255]


def normalised(identity: str) -> str:
    """``identity`` as Flask-Security compares it: email or username normalised, folded."""
    try:
        if "@" in identity:
            return security().mail_util.normalize(identity).casefold()
        return (security().username_util.normalize(identity) or identity).casefold()
    except ValueError:
        return identity.casefold()


def find_account(identity: str):
    """The user ``identity`` names (email or username, any case), or None."""
    value = normalised(identity)
    return db.session.scalar(db.select(User).where(
        (db.func.lower(User.email) == value) | (db.func.lower(User.username) == value)))


def account_key() -> str:
    """The account an attempt is for (see the module's docstring)."""
    if "throttle_account" in g:
        return g.throttle_account
    if request.endpoint in ("security.verify", "security.change_password") \
            and current_user.is_authenticated:
        key = f"user:{current_user.fs_uniquifier}"
    elif session.get("tf_user_id"):
        key = f"user:{session['tf_user_id']}"  # a second step waiting for its code
    else:
        identity = submitted_identity()
        user = find_account(identity) if identity else None
        key = f"user:{user.fs_uniquifier}" if user is not None else \
            f"identity:{normalised(identity)}" if identity else f"ip:{get_remote_address()}"
    g.throttle_account = key
    return key


def mark_refused() -> None:
    """Note that this request's credential was refused (the access audit calls it)."""
    g.credential_refused = True


def looks_refused(response: Response) -> bool:
    """A credential endpoint's refusal: its form shown again (200), JSON 400, API 401."""
    if response.status_code in (400, 401):
        return True
    return response.status_code == 200 and not request.is_json


def attempt_failed(response: Response) -> bool:
    """``deduct_when``: count an attempt whose credential was refused, and no other (a
    success, a form without its CSRF token, a right password with a rejected ``next``)."""
    if request.endpoint == "auth.Token":
        return response.status_code == 401
    return bool(g.get("credential_refused"))


def init_throttling(app: Flask) -> Limiter:
    """Create ``app``'s limiter and guard the credential endpoints registered so far.

    Other blueprints (the API's token endpoint) call ``guard(app, endpoint)`` for theirs.
    """
    limiter = Limiter(get_remote_address, app=app, headers_enabled=True,
                      storage_uri=app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["portal_limiter"] = limiter
    for endpoint in CREDENTIAL_ENDPOINTS:
        if endpoint in app.view_functions:
            guard(app, endpoint)
    for endpoint in COUNTED_ENDPOINTS:
        if endpoint in app.view_functions:
            guard(app, endpoint, deduct_when=None)
    if "security.register" in app.view_functions:
        _limit(app, "security.register", app.config["REGISTER_RATE_LIMIT"],
               get_remote_address, "security.register:ip", None)
    app.register_error_handler(RateLimitExceeded, too_many_attempts)
    return limiter


def _limit(app: Flask, endpoint: str, limit: str, key_func: Callable[[], str], scope: str,
           deduct_when: Callable[[Response], bool] | None, shared: bool = False) -> None:
    limiter: Limiter = app.extensions["portal_limiter"]
    decorate = limiter.shared_limit if shared else limiter.limit
    app.view_functions[endpoint] = decorate(
        limit, methods=["POST"], key_func=key_func, scope=scope,
        deduct_when=deduct_when)(app.view_functions[endpoint])


def guard(app: Flask, endpoint: str, *,
          deduct_when: Callable[[Response], bool] | None = attempt_failed) -> None:
    """Apply the per-account and per-address limits to POSTs of ``endpoint``.

    Credential endpoints (``deduct_when`` set) share one budget per account and one per
    address: a guess at ``/login`` and one at the token endpoint spend the same five.
    """
    if deduct_when is None:
        _limit(app, endpoint, app.config["LOGIN_RATE_LIMIT"], get_remote_address,
               f"{endpoint}:ip", None)
        _limit(app, endpoint, app.config["LOGIN_RATE_LIMIT"], account_key,
               f"{endpoint}:account", None)
        return
    _limit(app, endpoint, app.config["LOGIN_FAILURE_IP_LIMIT"], get_remote_address,
           "credentials:ip", deduct_when, shared=True)
    _limit(app, endpoint, app.config["LOGIN_RATE_LIMIT"], account_key, "credentials:account",
           deduct_when, shared=True)


def too_many_attempts(error: RateLimitExceeded):
    """429: JSON for API clients, a page for people; Flask-Limiter adds ``Retry-After``."""
    message = "Too many attempts: wait a minute before trying again."
    if request.path.startswith("/api/") or request.is_json:
        response = jsonify(code=429, status="Too Many Requests", message=message)
    else:
        response = make_response(render_template("too_many_attempts.html", message=message))
    response.status_code = 429
    return response
