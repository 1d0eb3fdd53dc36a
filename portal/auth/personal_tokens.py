"""Personal access tokens: made, found, used and revoked here, by the API and the portal.

A token is ``ipat_`` and 43 URL-safe characters (32 random bytes). The prefix tells it
from Flask-Security's auth tokens in the same header, so each goes to its own check.
``authenticate`` is the only way a token becomes a user: it refuses expired and revoked
tokens, those of deactivated users and those made before the user's password changed.
``PersonalTokenCreateSchema`` checks a request for one and ``issue`` makes it; who may
revoke a token is ``may_revoke``'s to say: for the API and the portal alike.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, request
from marshmallow import Schema, ValidationError, fields, validate, validates
from sqlalchemy import select

from portal import plain_text
from portal.auth.audit import record
from portal.auth.models import TOKEN_NAME_MAX, AccessKind, PersonalToken, TokenScope, User
from portal.db_types import utcnow
from portal.extensions import db

PREFIX = "ipat_"
DEFAULT_DAYS = 90
SCOPE_VALUES = [scope.value for scope in TokenScope]


def is_personal(raw: str | None) -> bool:
    return bool(raw) and raw.startswith(PREFIX)


def digest(secret: str) -> str:
    """sha256 is enough here: the secret has 256 random bits, so no one can guess it
    and there is nothing for a slow hash to protect against (see ``PersonalToken``)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def password_fingerprint(user: User) -> str:
    return hashlib.sha256((user.password or "").encode()).hexdigest()


def max_days() -> int:
    return current_app.config["API_TOKEN_MAX_DAYS"]


def create(user: User, name: str, scopes: set[str], days: int | None = None
           ) -> tuple[PersonalToken, str]:
    """Make a token for ``user``; returns it and its secret (shown once, never stored)."""
    secret = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = PersonalToken(
        user=user, name=name, token_hash=digest(secret), prefix=secret[:len(PREFIX) + 4],
        scopes=" ".join(sorted(scopes)), password_fingerprint=password_fingerprint(user),
        created_at=now,
        expires_at=now + timedelta(days=days or min(DEFAULT_DAYS, max_days())))
    db.session.add(token)
    record(AccessKind.token_created, user=user,
           detail=f"token {name!r}: {token.scopes}"[:255])
    return token, secret


class PersonalTokenCreateSchema(Schema):
    """What a new token is called, what it may do and for how long."""

    openapi_example = {"name": "nightly export", "scopes": ["incidents:read"],
                       "expires_in_days": 60}

    name = fields.String(required=True, validate=validate.Length(min=1, max=TOKEN_NAME_MAX))
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPE_VALUES)),
                         required=True, validate=validate.Length(min=1, max=len(SCOPE_VALUES)),
                         metadata={"description": "Any of " + ", ".join(SCOPE_VALUES)})
    expires_in_days = fields.Integer(strict=True, load_default=None, metadata={
        "description": "Days until it stops working: 90 unless given, at most "
                       "API_TOKEN_MAX_DAYS (365 unless configured)"})

    @validates("name")
    def _name(self, value, **_kwargs):
        if not value.strip():
            raise ValidationError("a name is needed")
        if (words := plain_text.problem(value)) is not None:
            raise ValidationError(words)  # the portal's page shows it as "name: holds..."

    @validates("expires_in_days")
    def _days(self, value, **_kwargs):
        if value is None:
            return
        most = current_app.config["API_TOKEN_MAX_DAYS"]
        if not 1 <= value <= most:
            raise ValidationError(f"must be between 1 and {most} days")


def issue(user: User, asked: dict) -> tuple[PersonalToken, str]:
    """Make the token ``asked`` (as ``PersonalTokenCreateSchema`` loaded it) describes."""
    return create(user, asked["name"].strip(), set(asked["scopes"]), asked["expires_in_days"])


def is_live(token: PersonalToken) -> bool:
    user = token.user
    return (token.revoked_at is None and token.expires_at > utcnow() and user.active
            and token.password_fingerprint == password_fingerprint(user))


def authenticate(raw: str) -> PersonalToken | None:
    """The live token ``raw`` names, or None. No side effects: Flask-Login's request
    loader calls it, before anyone is the current user."""
    token = db.session.scalar(select(PersonalToken).where(
        PersonalToken.token_hash == digest(raw)))
    return token if token is not None and is_live(token) else None


def note_use(token: PersonalToken) -> None:
    """Keep the last use (time, address); a use from a new address is audited."""
    address = request.remote_addr
    if token.last_used_ip != address:
        record(AccessKind.token_new_address, user=token.user,
               detail=f"token {token.name!r} used from {address}"[:255])
    token.last_used_at, token.last_used_ip = utcnow(), address
    db.session.commit()


def tokens_of(user: User | None):
    """A query of the tokens of ``user`` (everyone's when None), newest first."""
    query = select(PersonalToken).order_by(PersonalToken.id.desc())
    if user is not None:
        query = query.where(PersonalToken.user_id == user.id)
    return query


def may_revoke(user: User, token: PersonalToken) -> bool:
    """Whether ``user`` may revoke ``token``: its owner, or an admin (anyone's)."""
    return token.user_id == user.id or user.is_admin


def revoke(token: PersonalToken) -> None:
    """Revoke ``token`` now (once: revoking it again changes nothing); the caller commits."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(AccessKind.token_revoked, user=token.user, detail=f"token {token.name!r}")
