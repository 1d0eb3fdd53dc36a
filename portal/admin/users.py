"""Users and roles, for admins: create with a role, change roles, (de)activate, set a
password. Every change goes through ``portal.auth.accounts``; hashes are never shown."""
from __future__ import annotations

from flask import flash
from flask_security import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from portal.admin.base import SecureModelView
from portal.auth.accounts import ROLE_NAMES, AccountError, create_account, update_account
from portal.extensions import db


class UserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    username = StringField("Username", validators=[DataRequired()])
    roles = SelectMultipleField("Roles", choices=[SelectChoice(n, n) for n in ROLE_NAMES],
                                validators=[DataRequired("Give the account a role.")])
    active = BooleanField("Active", default=True)
    password = PasswordField("Password", validators=[Optional()],
                             description="At least 12 characters. Leave empty to keep it.")


class UserView(SecureModelView):
    column_list = ("id", "email", "username", "roles", "active", "created_at", "last_login_at")
    column_labels = {"created_at": "Created", "last_login_at": "Last login"}
    column_details_list = column_list + ("current_login_ip", "login_count", "tf_primary_method")
    column_formatters = {
        "roles": lambda v, c, m, n: ", ".join(sorted(m.role_names)),
        "created_at": lambda v, c, m, n: m.create_datetime.strftime("%Y-%m-%d %H:%M"),
        "tf_primary_method": lambda v, c, m, n: m.tf_primary_method or "off",
    }
    column_searchable_list = ("email", "username")
    column_filters = ("active",)
    column_sortable_list = ("id", "email", "username", "active", "last_login_at")
    can_view_details = True
    can_delete = False  # deactivate instead: history keeps its people
    form = UserForm

    def on_form_prefill(self, form, id):
        user = self.get_one(id)
        form.roles.data = sorted(user.role_names)
        form.password.data = ""

    def create_model(self, form):
        if not form.password.data:
            flash("password: a new account needs a password.", "error")
            return False
        return self._save(lambda: create_account(
            email=form.email.data, username=form.username.data, password=form.password.data,
            roles=form.roles.data, active=form.active.data))

    def update_model(self, form, model):
        changes = {"email": form.email.data, "username": form.username.data,
                   "roles": form.roles.data, "active": form.active.data}
        changes = {k: v for k, v in changes.items()
                   if (sorted(model.role_names) if k == "roles" else getattr(model, k)) !=
                   (sorted(v) if k == "roles" else v)}
        if form.password.data:
            changes["password"] = form.password.data
        return self._save(lambda: update_account(model, actor=current_user, **changes))

    def _save(self, change):
        try:
            user = change()
            db.session.commit()
        except AccountError as refused:
            db.session.rollback()
            flash(f"{refused.field}: {refused.message}" if refused.field else refused.message,
                  "error")
            return False
        return user
