"""The portal's "API tokens" page (account menu): make, list and revoke your personal
access tokens. The rules are the API's: the same schema checks the form
(``personal_tokens.PersonalTokenCreateSchema``), the same functions make and revoke."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user
from marshmallow import ValidationError

from portal.auth import personal_tokens
from portal.auth.models import PersonalToken, TokenScope
from portal.extensions import csrf, db

bp = Blueprint("account_tokens", __name__, url_prefix="/account/tokens")


def _page(secret: str | None = None, status: int = 200):
    tokens = db.session.scalars(personal_tokens.tokens_of(current_user)).all()
    return render_template("account/tokens.html", tokens=tokens, secret=secret,
                           scopes=list(TokenScope), max_days=personal_tokens.max_days(),
                           is_live=personal_tokens.is_live), status


@bp.get("")
@auth_required("session")
def index():
    return _page()


@bp.post("")
@auth_required("session")
def create():
    """Make a token; the page shows its secret this once (it is not stored)."""
    csrf.protect()
    days = request.form.get("expires_in_days", "").strip()
    try:
        data = personal_tokens.PersonalTokenCreateSchema().load({
            "name": request.form.get("name", ""),
            "scopes": request.form.getlist("scopes"),
            # A form sends text: a whole number becomes one, anything else the schema
            # refuses by name ("Not a valid integer").
            "expires_in_days": (int(days) if days.isdigit() and len(days) < 10
                                else days or None)})
    except ValidationError as error:
        for field, reasons in error.messages.items():
            flash(f"{field}: {' '.join(map(str, reasons))}", "danger")
        return _page(status=422)
    token, secret = personal_tokens.issue(current_user, data)
    db.session.commit()
    flash(f"Token {token.name!r} made: copy it now, it is not shown again.", "success")
    return _page(secret=secret, status=201)


@bp.post("/<int:token_id>/revoke")
@auth_required("session")
def revoke(token_id: int):
    """Revoke a token: yours, or (admins) anyone's, as in the API; others' do not exist."""
    csrf.protect()
    token = db.session.get(PersonalToken, token_id)
    if token is None or not personal_tokens.may_revoke(current_user, token):
        abort(404)
    personal_tokens.revoke(token)
    db.session.commit()
    flash(f"Token {token.name!r} revoked.", "success")
    return redirect(url_for(".index"))
