"""The incident grids (``portal.admin.grids``), their actions and the incident page.

``IncidentGridView`` is the base of every grid: its rows are the incidents the user may
see narrowed by its grid's conditions, every change goes through the lifecycle or, when
it takes several steps, a flow (``portal.flows``; refusals become flash
messages), and its bulk actions, buttons and action forms are made from the
lifecycle's command registry; each of its forms is sent once (``portal.admin.form_keys``).
``AllIncidentsView`` is the admins' grid.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, flash, has_app_context, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import (BaseSQLAFilter, DateTimeBetweenFilter,
                                             FilterEqual)
from flask_admin.model import typefmt
from flask_security import current_user
from markupsafe import Markup, escape
from wtforms.fields.choices import SelectChoice
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from portal.admin.adapters import FreshFilterOptions
from portal.admin.base import SecureModelView, safe_return_url
from portal.admin.changes import attempt, numbers
from portal.admin.form_keys import sent_once
from portal.admin.forms import (NEEDS_FORMS, ActionForm, CommentForm, IncidentForm,
                                ReopenForm, ReportForm)
from portal.admin.grids import GRIDS, Grid, details_url, start_page
from portal.admin.timeline import timeline
from portal.attachments import accept_uploads
from portal.attachments.forms import uploads_in
from portal.attachments.service import AttachmentRefused
from portal.auth.models import Role, User
from portal.auth.roles import ASSIGNABLE_ROLES, RoleName
from portal.display import when
from portal.extensions import db
from portal import flows
from portal.incidents import lifecycle
from portal.incidents.access import may_export, visibility_conditions, visible_comments
from portal.incidents.enums import ACTIVE, Action, Labelled, Priority, Status
from portal.incidents.lifecycle import ACTIONS, ActionSpec, Needs
from portal.incidents.listing import CHOICE_FILTERS, SLA_FILTERS
from portal.incidents.models import Comment, Incident, IncidentEvent
from portal.sla.words import due_time_words, due_words, sla_words

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
    return when(value)


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
    """The due time in words, the time itself on hover; overdue marked in words too."""
    words = escape(due_words(model))
    marked = ' class="overdue"' if model.is_overdue else ""
    return Markup(f'<span{marked} title="{escape(due_time_words(model))}">{words}</span>')


def format_title(view, context, model, name):
    """The title links to the incident's page (the row's one control for reporters)."""
    return Markup(f'<a href="{escape(view.page_url(model))}">{escape(model.title)}</a>')


def format_sla(view, context, model, name):
    """The SLA badge: its state's colour, the time left (or since the breach) in words."""
    return Markup(f'<span class="badge sla-{model.sla_state.value}">'
                  f'{escape(sla_words(model))}</span>')


def technician_options() -> list[tuple[int, str]]:
    """Users an incident may be assigned to: active holders of an assignable role
    (technicians and admins) with a confirmed address (``User.can_be_assigned``)."""
    if not has_app_context():
        return []  # Flask-Admin builds its filters once before any request
    # Two columns, not whole users: it runs on every grid page (the technician filter).
    rows = db.session.execute(
        select(User.id, User.username).join(User.roles).where(
            Role.name.in_(ASSIGNABLE_ROLES),
            User.receives_mail).order_by(User.username).distinct())
    return [(user_id, username) for user_id, username in rows]


