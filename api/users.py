"""``/api/v1/users``: the caller, and account management for admins."""
from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import abort

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from api.pagination import PAGINATION_HEADERS, Blueprint, pagination_headers
from api.access import account_managers_only, authenticated, caller, error_responses
from api.schemas import UserCreateSchema, UserPatchSchema, UserSchema
from portal.auth.accounts import create_account, update_account
from portal.auth.models import User
from portal.extensions import db

URL_PREFIX = "/users"
blp = Blueprint("users", __name__, description="User accounts")
blp_errors = error_responses(blp)


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, message=f"user {user_id} not found")
    return user


@blp.route("/me")
class Me(MethodView):
    decorators = [authenticated]

    @blp.response(200, UserSchema)
    @blp_errors(401)
    @blp.doc(operationId="getCurrentUser")
    def get(self):
        """Who you are

        The account the token (or session) belongs to, with its roles.
        """
        return caller()


@blp.route("")
class Users(MethodView):
    decorators = [account_managers_only, authenticated]

    @blp.response(200, UserSchema(many=True), headers=PAGINATION_HEADERS)
    @blp.paginate(page_size=20, max_page_size=100)
    @blp_errors(401, 403)
    @blp.doc(operationId="listUsers")
    def get(self, pagination_parameters):
        """List accounts (admins)

        Oldest first; pagination is in the `X-Pagination` header.
        """
        pagination_parameters.item_count = db.session.scalar(select(func.count(User.id)))
        page = db.session.scalars(
            select(User).options(selectinload(User.roles)).order_by(User.id)
            .offset(pagination_parameters.first_item)
            .limit(pagination_parameters.page_size)).all()
        return page, pagination_headers(pagination_parameters)

    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema, headers={
        "Location": {"description": "The new account", "schema": {"type": "string"}}})
    @blp_errors(401, 403, 422)
    @blp.doc(operationId="createUser")
    def post(self, data):
        """Create an account (admins)

        The answer's `Location` is the new account's address.
        """
        user = create_account(**data)
        db.session.commit()
        return user, 201, {"Location": url_for("users.UserById", user_id=user.id,
                                               _external=True)}


@blp.route("/<int:user_id>")
class UserById(MethodView):
    decorators = [account_managers_only, authenticated]

    @blp.response(200, UserSchema)
    @blp_errors(401, 403, 404)
    @blp.doc(operationId="getUser")
    def get(self, user_id):
        """Read an account (admins)

        Its roles, whether it is active, and when it was made.
        """
        return _user(user_id)

    @blp.arguments(UserPatchSchema)
    @blp.response(200, UserSchema)
    @blp_errors(401, 403, 404, 422)
    @blp.doc(operationId="updateUser")
    def patch(self, data, user_id):
        """Change roles, activation, password, email or username (admins)

        A new password or deactivation ends the user's sessions and API tokens.
        """
        user = update_account(_user(user_id), actor=caller(), **data)
        db.session.commit()
        return user
