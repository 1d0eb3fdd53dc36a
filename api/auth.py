"""``POST /api/v1/auth/token``: trade an email and password for an API token.

The token is Flask-Security's auth token: it stops working when the user is deactivated
or changes their password. Accounts with two-factor authentication also send the current
authenticator ``code``; service accounts are ordinary accounts without a second factor
(see the README). Attempts are throttled like the portal's login and audited.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, request
from flask.views import MethodView
from flask_security import hash_password, verify_password
from flask_smorest import abort


from api.pagination import Blueprint
from api.access import operations
from api.document import RATE_LIMIT_HEADERS
from api.schemas import TokenRequestSchema, TokenSchema
from portal.auth.audit import record
from portal.auth.models import AccessKind, User
from portal.auth.current import security
from portal.auth.throttling import find_account, guard
from portal.extensions import csrf, db

URL_PREFIX = "/auth"
blp = Blueprint("auth", __name__, description="API tokens")
operation = operations(blp)
log = logging.getLogger("portal.access")


def _refuse(identity: str, user: User | None, reason: str, message: str):
    log.warning("API token refused for %r from %s (%s)", identity, request.remote_addr, reason)
    record(AccessKind.login_failed, user=user, identity=identity, detail=f"api token: {reason}")
    db.session.commit()
    abort(401, message=message)


@blp.route("/token")
class Token(MethodView):

    @blp.arguments(TokenRequestSchema)
    @operation("createToken", 200, TokenSchema, errors=(401, 422, 429),
               headers=RATE_LIMIT_HEADERS)
    @blp.doc(security=[])  # the one operation that needs no token
    def post(self, data):
        """Get an API token

        Send it as `Authorization: Bearer <token>` on every request.
        """
        identity = data["email"].strip()
        user = find_account(identity)  # as the portal's login finds it
        if user is None:
            # The same work as for a real account, so the answer's timing does not tell
            # which addresses have one.
            verify_password(data["password"], _dummy_hash())
            _refuse(identity, user, "unknown account", "wrong email or password")
        if not user.verify_and_update_password(data["password"]):
            _refuse(identity, user, "wrong password", "wrong email or password")
        if not user.active:
            _refuse(identity, user, "inactive", "this account is disabled")
        if not user.address_confirmed:
            _refuse(identity, user, "address not confirmed",
                    "this account's address is not confirmed: follow the link in the "
                    "mail sent when it was registered")
        if user.tf_primary_method:
            code = data.get("code")
            # The portal's window (one time step either side); a code works once.
            window = current_app.config["SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY"]
            if not code or not security().totp_factory.verify_totp(
                    token=code, totp_secret=user.tf_totp_secret, user=user, window=window):
                _refuse(identity, user, "second factor",
                        "this account uses two-factor authentication: send the current "
                        "authenticator code as 'code'")
        elif user.check_tf_required_setup():
            _refuse(identity, user, "second factor not set up",
                    "set up two-factor authentication in the portal first")
        record(AccessKind.login, user=user, detail="api token")
        db.session.commit()
        return {"token": user.get_auth_token(), "user": user}


def _dummy_hash() -> str:
    """A password hash with the app's settings, made once per app."""
    if "portal_dummy_hash" not in current_app.extensions:
        current_app.extensions["portal_dummy_hash"] = hash_password("not-anyone's-password")
    return current_app.extensions["portal_dummy_hash"]


def init_token_endpoint(app: Flask) -> None:
    """Token requests carry no session, so no CSRF token; they are throttled instead."""
    csrf.exempt(app.view_functions["auth.Token"])
    guard(app, "auth.Token")
