"""Users and roles, for admins: create with roles (checkboxes), change them, (de)activate
— handing a technician's active incidents to the queue or to someone else in the same
step — and set a password. Account changes go through ``portal.auth.accounts``, the
hand-over through the lifecycle's ``assign``; hashes are never shown. "Last login" is read
from the access log, which records every login. Accounts made here are confirmed (the
admin vouches for the address); self-registrations show whether theirs is."""
from __future__ import annotations

from flask import flash, g
from flask_security import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import (BooleanField, EmailField, PasswordField, SelectField,
                     SelectMultipleField, StringField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.admin.base import SecureModelView
from portal.admin.incidents import technician_options
from portal.auth.accounts import AccountError, create_account, update_account
from portal.auth.models import AccessEvent, AccessKind, User
from portal.auth.roles import ROLE_NAMES
from portal.display import default_zone_label, when, zone_choices
from portal.extensions import db
from portal.plain_text_input import PortalForm
from portal.refusals import Refused
from portal.incidents import lifecycle
from portal.incidents.enums import ACTIVE
from portal.incidents.models import Incident

#: The hand-over choices that are not a person.
TO_QUEUE, KEEP = "queue", "keep"
TWO_FACTOR = {None: "Off", "authenticator": "Authenticator app", "email": "Email code",
              "sms": "Text message"}


class UserForm(PortalForm):
    email = EmailField("Email", validators=[DataRequired()])
    username = StringField("Username", validators=[DataRequired()])
    roles = SelectMultipleField("Roles", choices=[SelectChoice(n, n.capitalize())
                                                  for n in ROLE_NAMES],
                                widget=ListWidget(prefix_label=False),
                                option_widget=CheckboxInput(),
                                validators=[DataRequired("Give the account a role.")])
    active = BooleanField("Active (may log in)", default=True)
    handover = SelectField("Their active incidents, if you deactivate the account",
                           validate_choice=False, default=TO_QUEUE)
    password = PasswordField("Password", validators=[Optional()],
                             description="At least 12 characters. Leave empty to keep it.")
    # Checked by update_account / create_account, as on the user's own Preferences page.
    time_zone = SelectField("Time zone", validate_choice=False, default="",
                            description="The zone this user reads times in.")


def active_incidents_of(user: User) -> list[Incident]:
    return list(db.session.scalars(select(Incident).where(
        Incident.technician_id == user.id, Incident.status.in_(ACTIVE)).order_by(Incident.id)))


def last_logins(user_ids) -> dict[int, object]:
    """When each of ``user_ids`` last logged in, from the access log (one statement)."""
    return dict(db.session.execute(
        select(AccessEvent.user_id, func.max(AccessEvent.created_at))
        .where(AccessEvent.kind == AccessKind.login.value, AccessEvent.user_id.in_(user_ids))
        .group_by(AccessEvent.user_id)).all())


def _last_login(view, context, model, name):
    moment = g.get("portal_last_logins", {}).get(model.id)
    return when(moment) if moment else "Never"


class UserView(SecureModelView):
    column_list = ("id", "email", "username", "roles", "active", "confirmed_at",
                   "created_at", "last_login")
    column_labels = {"id": "Number", "created_at": "Created", "last_login": "Last login",
                     "confirmed_at": "Address confirmed",
                     "current_login_ip": "Last login from", "login_count": "Logins",
                     "tf_primary_method": "Two-factor method", "active": "Active",
                     "time_zone": "Time zone"}
    column_details_list = column_list + ("tf_primary_method", "time_zone")
    column_formatters = {
        "roles": lambda v, c, m, n: ", ".join(sorted(m.role_names)),
        "created_at": lambda v, c, m, n: when(m.create_datetime),
        "active": lambda v, c, m, n: "Yes" if m.active else "No (cannot log in)",
        # A registration waiting for its link: it cannot log in, and a new account with
        # its address or username replaces it (portal/auth/confirmation.py).
        "confirmed_at": lambda v, c, m, n: when(m.confirmed_at) if m.confirmed_at
        else "No (waiting for its link)",
        "last_login": _last_login,
        "tf_primary_method": lambda v, c, m, n: TWO_FACTOR.get(m.tf_primary_method,
                                                               m.tf_primary_method),
        "time_zone": lambda v, c, m, n: m.time_zone or default_zone_label(),
    }
    column_formatters_detail = column_formatters
    column_searchable_list = ("email", "username")
    column_filters = ("active",)
    column_sortable_list = ("id", "email", "username", "active")
    can_view_details = True
    can_delete = False  # deactivate instead: history keeps its people
    form = UserForm

    def render(self, template, **kwargs):
        # Last logins of the rows shown, in one statement, for the formatter above.
        rows = kwargs.get("data") or ([kwargs["model"]] if kwargs.get("model") else [])
        g.portal_last_logins = last_logins([row.id for row in rows]) if rows else {}
        return super().render(template, **kwargs)

    @staticmethod
    def _zones(form):
        form.time_zone.choices = zone_choices()
        return form

    def create_form(self, obj=None):
        form = self._zones(super().create_form(obj))
        del form.handover  # a new account holds no incidents
        return form

    def edit_form(self, obj=None):
        form = self._zones(super().edit_form(obj))
        held = active_incidents_of(obj) if obj is not None else []
        if not held:
            del form.handover
            return form
        others = [(user_id, name) for user_id, name in technician_options()
                  if user_id != obj.id]
        form.handover.choices = [
            SelectChoice(TO_QUEUE, "Return them to the unassigned queue"),
            *[SelectChoice(str(user_id), f"Reassign them to {name}")
              for user_id, name in others],
            SelectChoice(KEEP, "Leave them assigned to this account")]
        form.handover.description = Markup("{count} active: {numbers}").format(
            count=len(held), numbers=", ".join(incident.number for incident in held))
        return form

    def on_form_prefill(self, form, id):
        user = self.get_one(id)
        form.roles.data = sorted(user.role_names)
        form.password.data = ""
        form.time_zone.data = user.time_zone or ""

    def create_model(self, form):
        if not form.password.data:
            flash("password: a new account needs a password.", "error")
            return False
        return self._save(lambda: create_account(
            email=form.email.data, username=form.username.data, password=form.password.data,
            roles=form.roles.data, active=form.active.data,
            time_zone=form.time_zone.data or None))

    def update_model(self, form, model):
        changes = {"email": form.email.data, "username": form.username.data,
                   "roles": form.roles.data, "active": form.active.data,
                   "time_zone": form.time_zone.data or None}
        changes = {k: v for k, v in changes.items()
                   if (sorted(model.role_names) if k == "roles" else getattr(model, k)) !=
                   (sorted(v) if k == "roles" else v)}
        if form.password.data:
            changes["password"] = form.password.data
        handover = getattr(form, "handover", None)
        deactivating = changes.get("active") is False

        def change():
            moved = []
            if deactivating and handover is not None and handover.data != KEEP:
                moved = self._hand_over(model, handover.data)
            user = update_account(model, actor=current_user, **changes)
            if moved:
                flash(f"{len(moved)} active incident{'s' if len(moved) != 1 else ''} of "
                      f"{model.username} {moved[0]}.", "success")
            return user
        return self._save(change)

    @staticmethod
    def _hand_over(user: User, choice: str) -> list[str]:
        """Give ``user``'s active incidents to the queue or to the chosen person (the
        lifecycle's ``assign``, so each gets its event and its mail)."""
        target = None
        if choice != TO_QUEUE:
            target = db.session.get(User, int(choice)) if choice.isdigit() else None
            if target is None:
                raise AccountError("choose who takes the incidents over", field="handover")
        held = active_incidents_of(user)
        for incident in held:
            lifecycle.assign(incident, actor=current_user, technician=target)
        where = f"reassigned to {target.username}" if target else "returned to the queue"
        return [where] if held else []

    def _save(self, change):
        try:
            user = change()
            db.session.commit()
        except Refused as refused:
            db.session.rollback()
            field = getattr(refused, "field", None)
            flash(f"{field}: {refused.message}" if field else refused.message, "error")
            return False
        return user

