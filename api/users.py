"""``/api/v1/users``: the caller, and account management for admins."""
from __future__ import annotations

from flask.views import MethodView

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from api.pagination import PAGINATION_HEADERS, Blueprint, one_page
from api.access import (account_managers_only, authenticated, caller, found, location,
                        location_header, operations)
from api.schemas import UserCreateSchema, UserPatchSchema, UserSchema
from portal.auth.accounts import create_account, update_account
from portal.auth.models import User
from portal.extensions import db

URL_PREFIX = "/users"
blp = Blueprint("users", __name__, description="User accounts")
operation = operations(blp)


def _user(user_id: int) -> User:
    return found(User, user_id, "user")


@blp.route("/me")
class Me(MethodView):
    decorators = [authenticated]

    @operation("getCurrentUser", 200, UserSchema, errors=(401,))
    def get(self):
        """Who you are

        The account the token (or session) belongs to, with its roles.
        """
        return caller()


@blp.route("")
class Users(MethodView):
    decorators = [account_managers_only, authenticated]

    @operation("listUsers", 200, UserSchema(many=True), errors=(401, 403),
               headers=PAGINATION_HEADERS)
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, pagination_parameters):
        """List accounts (admins)

        Oldest first; pagination is in the `X-Pagination` header.
        """
        return one_page(select(User).options(selectinload(User.roles)),
                        pagination_parameters, User.id)

    @blp.arguments(UserCreateSchema)
    @operation("createUser", 201, UserSchema, errors=(401, 403, 422),
               headers=location_header("The new account"))
    def post(self, data):
        """Create an account (admins)

        The answer's `Location` is the new account's address.
        """
        user = create_account(**data)
        db.session.commit()
        return user, 201, location("users.UserById", user_id=user.id)


@blp.route("/<int:user_id>")
class UserById(MethodView):
    decorators = [account_managers_only, authenticated]

    @operation("getUser", 200, UserSchema, errors=(401, 403, 404))
    def get(self, user_id):
        """Read an account (admins)

        Its roles, whether it is active, and when it was made.
        """
        return _user(user_id)

    @blp.arguments(UserPatchSchema)
    @operation("updateUser", 200, UserSchema, errors=(401, 403, 404, 422))
    def patch(self, data, user_id):
        """Change roles, activation, password, email or username (admins)

        A new password or deactivation ends the user's sessions and API tokens.
        """
        user = update_account(_user(user_id), actor=caller(), **data)
        db.session.commit()
        return user
