"""Forms of the portal's own pages: reporting, the commands that need something (assign,
resolve, reopen), commenting (all CSRF-protected); reports and comments carry files."""
from __future__ import annotations

from typing import Any

from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from portal.attachments.forms import attachments_field
from portal.incidents.enums import Category, Level, Priority
from portal.incidents.lifecycle import Needs
from portal.incidents.models import TEXT_MAX, TITLE_MAX
from portal.plain_text_input import PortalForm


def choices(enum_class) -> list[SelectChoice]:
    return [SelectChoice(member.value, member.label) for member in enum_class]


class IncidentForm(PortalForm):
    """Reporting or editing an incident: title, description, priority, category only
    (the view removes the fields the user may not edit)."""

    title = StringField("Title", validators=[DataRequired("Give it a title."),
                                             Length(max=TITLE_MAX)])
    description = TextAreaField("Description", render_kw={"rows": 6},
                                validators=[DataRequired("Describe the problem."),
                                            Length(max=TEXT_MAX)])
    priority = SelectField("Priority", choices=choices(Priority), default=Priority.medium.value)
    category = SelectField("Category", choices=choices(Category), default=Category.other.value)


class ReportForm(IncidentForm):
    """Reporting: the incident's fields, its impact and urgency (optional: with both, the
    priority comes from the ITIL matrix) and its first files. The priority may be left
    blank; the lifecycle then takes the matrix's, or Medium."""

    priority = SelectField("Priority", choices=[SelectChoice("", "From impact and urgency "
                                                                 "(or Medium)"),
                                                *choices(Priority)], default="")
    impact = SelectField("Impact (optional)",
                         choices=[SelectChoice("", "Not said"), *choices(Level)], default="")
    urgency = SelectField("Urgency (optional)",
                          choices=[SelectChoice("", "Not said"), *choices(Level)], default="")
    attachments = attachments_field()

    def incident_fields(self) -> dict[str, Any]:
        """The lifecycle's ``create`` keywords from what was filled in (every field but the
        files); a choice left blank is None, the lifecycle's default."""
        return {name: (field.data or None) if isinstance(field, SelectField) else field.data
                for name, field in self._fields.items()
                if name not in ("attachments", "csrf_token")}


class AssignForm(PortalForm):
    ids = HiddenField()
    technician_id = SelectField("Technician", coerce=int,
                                validators=[DataRequired("Choose a technician.")])


class ResolveForm(PortalForm):
    ids = HiddenField()
    resolution_notes = TextAreaField(
        "Resolution notes", validators=[DataRequired("Say how it was fixed."),
                                        Length(max=TEXT_MAX)])


class ReopenForm(PortalForm):
    ids = HiddenField()
    note = TextAreaField("Why is it not fixed? (optional)", validators=[Length(max=TEXT_MAX)])


#: The form of each kind of command that needs something.
NEEDS_FORMS = {Needs.technician: AssignForm, Needs.resolution_notes: ResolveForm,
               Needs.note: ReopenForm}


class CommentForm(PortalForm):
    body = TextAreaField("Comment", validators=[DataRequired("Write something first."),
                                                Length(max=TEXT_MAX)])
    internal = BooleanField("Internal (admins and technicians only)")
    attachments = attachments_field()


class ActionForm(PortalForm):
    """A bare POST with a CSRF token: the buttons on an incident's page."""
