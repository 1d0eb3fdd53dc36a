"""The incident grids (``portal.admin.grids``), their actions and the incident page.

``IncidentGridView`` is the base of every grid: its rows are the incidents the user may
see narrowed by its grid's conditions, every change goes through the lifecycle (refusals
become flash messages), and its bulk actions, buttons and action forms are made from the
lifecycle's command registry. ``AllIncidentsView`` is the admins' grid.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, flash, has_app_context, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import (BaseSQLAFilter, DateTimeBetweenFilter,
                                             FilterEqual)
from flask_admin.helpers import get_redirect_target
from flask_admin.model import typefmt
from flask_security import current_user
from markupsafe import Markup, escape
from wtforms.fields.choices import SelectChoice
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.admin.adapters import FreshFilterOptions
from portal.admin.base import SecureModelView
from portal.admin.changes import attempt, numbers
from portal.admin.forms import NEEDS_FORMS, ActionForm, CommentForm, IncidentForm, ReportForm
from portal.attachments import accept_uploads
from portal.attachments.forms import attach_all, uploads_in
from portal.attachments.service import AttachmentRefused
from portal.admin.grids import ALL_ROLES, GRIDS, Grid, STAFF
from portal.auth.models import Role, RoleName, User
from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.access import visibility_conditions, visible_comments
from portal.incidents.enums import Action, Labelled
from portal.incidents.lifecycle import ACTIONS, ActionSpec, Needs
from portal.incidents.listing import CHOICE_FILTERS, SLA_FILTERS
from portal.incidents.models import Incident, IncidentEvent
from portal.sla.words import sla_words

CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: The largest id a database integer column holds; larger "ids" are simply not found.
MAX_ID = 2 ** 63 - 1
GRID_BY_ENDPOINT = {grid.endpoint: grid for grid in GRIDS}


def parse_id(text) -> int | None:
    """An incident id from a query string or form (ASCII digits, in range), else None."""
    text = str(text)
    if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID:
        return int(text)
    return None


# --- how values read -------------------------------------------------------------------

def format_when(view, value: datetime, name) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def format_label(view, value: Labelled, name) -> str:
    return value.label


#: Dates and vocabularies read the same in every grid and on every incident page.
TYPE_FORMATTERS = {Labelled: format_label, datetime: format_when,
                   **typefmt.BASE_FORMATTERS}


def badge(kind: str):
    def format_badge(view, context, model, name):
        value = getattr(model, name)
        return Markup(f'<span class="badge badge-{kind}-{value.value}">'
                      f'{escape(value.label)}</span>')
    return format_badge


def format_due(view, context, model, name):
    text = format_when(view, model.due_at, name)
    if model.is_overdue:
        return Markup(f'<span class="overdue">{escape(text)} (overdue)</span>')
    return text


def format_sla(view, context, model, name):
    """The SLA badge: its state's colour, the time left (or since the breach) in words."""
    return Markup(f'<span class="badge sla-{model.sla_state.value}">'
                  f'{escape(sla_words(model))}</span>')


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


# --- filters: a value a filter does not know is ignored, and the page says so ----------

class ChoiceFilter(FilterEqual):
    """Equal to one of the filter's options; any other value is refused (not applied)."""

    def validate(self, value) -> bool:
        options = self.options() if callable(self.options) else self.options or ()
        return str(value) in {str(key) for key, _ in options}


class ReporterFilter(BaseSQLAFilter):
    """Reporter by (part of) their username: a text box, as there may be thousands."""

    def validate(self, value) -> bool:
        return 0 < len(value) <= 255

    def apply(self, query, value, alias=None):
        names = select(User.id).where(User.username.icontains(value, autoescape=True))
        return query.filter(Incident.reporter_id.in_(names))

    def operation(self):
        return "contains"


class OverdueFilter(BaseSQLAFilter):
    """Past its SLA target and still active (``Incident.is_overdue``)."""

    def validate(self, value) -> bool:
        return value in ("1", "0")

    def apply(self, query, value, alias=None):
        return query.filter(Incident.is_overdue if value == "1" else ~Incident.is_overdue)

    def operation(self):
        return "is"


class UTCDateTimeBetweenFilter(DateTimeBetweenFilter):
    """Flask-Admin's date-time range, read as UTC (the columns hold aware times)."""

    def clean(self, value):
        return [moment.replace(tzinfo=timezone.utc) for moment in super().clean(value)]


def choice_filter(name: str, enum_class) -> ChoiceFilter:
    return ChoiceFilter(getattr(Incident, name), name.capitalize(),
                        options=[(member.value, member.label) for member in enum_class])


