"""Personal access tokens on the API: who they are, and what each endpoint needs of them.

The scope an endpoint needs is declared once, here, per blueprint and method
(``SCOPES``), with the few exceptions by endpoint; ``check_personal_token`` (before every
``/api/`` request) reads it. Unlisted → refused: a new blueprint is closed to personal
tokens until it is given a row. The scope only narrows: the views still apply the user's
roles, so a token acts with its scopes *and* its user's current roles.

Tokens come only from the header ``api.BearerToken`` leaves (``Authentication-Token``,
``Authorization: Bearer`` copied into it) and only on ``/api/``.
"""
from __future__ import annotations

from flask import Flask, g, request
from flask_security import current_user
from flask_smorest import abort

from portal.auth import personal_tokens
from portal.auth.current import security
from portal.auth.models import TokenScope

READ, WRITE = TokenScope.incidents_read.value, TokenScope.incidents_write.value
#: Any live token may call it (who am I).
ANY = "any"

#: (blueprint, method) → the scope a personal token needs. ``None`` method: every method.
SCOPES: dict[tuple[str, str | None], str] = {
    ("incidents", "GET"): READ, ("incidents", "POST"): WRITE,
    ("incidents", "PATCH"): WRITE, ("incidents", "PUT"): WRITE,
    ("incidents", "DELETE"): WRITE,
    ("comments", "GET"): READ, ("comments", "POST"): TokenScope.comments_write.value,
    ("attachments", "GET"): READ, ("attachments", "POST"): WRITE,
    ("attachments", "DELETE"): WRITE,
    ("users", None): TokenScope.users_admin.value,
    # Webhooks are admin work: the admin scope (and the admin role) are needed.
    ("webhooks", None): TokenScope.users_admin.value,
    ("api-docs", None): ANY,  # the OpenAPI document and Swagger UI are public anyway
}
#: Endpoints that differ from their blueprint's row.
ENDPOINT_SCOPES: dict[str, str] = {"users.Me": ANY}
#: Blueprints a personal token may never use: a leaked token must not make more tokens
#: (``tokens``) nor trade itself for a login token (``auth``).
CLOSED = {"tokens", "auth"}


def required_scope() -> str | None:
    """The scope the current request needs of a personal token; None: refused to them."""
    if request.endpoint in ENDPOINT_SCOPES:
        return ENDPOINT_SCOPES[request.endpoint]
    if request.blueprint in CLOSED:
        return None
    method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
    return SCOPES.get((request.blueprint, method)) or SCOPES.get((request.blueprint, None))


def presented() -> str | None:
    return request.headers.get("Authentication-Token")


def check_personal_token():
    """401 for a dead personal token, 403 for one without the endpoint's scope."""
    if not request.path.startswith("/api/") or not personal_tokens.is_personal(presented()):
        return None
    if request.endpoint is None:  # 404/405: nothing to open
        return None
    # Loading the user runs ``load_user`` (once a request: Flask-Login keeps the answer),
    # which found the token, or did not.
    current_user.is_authenticated  # noqa: B018
    token = g.get("personal_token")
    if token is None:
        abort(401, message="this personal access token is expired, revoked or unknown")
    personal_tokens.note_use(token)
    needed = required_scope()
    if needed is None:
        abort(403, message="personal access tokens may not be used here: log in instead")
    if needed != ANY and needed not in token.scope_set:
        abort(403, message=f"this token lacks the scope {needed!r}")
    return None


def init_scopes(app: Flask) -> None:
    """Check personal tokens before each request, and let Flask-Login find their user.

    Flask-Security's request loader (found and replaced through Flask-Login's public
    ``request_callback``/``request_loader``) keeps handling its own tokens; a personal
    one is never passed to it.
    """
    app.before_request(check_personal_token)
    login_manager = security(app).login_manager
    flask_security_loader = login_manager.request_callback

    def load_user(req):
        raw = req.headers.get("Authentication-Token")
        if personal_tokens.is_personal(raw):
            g.personal_token = personal_tokens.authenticate(raw)
            return g.personal_token.user if g.personal_token is not None else None
        return flask_security_loader(req)

    login_manager.request_loader(load_user)
