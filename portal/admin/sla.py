"""The SLA's admin pages: the holidays admins keep (a model view over ``Holiday``) and the
effective policy, read-only, as ``portal.sla.policy`` builds it.

Adding, changing or removing a holiday moves the business calendar, so the stored clocks
of the active incidents are recomputed in the same transaction as the holiday itself.
"""
from __future__ import annotations

from dataclasses import replace

from flask import current_app
from flask_admin import BaseView, expose
from wtforms.validators import ValidationError

from portal.admin.adapters import EditedRowOnForm, edited_row
from portal.admin.base import SecureModelView, SecureView
from portal.extensions import db
from portal.incidents.enums import Priority
from portal.sla import clock
from portal.sla.calendar import DAY_NAMES
from portal.sla.models import Holiday
from portal.sla.policy import current_policy
from portal.sla.words import duration_words


def _one_per_day(form, field):
    if field.data is None:
        return
    same = db.session.scalars(db.select(Holiday).where(Holiday.day == field.data)).first()
    # The edited holiday keeps its own date.
    if same is not None and same is not edited_row(form):
        raise ValidationError(f"{field.data.isoformat()} is already a holiday ({same.name}).")


class HolidayView(EditedRowOnForm, SecureModelView):
    """Admins add, rename and remove holidays: days without business hours."""

    column_list = ("day", "name")
    column_labels = {"day": "Date", "name": "Name"}
    column_default_sort = ("day", False)
    column_searchable_list = ("name",)
    form_columns = ("day", "name")
    form_args = {"day": {"validators": [_one_per_day]}}
    can_view_details = False

    def on_model_change(self, form, model, is_created):
        # Flushed first, so the policy the clocks are recomputed under reads this holiday.
        db.session.flush()
        clock.refresh_active()

    def on_model_delete(self, model):
        # Flask-Admin deletes after this hook: recompute under the calendar without it.
        policy = current_policy()
        business = replace(policy.business, holidays=policy.business.holidays - {model.day})
        clock.refresh_active(replace(policy, business=business))


def _hours(windows) -> str:
    return ", ".join(f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
                     for start, end in windows) or "closed"


class PolicyView(SecureView, BaseView):
    """The SLA policy in force, as the clock uses it (read-only; set in the environment)."""

    @expose("/")
    def index(self):
        policy = current_policy()
        targets = [(priority, duration_words(policy.response[priority]),
                    duration_words(policy.resolution[priority]),
                    policy.calendar(priority).label)
                   for priority in sorted(Priority, key=lambda p: -p.rank)]
        hours = [(name.capitalize(), _hours(windows))
                 for name, windows in zip(DAY_NAMES, policy.business.windows_by_weekday)]
        return self.render("admin/sla_policy.html", policy=policy, targets=targets,
                           hours=hours, timezone=policy.business.zone.key,
                           country=current_app.config.get("SLA_HOLIDAY_COUNTRY"))