def assignee_groups() -> dict[str, list[SelectChoice]]:
    """The assign form's choices, grouped by each person's narrowest assignable role
    (technicians first, then admins), each with how many active incidents they hold now
    (two statements, whatever the number of people)."""
    load = dict(db.session.execute(
        select(Incident.technician_id, func.count()).where(Incident.status.in_(ACTIVE))
        .group_by(Incident.technician_id)).all())
    rows = db.session.execute(
        select(User.id, User.username, Role.name).join(User.roles).where(
            Role.name.in_(ASSIGNABLE_ROLES), User.receives_mail).order_by(User.username))
    people: dict[int, tuple[str, set[str]]] = {}
    for user_id, username, role in rows:
        people.setdefault(user_id, (username, set()))[1].add(role)
    # RoleName is declared widest first: the narrowest group comes first.
    order = [name for name in reversed(RoleName) if name in ASSIGNABLE_ROLES]
    groups: dict[str, list[SelectChoice]] = {f"{name.capitalize()}s": [] for name in order}
    for user_id, (username, held) in people.items():
        narrowest = next(name for name in order if name in held)
        groups[f"{narrowest.capitalize()}s"].append(
            SelectChoice(user_id, f"{username} — {load.get(user_id, 0)} active"))
    return {name: choices for name, choices in groups.items() if choices}


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


class YesNoFilter(BaseSQLAFilter):
    """A yes/no filter: "1" keeps the rows that meet ``condition()``, "0" the others."""

    def condition(self):
        raise NotImplementedError

    def validate(self, value) -> bool:
        return value in ("1", "0")

    def apply(self, query, value, alias=None):
        return query.filter(self.condition() if value == "1" else ~self.condition())

    def operation(self):
        return "is"


class OverdueFilter(YesNoFilter):
    """Past its SLA target and still active (``Incident.is_overdue``)."""

    def condition(self):
        return Incident.is_overdue


class ActiveFilter(YesNoFilter):
    """Still being worked on: open, assigned, in progress or on hold."""

    def condition(self):
        return Incident.status.in_(ACTIVE)


class AssignedFilter(YesNoFilter):
    """Someone has it (a technician is set), or nobody has."""

    def condition(self):
        return Incident.technician_id.is_not(None)


class UTCDateTimeBetweenFilter(DateTimeBetweenFilter):
    """Flask-Admin's date-time range, read as UTC (the columns hold aware times)."""

    def clean(self, value):
        return [moment.replace(tzinfo=timezone.utc) for moment in super().clean(value)]


def choice_filter(name: str, enum_class) -> ChoiceFilter:
    return ChoiceFilter(getattr(Incident, name), name.capitalize(),
                        options=[(member.value, member.label) for member in enum_class])


def incident_filters(*, staff: bool) -> tuple:
    """The grid filters, in the order their ``flt`` numbers keep (bookmarks hold them):
    the vocabularies, the people (for staff), the creation date, overdue, the SLA state,
    then those the quick filters added (active; assigned, for staff)."""
    yes_no = [("1", "yes"), ("0", "no")]
    people = (ChoiceFilter(Incident.technician_id, "Technician", options=technician_options),
              ReporterFilter(Incident.reporter_id, "Reporter")) if staff else ()
    return (*(choice_filter(name, enum_class) for name, enum_class in CHOICE_FILTERS.items()),
            *people,
            UTCDateTimeBetweenFilter(Incident.created_at, "Created"),
            OverdueFilter(Incident.due_at, "Overdue", options=yes_no),
            # After the older filters, so their numbers (in bookmarks) stay as they were.
            *(ChoiceFilter(getattr(Incident, name), "SLA",
                           options=[(member.value, member.label) for member in enum_class])
              for name, enum_class in SLA_FILTERS.items()),
            ActiveFilter(Incident.status, "Active", options=yes_no),
            *((AssignedFilter(Incident.technician_id, "Assigned", options=yes_no),)
              if staff else ()))


#: The one-click filters above a grid: (label, filter name, value); "Mine" is the
#: technician filter set to the user.
QUICK_FILTERS = (("Active", "Active", "1"), ("Overdue", "Overdue", "1"),
                 ("Critical", "Priority", Priority.critical.value),
                 ("Unassigned", "Assigned", "0"), ("Mine", "Technician", None))


# --- the grids -------------------------------------------------------------------------

