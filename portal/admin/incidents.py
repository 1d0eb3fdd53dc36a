"""The incident grids (all, my queue, unassigned, my incidents), their actions and the
incident page. Every query goes through ``visibility_conditions``; every change through
the lifecycle, whose refusals become flash messages."""
from __future__ import annotations

from flask import abort, flash, has_app_context, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_security import current_user
from markupsafe import Markup, escape
from wtforms.fields.choices import SelectChoice
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.admin.base import SecureModelView, safe_return_url
from portal.admin.filters import Equal, UTCBetween
from portal.admin.forms import ActionForm, AssignForm, CommentForm, IncidentForm, ResolveForm
from portal.auth.models import Role, RoleName, User
from portal.db_types import utcnow
from portal.extensions import db
from portal.ids import parse_id
from portal.incidents import lifecycle
from portal.incidents.access import visibility_conditions, visible_comments
from portal.incidents.enums import Action, Category, Priority, Status
from portal.incidents.models import Incident, IncidentEvent

ALL_ROLES = frozenset(role.value for role in RoleName)
STAFF = frozenset({RoleName.admin.value, RoleName.technician.value})
OPEN_STATUSES = (Status.open, Status.assigned, Status.in_progress, Status.on_hold)
#: Actions that need no input, with their button labels.
SIMPLE_ACTIONS = {Action.start: "Start", Action.hold: "Hold", Action.resume: "Resume",
                  Action.reopen: "Reopen", Action.close: "Close", Action.delete: "Delete"}
ACTION_NAMES = frozenset(action.value for action in Action)
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def badge(kind: str):
    def format_badge(view, context, model, name):
        value = getattr(model, name).value
        return Markup(f'<span class="badge badge-{kind}-{value}">'
                      f'{escape(value.replace("_", " "))}</span>')
    return format_badge


def format_due(view, context, model, name):
    text = model.due_at.strftime("%Y-%m-%d %H:%M")
    if model.is_overdue:
        return Markup(f'<span class="overdue">{text} (overdue)</span>')
    return text


def technician_options() -> list[tuple[int, str]]:
    """Users an incident may be assigned to: active technicians and admins."""
    if not has_app_context():
        return []  # Flask-Admin builds its filters once before any request
    # Two columns, not whole users: it runs on every grid page (the technician filter).
    rows = db.session.execute(
        select(User.id, User.username).join(User.roles).where(
            Role.name.in_([RoleName.technician.value, RoleName.admin.value]),
            User.active.is_(True)).order_by(User.username).distinct())
    return [(user_id, username) for user_id, username in rows]


class ReporterFilter(BaseSQLAFilter):
    """Reporter by (part of) their username: a text box, as there may be thousands."""

    def apply(self, query, value, alias=None):
        names = select(User.id).where(User.username.icontains(value, autoescape=True))
        return query.filter(Incident.reporter_id.in_(names))

    def operation(self):
        return "contains"


class OverdueFilter(Equal):
    """Past its SLA target and not yet resolved."""

    def apply(self, query, value, alias=None):
        overdue = (Incident.due_at < utcnow()) & Incident.status.in_(OPEN_STATUSES)
        return query.filter(overdue if value == "1" else ~overdue)

    def operation(self):
        return "is"


