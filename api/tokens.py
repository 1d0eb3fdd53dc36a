"""``/api/v1/tokens``: personal access tokens — list, make (the secret shown once), revoke.

Everyone manages their own; admins (``ensure_may_manage``) may list anyone's with
``?user_id=`` and revoke anyone's. Personal tokens themselves may not call these
endpoints (``api.scopes.CLOSED``): log in, or use a token from ``POST /auth/token``.
"""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from api.access import (authenticated, caller, location, location_header, operations,
                        user_by_id)
from api.pagination import Blueprint
from api.schemas import Revealed, UTCDateTime
from portal.auth import personal_tokens
from portal.auth.accounts import ensure_may_manage
from portal.auth.models import PersonalToken
from portal.auth.personal_tokens import PersonalTokenCreateSchema
from portal.extensions import db
from portal.ids import INT64_MAX

URL_PREFIX = "/tokens"
blp = Blueprint("tokens", __name__, description="Personal access tokens for scripts")
operation = operations(blp)


class PersonalTokenSchema(Schema):
    """A personal access token as listed (never its secret)."""

    openapi_example = {"id": 3, "user_id": 7, "name": "nightly export",
                       "prefix": "ipat_Xk2f", "scopes": ["incidents:read"],
                       "created_at": "2026-11-02T09:00:00Z",
                       "expires_at": "2027-01-31T09:00:00Z",
                       "last_used_at": "2026-11-22T03:00:05Z", "last_used_ip": "10.0.4.2",
                       "revoked_at": None}

    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    prefix = fields.String(dump_only=True, metadata={
        "description": "The secret's first characters, to tell tokens apart"})
    scopes = fields.Function(lambda token: sorted(token.scope_set), dump_only=True,
                             metadata={"type": "array", "items": {"type": "string"}})
    created_at = UTCDateTime(dump_only=True)
    expires_at = UTCDateTime(dump_only=True)
    last_used_at = UTCDateTime(dump_only=True, allow_none=True)
    last_used_ip = fields.String(dump_only=True, allow_none=True)
    revoked_at = UTCDateTime(dump_only=True, allow_none=True)


class NewPersonalTokenSchema(PersonalTokenSchema):
    """A token just made: the only answer that carries its secret."""

    openapi_example = {**PersonalTokenSchema.openapi_example, "last_used_at": None,
                       "last_used_ip": None, "token": "ipat_Xk2f…"}

    token = fields.String(dump_only=True, metadata={
        "description": "The secret: shown this once, stored only as a hash"})


class TokenListQuerySchema(Schema):
    user_id = fields.Integer(validate=validate.Range(1, INT64_MAX),
                             metadata={"description": "Whose tokens (admins only)"})


@blp.route("")
class Tokens(MethodView):
    decorators = [authenticated]

    @blp.arguments(TokenListQuerySchema, location="query")
    @operation("listPersonalTokens", 200, PersonalTokenSchema(many=True),
               errors=(401, 403, 422))
    def get(self, query):
        """List personal access tokens

        Your tokens, newest first, with their last use (time and address). Admins may
        name another user with `user_id`.
        """
        user = caller()
        if "user_id" in query:
            ensure_may_manage(user)
            user = user_by_id(query["user_id"], "user_id")
        return db.session.scalars(personal_tokens.tokens_of(user)).all()

    @blp.arguments(PersonalTokenCreateSchema)
    @operation("createPersonalToken", 201, NewPersonalTokenSchema, errors=(401, 403, 422),
               headers=location_header("The new token"))
    def post(self, data):
        """Make a personal access token

        The answer's `token` is the secret, shown this once: send it as
        `Authorization: Bearer <token>`. It acts with its scopes and your current roles.
        """
        token, secret = personal_tokens.issue(caller(), data)
        db.session.commit()
        return Revealed(token, token=secret), 201, location("tokens.TokenById",
                                                           token_id=token.id)


@blp.route("/<int:token_id>")
class TokenById(MethodView):
    decorators = [authenticated]

    @operation("revokePersonalToken", 204, errors=(401, 404))
    def delete(self, token_id):
        """Revoke a personal access token

        It stops working at once. Yours, or (admins) anyone's.
        """
        token = db.session.get(PersonalToken, token_id)
        user = caller()
        if token is None or not personal_tokens.may_revoke(user, token):
            abort(404, message=f"token {token_id} not found")
        personal_tokens.revoke(token)
        db.session.commit()
        return None