class IncidentGridView(FreshFilterOptions, SecureModelView):
    """The base of every incident grid: ``grid`` says which rows and for whom."""

    grid: Grid
    details_template = "incidents/page.html"
    list_template = "incidents/list.html"
    create_template = "incidents/report.html"
    edit_template = "incidents/edit.html"
    can_view_details = True
    #: No eye, pencil or bin on rows: the title opens the page, which offers the rest.
    column_display_actions = False
    column_list = ("id", "title", "status", "priority", "due_at", "sla_state", "technician",
                   "reporter", "category", "created_at")
    #: The quick filters this grid offers (its own rows may make others pointless).
    quick = ("Active", "Overdue", "Critical", "Unassigned", "Mine")
    column_labels = {"id": "Number", "created_at": "Created", "updated_at": "Updated",
                     "due_at": "Due", "resolution_notes": "Resolution notes",
                     "resolved_at": "Resolved", "closed_at": "Closed", "sla_state": "SLA",
                     "first_response_due_at": "First response due",
                     "first_responded_at": "First response"}
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS
    column_formatters = {
        "id": lambda v, c, m, n: m.number, "title": format_title,
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
    column_searchable_list = ("title", "description")
    column_filters = incident_filters(staff=False)
    column_details_list = ("id", "title", "description", "status", "priority", "category",
                           "reporter", "technician", "resolution_notes", "created_at",
                           "updated_at", "due_at", "resolved_at", "closed_at")
    form = IncidentForm
    form_columns = lifecycle.UPDATABLE_FIELDS
    export_types = ["csv"]
    page_size = 20

    @property
    def column_default_sort(self):
        """Work first: overdue, then still active, then the most urgent, then the soonest
        due (a property: "overdue" compares with the time of each request)."""
        return [(Incident.is_overdue, True), (Incident.status.in_(ACTIVE), True),
                (Incident.priority_rank, True), (Incident.due_at, False)]

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

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        """Flask-Admin's list, but a page in the default (work-first) order is read in
        two steps. Every active incident comes before every other in that order, so a
        page that the active ones fill is found among them alone, through the status
        index (about 4,000 of 100,000 rows), instead of sorting the whole table; only a
        page past them reads the others. In each part the page's ids are chosen first,
        from the sort keys only, and then only those rows are read whole."""
        size = self.page_size if page_size is None else page_size
        if sort_column is not None or not execute or not size:
            return super().get_list(page, sort_column, sort_desc, search, filters,
                                    execute=execute, page_size=page_size)
        count, query = super().get_list(page, None, sort_desc, search, filters,
                                        execute=False, page_size=page_size)
        # The default order, taken once (it compares with the time of this request):
        # overdue, active, then the rest. Among the active incidents the second key is
        # always true; among the others the first two are always false, so they are
        # ordered by the rest alone, which the priority index serves.
        overdue, _active_first, *rest = [column.desc() if descending else column.asc()
                                         for column, descending in self.column_default_sort]
        query = query.limit(None).offset(None).order_by(None)
        offset = (page or 0) * size
        active = Incident.status.in_(ACTIVE)
        rows = self._page_by_id(query.filter(active), [overdue, *rest], offset, size)
        if len(rows) < size:
            if rows or not offset:
                before = offset + len(rows)  # every active row is on this page or earlier
            else:
                before = db.session.scalar(select(func.count()).select_from(
                    query.filter(active).with_entities(Incident.id).subquery()))
            rows += self._page_by_id(query.filter(~active), rest,
                                     max(0, offset - before), size - len(rows))
        return count, rows

    @staticmethod
    def _page_by_id(query, order, offset: int, limit: int) -> list[Incident]:
        """``limit`` rows of the ordered ``query`` from ``offset``: their ids found first
        (reading only the sort keys), then those rows whole, by id, in ``order``."""
        ids = query.with_entities(Incident.id).order_by(*order).limit(limit).offset(offset) \
            .scalar_subquery()
        return db.session.query(Incident).filter(Incident.id.in_(ids)).order_by(*order) \
            .options(joinedload(Incident.reporter), joinedload(Incident.technician)).all()

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
            selectinload(Incident.events).joinedload(IncidentEvent.actor),
            selectinload(Incident.comments).joinedload(Comment.author)).first()
        if incident is None:
            abort(404)
        return incident

    @property
    def can_export(self):
        return may_export(current_user)

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

    @expose("/new/", methods=("GET", "POST"))
    @sent_once
    def create_view(self):
        """The report form; once reported, the incident's page says its number."""
        if not self.can_create:
            return redirect(self._return_url())
        form = self.create_form()
        if self.validate_form(form):
            incident = self.create_model(form)
            if incident:
                flash(Markup('Reported as <a href="{url}">{number}</a>: “{title}”. You will '
                             'get an email with this number, and another when someone '
                             'takes it.').format(url=self._details_url(incident),
                                                 number=incident.number,
                                                 title=incident.title), "success")
                return redirect(self._details_url(incident))
        return self.render(self.create_template, form=form, return_url=self._return_url())

    def create_model(self, form):
        files = uploads_in(form.attachments)  # read once: a change made again reuses them
        outcome = attempt(lambda: flows.report_incident(
            actor=current_user, files=files, **form.incident_fields()), report=False)
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
    @sent_once
    def edit_view(self):
        incident = self.get_one(request.args.get("id", ""))
        # The read-only fallback page (can_edit False) edits nothing, whatever the rules say.
        if not self.can_edit or not lifecycle.editable_fields(current_user, incident):
            flash(f"You may not edit {incident.number} now.", "error")
            return redirect(self._details_url(incident))
        form = self.edit_form(obj=incident)
        if self.validate_form(form) and self.update_model(form, incident):
            return redirect(self._details_url(incident))
        return self.render(self.edit_template, form=form, model=incident,
                           return_url=self._return_url())

    def update_model(self, form, model):
        """Change what the form holds through the lifecycle; say which fields changed."""
        changes = {name: getattr(form, name).data for name in self.form_columns
                   if getattr(form, name, None) is not None}
        events = len(model.events)
        if not attempt(lambda: lifecycle.update(model, actor=current_user, **changes)).ok:
            return False
        if len(model.events) > events:
            fields = [name.replace("_", " ") for name in model.events[-1].changes
                      if name != "due_at"]
            listed = fields[0] if len(fields) == 1 else \
                ", ".join(fields[:-1]) + " and " + fields[-1]
            flash(f"{model.number}: {listed} changed.", "success")
        else:
            flash(f"{model.number}: nothing to change.", "info")
        return True

    def delete_model(self, model):
        return attempt(lambda: lifecycle.delete(model, actor=current_user)).ok

    # --- commands: bulk actions, buttons and their forms, all from the registry -------

    def is_action_allowed(self, name):
        """Offer in bulk the commands the lifecycle lets the user take in bulk."""
        if name in {spec.name for spec in lifecycle.commands()}:
            return lifecycle.may_take_in_bulk(current_user, name)
        return super().is_action_allowed(name)

    # --- the list: quick filters ------------------------------------------------------

    def quick_filters(self) -> list[tuple[str, str, bool]]:
        """``(label, url, current)`` of "All" and this grid's quick filters."""
        filters = list(self.get_filters() or [])
        shown = {key: value for key, value in request.args.items()
                 if key.startswith("flt")}
        chips = [("All", url_for(".index_view"), not shown)]
        for label, name, value in QUICK_FILTERS:
            if label not in self.quick:
                continue
            if label == "Mine":
                if not current_user.can_be_assigned:
                    continue
                value = str(current_user.id)
            for index, flt in enumerate(filters):
                if flt.name == name:
                    args = {f"flt0_{self.get_filter_arg(index, flt)}": value}
                    chips.append((label, url_for(".index_view", **args), shown == args))
                    break
        return chips

    def page_url(self, incident) -> str:
        return self._details_url(incident)

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

    @expose("/action/", methods=("POST",))
    @sent_once
    def action_view(self):
        """Flask-Admin's bulk actions (the "With selected" menu), sent once."""
        return super().action_view()

    def bulk(self, spec: ActionSpec, ids):
        """A bulk action: commands that need nothing run at once, the others ask first."""
        if spec.needs is Needs.nothing:
            self.run_command(spec, ids)
            return None
        return redirect(url_for(".command_view", command=spec.name, ids=",".join(ids),
                                url=self._return_url()))

    def _return_url(self) -> str:
        """Where to go back to: a URL of this site only (Flask-Admin's safe check)."""
        return safe_return_url(url_for(".index_view"))

    def _details_url(self, incident) -> str:
        """The incident's page in the grid that shows it to the user now: after "Assign
        to me" it has left the Unassigned grid for their queue."""
        # The user itself, not its proxy: this runs for every row of a grid page.
        return details_url(incident, current_user._get_current_object())

    def _command(self, name: str) -> ActionSpec:
        try:
            spec = ACTIONS[Action(name)]
        except ValueError:
            abort(404)
        if not spec.is_command:
            abort(404)
        return spec

    @expose("/command/<command>/", methods=("GET", "POST"))
    @sent_once
    def command_view(self, command):
        """The form of a command that needs something (a technician, notes, a reason)."""
        spec = self._command(command)
        if spec.needs is Needs.nothing:
            abort(404)
        if not self.is_action_allowed(spec.name):
            abort(403)  # the assign form lists the technicians: only for those who may
        form = NEEDS_FORMS[spec.needs](ids=request.args.get("ids", ""))
        if spec.needs is Needs.technician:
            form.technician_id.choices = assignee_groups()
        given = [i.strip() for i in str(form.ids.data or "").split(",") if i.strip()]
        unreadable = [i for i in given if parse_id(i) is None]
        if unreadable or not given:
            flash(f"ids: {unreadable[0][:20]!r} is not an incident number; nothing was "
                  "changed." if unreadable else "Select at least one incident first.",
                  "error")
            return redirect(self._return_url())
        if form.validate_on_submit():
            self.run_command(spec, given, self._value_from(spec, form))
            return redirect(self._return_url())
        found = {incident.id: incident for incident in self.scope(
            db.session.query(Incident)).filter(Incident.id.in_(map(parse_id, given)))}
        selected = [found.get(parse_id(i)) or f"#{i}: not found" for i in given]
        return self.render("admin/incident_action_form.html", form=form, title=spec.label,
                           selected=selected, return_url=self._return_url(),
                           submit=spec.label.rstrip("…"))

    @staticmethod
    def _value_from(spec: ActionSpec, form):
        if spec.needs is Needs.technician:
            return db.session.get(User, form.technician_id.data)
        return getattr(form, spec.needs.value).data

    @expose("/act/<command>/", methods=("POST",))
    @sent_once
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
    @sent_once
    def comment_view(self):
        """A reply or an internal note, from the page's two tabs."""
        incident = self.get_one(request.args.get("id", ""))
        form = CommentForm()
        if form.validate_on_submit():
            uploads = uploads_in(form.attachments)
            internal = bool(form.internal.data)
            # The lifecycle decides who may post an internal note; a refusal is shown
            # on the page again, with what was typed still in the form.
            outcome = attempt(lambda: flows.comment_with_files(
                incident, actor=current_user, body=form.body.data, internal=internal,
                files=uploads), report=False)
            if outcome.ok:
                what = "internal note added (staff only)" if internal else "reply added"
                files = (f" with {len(uploads)} attachment{'s' if len(uploads) > 1 else ''}"
                         if uploads else "")
                flash(f"{incident.number}: {what}{files}.", "success")
                return redirect(self._details_url(incident))
            _show_refusal(form, outcome.refusal)
            return self.details_view()
        for errors in form.errors.values():
            flash(" ".join(errors), "error")
        return redirect(self._details_url(incident))

    @expose("/not-fixed/", methods=("POST",))
    @sent_once
    def not_fixed_view(self):
        """The reporter's "No, reopen" on a resolved incident: reopen it with the reason,
        which the timeline shows under "reopened it" (``flows.reopen_with_reason``)."""
        incident = self.get_one(request.args.get("id", ""))
        form = ReopenForm()
        reason = form.note.data if form.validate_on_submit() else None
        if form.note.errors:  # a reason that breaks a rule (control characters): say so
            flash(" ".join(form.note.errors), "error")
        elif attempt(lambda: flows.reopen_with_reason(incident, actor=current_user,
                                                      reason=reason)).ok:
            flash(f"{incident.number} reopened — now {incident.status.label}; the "
                  "technician reads your reason on its timeline.", "success")
        return redirect(self._details_url(incident))

    @expose("/details/")
    def details_view(self):
        """The incident's page: header, actions, description, one timeline, replies."""
        incident = self.get_one(request.args.get("id", ""))
        return self.render(self.details_template, model=incident,
                           return_url=self._return_url())

    def render(self, template, **kwargs):
        if template == self.details_template:
            incident = kwargs["model"]
            allowed = lifecycle.allowed_actions(current_user, incident)
            offered = lifecycle.offered_commands(current_user, incident)
            # A reporter answers the resolved banner's question instead of two buttons.
            asks = (incident.status is Status.resolved and not current_user.is_staff
                    and {Action.close, Action.reopen} <= allowed)
            comments = visible_comments(current_user, incident)
            kwargs.update(
                commands=[] if asks else offered, asks_if_fixed=asks,
                allowed=allowed, action_form=ActionForm(), reopen_form=ReopenForm(),
                comment_form=CommentForm(),
                internal_allowed=lifecycle.may_comment_internally(current_user, incident),
                entries=timeline(list(incident.events), comments),
                editable=bool(lifecycle.editable_fields(current_user, incident)))
        elif template == self.list_template and "data" in kwargs:
            # Offer only the commands that some row on this page allows. The rules run
            # per row: give them the user itself, not the proxy they would look up again
            # at each of their dozens of reads.
            user = current_user._get_current_object()
            applicable = set().union(*(lifecycle.allowed_actions(user, row)
                                       for row in kwargs["data"]))
            kwargs["actions"] = [(name, text) for name, text in kwargs.get("actions", [])
                                 if Action(name) in applicable]
            kwargs["quick_filters"] = self.quick_filters()
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
        return redirect(start_page(current_user))


def filtered_grid_url(endpoint: str, **values: str) -> str:
    """The grid at ``endpoint`` with the filters named in ``values`` set (by filter name,
    ``Overdue="1"``); names the grid lacks are left out. Flask-Admin numbers filters by
    their place in ``column_filters``."""
    view_class = next(view for view in GRID_VIEWS if view.grid.endpoint == endpoint)
    names = [flt.name for flt in view_class.column_filters]
    args = {f"flt{position}_{names.index(name)}": value
            for position, (name, value) in enumerate(values.items()) if name in names}
    return url_for(f"{endpoint}.index_view", **args)


#: One view class per grid of the table, in its order.
GRID_VIEWS = (AllIncidentsView, QueueView, UnassignedView, MyIncidentsView, IncidentPageView)
assert [view.grid for view in GRID_VIEWS] == list(GRIDS), "a grid without its view"
# Reports and comments carry files: their POSTs may be larger (portal.attachments).
accept_uploads(*(f"{grid.endpoint}.{view}" for grid in GRIDS
                 for view in ("create_view", "comment_view")))

__all__ = ["GRID_VIEWS", "IncidentGridView", "filtered_grid_url", "parse_id"]