class IncidentView(SecureModelView):
    """All incidents the user may see (the admins' grid); subclasses narrow it."""

    roles = frozenset({RoleName.admin.value})
    details_template = "admin/incident_details.html"
    can_view_details = True
    column_list = ("id", "title", "status", "priority", "category", "reporter", "technician",
                   "created_at", "updated_at", "due_at")
    column_labels = {"id": "Number", "created_at": "Created", "updated_at": "Updated",
                     "due_at": "Due"}
    column_formatters = {
        "id": lambda v, c, m, n: m.number,
        "status": badge("status"), "priority": badge("priority"),
        "category": lambda v, c, m, n: m.category.value,
        "reporter": lambda v, c, m, n: m.reporter.username,
        "technician": lambda v, c, m, n: m.technician.username if m.technician else "—",
        "created_at": lambda v, c, m, n: m.created_at.strftime("%Y-%m-%d %H:%M"),
        "updated_at": lambda v, c, m, n: m.updated_at.strftime("%Y-%m-%d %H:%M"),
        "due_at": format_due,
    }
    column_formatters_export = {
        "id": lambda v, c, m, n: m.number,
        "status": lambda v, c, m, n: m.status.value,
        "priority": lambda v, c, m, n: m.priority.value,
        "category": lambda v, c, m, n: m.category.value,
        "reporter": lambda v, c, m, n: m.reporter.username,
        "technician": lambda v, c, m, n: m.technician.username if m.technician else "",
    }
    column_sortable_list = ("id", "title", "status", ("priority", Incident.priority_rank),
                            "category",
                            ("reporter", "reporter.username"),
                            ("technician", "technician.username"),
                            "created_at", "updated_at", "due_at")
    column_default_sort = ("created_at", True)
    column_searchable_list = ("title", "description")
    column_filters = (
        Equal(Incident.status, "Status", options=[(s.value, s.value) for s in Status]),
        Equal(Incident.priority, "Priority", options=[(p.value, p.value) for p in Priority]),
        Equal(Incident.category, "Category", options=[(c.value, c.value) for c in Category]),
        Equal(Incident.technician_id, "Technician", options=technician_options),
        ReporterFilter(Incident.reporter_id, "Reporter"),
        UTCBetween(Incident.created_at, "Created"),
        OverdueFilter(Incident.due_at, "Overdue", options=[("1", "yes"), ("0", "no")]),
    )
    column_details_list = ("id", "title", "description", "status", "priority", "category",
                           "reporter", "technician", "resolution_notes", "created_at",
                           "updated_at", "due_at", "resolved_at", "closed_at")
    form = IncidentForm
    form_columns = ("title", "description", "priority", "category")
    export_types = ["csv"]
    page_size = 20

    def _get_filter_groups(self):
        self._refresh_filters_cache()  # the technician list changes: read it per page
        return super()._get_filter_groups()

    # --- who sees what ------------------------------------------------------------------

    def scope(self, query):
        """Narrow a query to what this grid shows (the role filter, then the view's own)."""
        return query.filter(*visibility_conditions(current_user))

    def get_query(self):
        return self.scope(super().get_query()).options(
            joinedload(Incident.reporter), joinedload(Incident.technician))

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def get_one(self, id):
        """Not visible is "not found" (404), never a hint that it exists."""
        incident, number = None, parse_id(id)
        if number is not None:
            incident = self.scope(db.session.query(Incident)).filter(
                Incident.id == number).options(
                joinedload(Incident.reporter), joinedload(Incident.technician),
                selectinload(Incident.events).joinedload(IncidentEvent.actor)).first()
        if incident is None:
            abort(404)
        return incident

    @property
    def can_export(self):
        return current_user.is_admin

    @property
    def can_delete(self):
        return lifecycle.may_ever(current_user, Action.delete)

    def get_export_value(self, model, name):
        """Spreadsheets run cells starting with = + - @ as formulas: neutralise them."""
        value = super().get_export_value(model, name)
        if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
            return "'" + value
        return value

    # --- changes go through the lifecycle ---------------------------------------------

    def create_model(self, form):
        try:
            incident = lifecycle.create(actor=current_user, title=form.title.data,
                                        description=form.description.data,
                                        priority=form.priority.data, category=form.category.data)
            db.session.commit()
        except lifecycle.LifecycleError as refused:
            db.session.rollback()
            flash(refused.message, "error")
            return False
        self._on_model_change(form, incident, True)
        return incident

    def get_save_return_url(self, model, is_created=False):
        """After reporting or editing, show the incident itself: its number and history."""
        return self._details_url(model)

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        allowed = lifecycle.editable_fields(current_user, obj) if obj is not None else set()
        for name in list(self.form_columns):
            if name not in allowed and getattr(form, name, None) is not None:
                delattr(form, name)  # WTForms leaves the attribute set to None
        return form

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        incident = self.get_one(request.args.get("id", ""))
        if not lifecycle.editable_fields(current_user, incident):
            flash(f"You may not edit {incident.number} now.", "error")
            return redirect(self._details_url(incident))
        return super().edit_view()

    def update_model(self, form, model):
        changes = {name: getattr(form, name).data for name in self.form_columns
                   if getattr(form, name, None) is not None}
        changes = {name: value for name, value in changes.items()
                   if str(getattr(model, name)) != str(value)}
        try:
            if changes:
                lifecycle.update(model, actor=current_user, **changes)
            db.session.commit()
        except lifecycle.LifecycleError as refused:
            db.session.rollback()
            flash(refused.message, "error")
            return False
        return True

    def delete_model(self, model):
        try:
            lifecycle.delete(model, actor=current_user)
            db.session.commit()
        except lifecycle.LifecycleError as refused:
            db.session.rollback()
            flash(refused.message, "error")
            return False
        return True

    # --- bulk actions -----------------------------------------------------------------

    def is_action_allowed(self, name):
        """Offer the bulk actions the user's roles could ever take (the lifecycle says)."""
        if name in ACTION_NAMES:
            return lifecycle.may_ever(current_user, name)
        return super().is_action_allowed(name)

    def run_bulk(self, ids, call) -> None:
        """Apply ``call`` to each incident; report successes and each refusal with why."""
        done, refused = 0, []
        for incident_id in ids:
            number = parse_id(incident_id)
            incident = self.scope(db.session.query(Incident)).filter(
                Incident.id == number).first() if number is not None else None
            if incident is None:
                refused.append(f"#{incident_id}: not found")
                continue
            try:
                call(incident)
                db.session.commit()
                done += 1
            except lifecycle.LifecycleError as error:
                db.session.rollback()
                refused.append(f"{incident.number}: {error.message}")
        if done:
            flash(f"{done} incident{'s' if done != 1 else ''} updated.", "success")
        if refused:
            flash(f"{len(refused)} refused — " + "; ".join(refused), "error")

    def _simple(self, action_name: Action):
        function = getattr(lifecycle, action_name.value)
        return lambda ids: self.run_bulk(ids, lambda i: function(i, actor=current_user))

    @action("assign", "Assign to…")
    def action_assign(self, ids):
        return redirect(url_for(".assign_view", ids=",".join(ids), url=self._return_url()))

    @action("start", "Start")
    def action_start(self, ids):
        self._simple(Action.start)(ids)

    @action("hold", "Hold")
    def action_hold(self, ids):
        self._simple(Action.hold)(ids)

    @action("resume", "Resume")
    def action_resume(self, ids):
        self._simple(Action.resume)(ids)

    @action("resolve", "Resolve…")
    def action_resolve(self, ids):
        return redirect(url_for(".resolve_view", ids=",".join(ids), url=self._return_url()))

    @action("reopen", "Reopen")
    def action_reopen(self, ids):
        self._simple(Action.reopen)(ids)

    @action("close", "Close")
    def action_close(self, ids):
        self._simple(Action.close)(ids)

    @action("delete", "Delete", "Delete the selected incidents? This cannot be undone.")
    def action_delete(self, ids):
        self._simple(Action.delete)(ids)

    # --- the forms behind "Assign to…" and "Resolve…", and the incident page's buttons ---

    def _return_url(self) -> str:
        return safe_return_url(url_for(".index_view"))

    def _details_url(self, incident) -> str:
        return url_for(".details_view", id=incident.id)

    @expose("/assign/", methods=("GET", "POST"))
    def assign_view(self):
        if not self.is_action_allowed("assign"):
            abort(403)  # the form lists the technicians: only for those who may assign
        form = AssignForm(ids=request.args.get("ids", ""))
        form.technician_id.choices = [SelectChoice(user_id, name)
                                      for user_id, name in technician_options()]
        if form.validate_on_submit():
            technician = db.session.get(User, form.technician_id.data)
            self.run_bulk(form.ids.data.split(","), lambda incident: lifecycle.assign(
                incident, actor=current_user, technician=technician))
            return redirect(self._return_url())
        return self.render("admin/incident_action_form.html", form=form, title="Assign to…",
                           numbers=self._numbers(form.ids.data), return_url=self._return_url(),
                           submit="Assign")

    @expose("/resolve/", methods=("GET", "POST"))
    def resolve_view(self):
        if not self.is_action_allowed("resolve"):
            abort(403)
        form = ResolveForm(ids=request.args.get("ids", ""))
        if form.validate_on_submit():
            notes = form.resolution_notes.data
            self.run_bulk(form.ids.data.split(","), lambda incident: lifecycle.resolve(
                incident, actor=current_user, resolution_notes=notes))
            return redirect(self._return_url())
        return self.render("admin/incident_action_form.html", form=form, title="Resolve",
                           numbers=self._numbers(form.ids.data), return_url=self._return_url(),
                           submit="Resolve")

    def _numbers(self, ids: str) -> list[str]:
        return [f"INC-{number}" for number in map(parse_id, ids.split(",")) if number]

    @expose("/act/<action_name>/", methods=("POST",))
    def act_view(self, action_name):
        """A button on the incident page: one lifecycle action on one incident."""
        if action_name not in {a.value for a in SIMPLE_ACTIONS}:
            abort(404)
        incident = self.get_one(request.args.get("id", ""))
        if not ActionForm().validate_on_submit():
            flash("The form expired: please try again.", "error")
            return redirect(self._details_url(incident))
        self.run_bulk([str(incident.id)], lambda i: getattr(lifecycle, action_name)(
            i, actor=current_user))
        if action_name == Action.delete.value:
            return redirect(url_for(".index_view"))
        return redirect(self._details_url(incident))

    @expose("/comment/", methods=("POST",))
    def comment_view(self):
        incident = self.get_one(request.args.get("id", ""))
        form = CommentForm()
        if form.validate_on_submit():
            try:
                lifecycle.comment(incident, actor=current_user, body=form.body.data,
                                  internal=bool(form.internal.data) and current_user.is_staff)
                db.session.commit()
                flash("Comment added.", "success")
            except lifecycle.LifecycleError as refused:
                db.session.rollback()
                flash(refused.message, "error")
        else:
            for errors in form.errors.values():
                flash(" ".join(errors), "error")
        return redirect(self._details_url(incident))

    def render(self, template, **kwargs):
        if template == self.details_template:
            incident = kwargs["model"]
            kwargs.update(
                allowed=lifecycle.allowed_actions(current_user, incident),
                simple_actions=SIMPLE_ACTIONS, action_form=ActionForm(),
                comment_form=CommentForm(), comments=visible_comments(current_user, incident),
                editable=bool(lifecycle.editable_fields(current_user, incident)))
        return super().render(template, **kwargs)


class QueueView(IncidentView):
    """A technician's queue: assigned to them and not closed."""

    roles = STAFF

    def scope(self, query):
        return super().scope(query).filter(Incident.technician_id == current_user.id,
                                           Incident.status != Status.closed)


class UnassignedView(IncidentView):
    """The unassigned queue: open, no technician."""

    roles = STAFF

    def scope(self, query):
        return super().scope(query).filter(Incident.status == Status.open,
                                           Incident.technician_id.is_(None))


class MyIncidentsView(IncidentView):
    """What a reporter reported; where they report new ones."""

    roles = ALL_ROLES
    column_filters = IncidentView.column_filters[:3] + IncidentView.column_filters[5:]

    def scope(self, query):
        return super().scope(query).filter(Incident.reporter_id == current_user.id)
