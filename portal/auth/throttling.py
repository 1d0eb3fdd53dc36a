"""Brute-force throttling of every place a password or code is tried (Flask-Limiter).

Each guarded endpoint has two limits on POST: one per client IP and one per account
(the email or username submitted), so neither many accounts from one address nor one
account from many addresses can be guessed at speed. Storage is in memory by default;
``RATELIMIT_STORAGE_URI=redis://...`` shares the counts between workers and containers.
"""
from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

#: The Flask-Security endpoints where credentials are tried.
GUARDED_ENDPOINTS = ("security.login", "security.forgot_password",
                     "security.two_factor_token_validation", "security.mf_recovery",
                     "security.reset_password")


def account_key() -> str:
    """The account a request tries, lower-cased; the IP when none is given."""
    data = request.get_json(silent=True) if request.is_json else request.form
    identity = data.get("email") or data.get("username") if hasattr(data, "get") else None
    return f"account:{str(identity).strip().lower()}" if identity else \
        f"ip:{get_remote_address()}"


def init_throttling(app: Flask) -> Limiter:
    """Create ``app``'s limiter and guard the credential endpoints registered so far.

    Other blueprints (the API's token endpoint) call ``guard(app, endpoint)`` for theirs.
    """
    limiter = Limiter(get_remote_address, app=app, headers_enabled=True,
                      storage_uri=app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["portal_limiter"] = limiter
    for endpoint in GUARDED_ENDPOINTS:
        if endpoint in app.view_functions:
            guard(app, endpoint)
    app.register_error_handler(RateLimitExceeded, too_many_attempts)
    return limiter


def guard(app: Flask, endpoint: str) -> None:
    """Apply the per-IP and per-account limits to POSTs of ``endpoint``."""
    limiter: Limiter = app.extensions["portal_limiter"]
    limit = app.config["LOGIN_RATE_LIMIT"]
    view = app.view_functions[endpoint]
    view = limiter.limit(limit, methods=["POST"], key_func=get_remote_address,
                         scope=f"{endpoint}:ip")(view)
    view = limiter.limit(limit, methods=["POST"], key_func=account_key,
                         scope=f"{endpoint}:account")(view)
    app.view_functions[endpoint] = view


def too_many_attempts(error: RateLimitExceeded):
    """429: JSON for API clients, a page for people; Flask-Limiter adds ``Retry-After``."""
    message = "Too many attempts: wait a minute before trying again."
    if request.path.startswith("/api/") or request.is_json:
        response = jsonify(code=429, status="Too Many Requests", message=message)
    else:
        response = make_response(render_template("too_many_attempts.html", message=message))
    response.status_code = 429
    return response