def incident_filters(*, staff: bool) -> tuple:
    """The grid filters, in the order their ``flt`` numbers keep (bookmarks hold them):
    the vocabularies, the people (for staff), the creation date, overdue and the SLA
    state."""
    people = (ChoiceFilter(Incident.technician_id, "Technician", options=technician_options),
              ReporterFilter(Incident.reporter_id, "Reporter")) if staff else ()
    return (*(choice_filter(name, enum_class) for name, enum_class in CHOICE_FILTERS.items()),
            *people,
            UTCDateTimeBetweenFilter(Incident.created_at, "Created"),
            OverdueFilter(Incident.due_at, "Overdue", options=[("1", "yes"), ("0", "no")]),
            # Last, so the numbers of the filters above (in bookmarks) stay as they were.
            *(ChoiceFilter(getattr(Incident, name), "SLA",
                           options=[(member.value, member.label) for member in enum_class])
              for name, enum_class in SLA_FILTERS.items()))


# --- the grids -------------------------------------------------------------------------

class IncidentGridView(FreshFilterOptions, SecureModelView):
    """The base of every incident grid: ``grid`` says which rows and for whom."""

    grid: Grid
    details_template = "admin/incident_details.html"
    can_view_details = True
    column_list = ("id", "title", "status", "priority", "category", "reporter", "technician",
                   "created_at", "updated_at", "due_at", "sla_state")
    column_labels = {"id": "Number", "created_at": "Created", "updated_at": "Updated",
                     "due_at": "Due", "resolution_notes": "Resolution notes",
                     "resolved_at": "Resolved", "closed_at": "Closed", "sla_state": "SLA",
                     "first_response_due_at": "First response due",
                     "first_responded_at": "First response"}
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS
    column_formatters = {
        "id": lambda v, c, m, n: m.number,
        "status": badge("status"), "priority": badge("priority"),
        "reporter": lambda v, c, m, n: m.reporter.username,
        "technician": lambda v, c, m, n: m.technician.username if m.technician else "—",
        "due_at": format_due,
        "sla_state": format_sla,
    }
    column_formatters_export = {
        "id": lambda v, c, m, n: m.number,
        "status": lambda v, c, m, n: m.status.value,
        "priority": lambda v, c, m, n: m.priority.value,
        "category": lambda v, c, m, n: m.category.value,
        "reporter": lambda v, c, m, n: m.reporter.username,
        "technician": lambda v, c, m, n: m.technician.username if m.technician else "",
        "sla_state": lambda v, c, m, n: m.sla_state.value,
    }
    column_sortable_list = ("id", "title", "status", ("priority", Incident.priority_rank),
                            "category",
                            ("reporter", "reporter.username"),
                            ("technician", "technician.username"),
                            "created_at", "updated_at", "due_at", "sla_state")
    column_default_sort = ("created_at", True)
    column_searchable_list = ("title", "description")
    column_filters = incident_filters(staff=False)
    column_details_list = ("id", "title", "description", "status", "priority", "category",
                           "reporter", "technician", "resolution_notes", "created_at",
                           "updated_at", "due_at", "resolved_at", "closed_at")
    form = IncidentForm
    form_columns = lifecycle.UPDATABLE_FIELDS
    export_types = ["csv"]
    page_size = 20

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("name", self.grid.label)
        kwargs.setdefault("endpoint", self.grid.endpoint)
        if self.grid.url:
            kwargs.setdefault("url", self.grid.url)
        super().__init__(Incident, db, *args, **kwargs)

    @property
    def roles(self) -> frozenset[str]:
        return self.grid.roles

    def is_visible(self) -> bool:
        return self.grid.in_menu

    # --- who sees what ------------------------------------------------------------------

    def scope(self, query):
        """Narrow a query to this grid's rows: what the user may see, then the grid's own."""
        return query.filter(*visibility_conditions(current_user),
                            *self.grid.conditions(Incident, current_user))

    def get_query(self):
        return self.scope(super().get_query()).options(
            joinedload(Incident.reporter), joinedload(Incident.technician))

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def find(self, incident_id) -> Incident | None:
        """One of this grid's incidents by id (from a request), or None."""
        number = parse_id(incident_id)
        if number is None:
            return None
        return self.scope(db.session.query(Incident)).filter(Incident.id == number).first()

    def get_one(self, id):
        """Not visible is "not found" (404), never a hint that it exists."""
        number = parse_id(id)
        incident = None if number is None else self.scope(db.session.query(Incident)).filter(
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

    def get_create_form(self):
        return ReportForm

    def create_model(self, form):
        uploads = uploads_in(form.attachments)

        def report():
            incident = lifecycle.create(
                actor=current_user, title=form.title.data, description=form.description.data,
                priority=form.priority.data, category=form.category.data)
            attach_all(incident, current_user, uploads)
            return incident
        outcome = attempt(report, report=False)
        if outcome.ok:
            return outcome.result
        _show_refusal(form, outcome.refusal)
        return False  # Flask-Admin shows the form again, as it was filled in

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
        return attempt(lambda: lifecycle.update(model, actor=current_user, **changes)).ok

    def delete_model(self, model):
        return attempt(lambda: lifecycle.delete(model, actor=current_user)).ok

    # --- commands: bulk actions, buttons and their forms, all from the registry -------

    def is_action_allowed(self, name):
        """Offer the commands the user's roles could ever take (the lifecycle says)."""
        if name in {spec.name for spec in lifecycle.commands()}:
            return lifecycle.may_ever(current_user, name)
        return super().is_action_allowed(name)

    def run_command(self, spec: ActionSpec, ids, value=None) -> None:
        """Take ``spec`` on each incident; say what happened to which, and each refusal."""
        done, refused = [], []
        for incident_id in ids:
            incident = self.find(incident_id)
            if incident is None:
                refused.append(f"#{str(incident_id)[:20]}: not found")
                continue
            outcome = attempt(lambda: spec.run(incident, actor=current_user, value=value),
                              report=False)
            if outcome.ok:
                done.append(incident)
            else:
                refused.append(f"{incident.number}: {outcome.refusal.message}")
        if done:
            flash(self._done_message(spec, done, value), "success")
        if refused:
            flash(f"{len(refused)} refused — " + "; ".join(refused), "error")

    @staticmethod
    def _done_message(spec: ActionSpec, done: list[Incident], value) -> str:
        what = spec.done.format(technician=value.username if isinstance(value, User)
                                else "nobody")
        message = f"{numbers(done)} {what}"
        if spec.action is not Action.delete:
            statuses = {incident.status for incident in done}
            if len(statuses) == 1:
                message += f" — now {statuses.pop().label}"
        return message + "."

    def bulk(self, spec: ActionSpec, ids):
        """A bulk action: commands that need nothing run at once, the others ask first."""
        if spec.needs is Needs.nothing:
            self.run_command(spec, ids)
            return None
        return redirect(url_for(".command_view", command=spec.name, ids=",".join(ids),
                                url=self._return_url()))

    def _return_url(self) -> str:
        """Where to go back to: a URL of this site only (Flask-Admin's safe check)."""
        return get_redirect_target(param_name="url") or url_for(".index_view")

    def _details_url(self, incident) -> str:
        return url_for(".details_view", id=incident.id)

    def _command(self, name: str) -> ActionSpec:
        try:
            spec = ACTIONS[Action(name)]
        except ValueError:
            abort(404)
        if not spec.is_command:
            abort(404)
        return spec

    @expose("/command/<command>/", methods=("GET", "POST"))
    def command_view(self, command):
        """The form of a command that needs something (a technician, notes, a reason)."""
        spec = self._command(command)
        if spec.needs is Needs.nothing:
            abort(404)
        if not self.is_action_allowed(spec.name):
            abort(403)  # the assign form lists the technicians: only for those who may
        form = NEEDS_FORMS[spec.needs](ids=request.args.get("ids", ""))
        if spec.needs is Needs.technician:
            form.technician_id.choices = [SelectChoice(user_id, name)
                                          for user_id, name in technician_options()]
        ids = [i for i in str(form.ids.data or "").split(",") if parse_id(i)]
        if form.validate_on_submit():
            self.run_command(spec, ids, self._value_from(spec, form))
            return redirect(self._return_url())
        return self.render("admin/incident_action_form.html", form=form, title=spec.label,
                           numbers=[f"INC-{i}" for i in ids], return_url=self._return_url(),
                           submit=spec.label.rstrip("…"))

    @staticmethod
    def _value_from(spec: ActionSpec, form):
        if spec.needs is Needs.technician:
            return db.session.get(User, form.technician_id.data)
        return getattr(form, spec.needs.value).data

    @expose("/act/<command>/", methods=("POST",))
    def act_view(self, command):
        """A button on the incident page: one command that needs nothing, on one incident."""
        spec = self._command(command)
        if spec.needs is not Needs.nothing:
            abort(404)
        incident = self.get_one(request.args.get("id", ""))
        if not ActionForm().validate_on_submit():
            flash("The form expired: please try again.", "error")
            return redirect(self._details_url(incident))
        self.run_command(spec, [str(incident.id)])
        if spec.action is Action.delete:
            return redirect(url_for(".index_view"))
        return redirect(self._details_url(incident))

    @expose("/comment/", methods=("POST",))
    def comment_view(self):
        incident = self.get_one(request.args.get("id", ""))
        form = CommentForm()
        if form.validate_on_submit():
            uploads = uploads_in(form.attachments)

            def comment():
                internal = bool(form.internal.data)
                new = lifecycle.comment(incident, actor=current_user, body=form.body.data,
                                        internal=internal)
                attach_all(incident, current_user, uploads, comment=new, internal=internal)
            # The lifecycle decides who may post an internal note; a refusal is shown
            # on the page again, with what was typed still in the form.
            outcome = attempt(comment, report=False)
            if outcome.ok:
                flash("Comment added." if not uploads else
                      f"Comment added with {len(uploads)} attachment"
                      f"{'s' if len(uploads) > 1 else ''}.", "success")
                return redirect(self._details_url(incident))
            _show_refusal(form, outcome.refusal)
            return self.details_view()
        for errors in form.errors.values():
            flash(" ".join(errors), "error")
        return redirect(self._details_url(incident))

    def render(self, template, **kwargs):
        if template == self.details_template:
            incident = kwargs["model"]
            allowed = lifecycle.allowed_actions(current_user, incident)
            kwargs.update(
                commands=[spec for spec in lifecycle.commands() if spec.action in allowed],
                allowed=allowed, action_form=ActionForm(),
                comment_form=CommentForm(), comments=visible_comments(current_user, incident),
                editable=bool(lifecycle.editable_fields(current_user, incident)))
        elif template == self.list_template and "data" in kwargs:
            # Offer only the commands that some row on this page allows.
            applicable = set().union(*(lifecycle.allowed_actions(current_user, row)
                                       for row in kwargs["data"]))
            kwargs["actions"] = [(name, text) for name, text in kwargs.get("actions", [])
                                 if Action(name) in applicable]
            kwargs["row_editable"] = lambda row: bool(
                lifecycle.editable_fields(current_user, row))
        return super().render(template, **kwargs)


def _show_refusal(form, refusal) -> None:
    """A refused file is an error of the file input (naming the file); others flash."""
    if isinstance(refusal, AttachmentRefused):
        form.attachments.errors = [*form.attachments.errors, refusal.message]
    flash(refusal.message, "error")


def _bulk_handler(spec: ActionSpec):
    def handle(self, ids):
        return self.bulk(spec, ids)
    handle.__name__ = f"action_{spec.name}"
    return handle


# Flask-Admin finds bulk actions by its @action decorator: one per command.
for _spec in lifecycle.commands():
    setattr(IncidentGridView, f"action_{_spec.name}",
            action(_spec.name, _spec.label, _spec.confirm)(_bulk_handler(_spec)))


class AllIncidentsView(IncidentGridView):
    """Every incident (the admins' grid), with the staff filters and CSV export."""

    grid = GRID_BY_ENDPOINT["all_incidents"]
    column_filters = incident_filters(staff=True)


class QueueView(IncidentGridView):
    """A technician's queue: assigned to them and not closed."""

    grid = GRID_BY_ENDPOINT["queue"]
    column_filters = incident_filters(staff=True)


class UnassignedView(IncidentGridView):
    """The unassigned queue: open, no technician."""

    grid = GRID_BY_ENDPOINT["unassigned"]
    column_filters = incident_filters(staff=True)


class MyIncidentsView(IncidentGridView):
    """What a user reported; where reporters report new ones."""

    grid = GRID_BY_ENDPOINT["mine"]


class IncidentPageView(IncidentGridView):
    """The read-only fallback: the page of any incident the user may see (not in a menu)."""

    grid = GRID_BY_ENDPOINT["incident"]
    can_create = False
    can_edit = False

    @expose("/")
    def index_view(self):
        from portal.admin.grids import start_page
        return redirect(start_page(current_user))


#: One view class per grid of the table, in its order.
GRID_VIEWS = (AllIncidentsView, QueueView, UnassignedView, MyIncidentsView, IncidentPageView)
assert [view.grid for view in GRID_VIEWS] == list(GRIDS), "a grid without its view"
# Reports and comments carry files: their POSTs may be larger (portal.attachments).
accept_uploads(*(f"{grid.endpoint}.{view}" for grid in GRIDS
                 for view in ("create_view", "comment_view")))

__all__ = ["ALL_ROLES", "STAFF", "GRID_VIEWS", "IncidentGridView", "parse_id"]
