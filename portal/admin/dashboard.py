"""The dashboard (Flask-Admin's index page): figures computed by SQL aggregates over the
incidents the user may see, so an admin sees everything and a technician or reporter
their own numbers."""
from __future__ import annotations

from datetime import timedelta

from flask import redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_security import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased, joinedload

from portal.admin.base import has_any_role
from portal.auth.models import RoleName, User
from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents.access import visibility_clause
from portal.incidents.enums import Priority, Status
from portal.incidents.models import Incident, IncidentEvent

ACTIVE = (Status.open, Status.assigned, Status.in_progress, Status.on_hold)


def _seconds_between(start, end):
    """``end - start`` in seconds, in the database's own date arithmetic."""
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def dashboard_figures(user: User) -> dict:
    """Everything the dashboard shows, in a handful of aggregate queries."""
    visible = visibility_clause(user)
    now = utcnow()
    by_status = dict(db.session.execute(
        select(Incident.status, func.count()).where(visible).group_by(Incident.status)).all())
    active = Incident.status.in_(ACTIVE)
    by_priority = dict(db.session.execute(
        select(Incident.priority, func.count()).where(visible, active)
        .group_by(Incident.priority)).all())
    overdue_condition = visible & active & (Incident.due_at < now)
    totals = db.session.execute(select(
        func.count(case((overdue_condition, 1))),
        func.count(case((visible & active & (Incident.priority == Priority.critical), 1))),
        func.avg(case((visible & (Incident.resolved_at >= now - timedelta(days=30)),
                       _seconds_between(Incident.created_at, Incident.resolved_at)))),
    )).one()
    technician = aliased(User)
    per_technician = db.session.execute(
        select(technician.username, func.count(Incident.id))
        .join(technician, Incident.technician_id == technician.id)
        .where(visible, active).group_by(technician.username)
        .order_by(func.count(Incident.id).desc(), technician.username)).all()
    overdue = db.session.scalars(
        select(Incident).where(overdue_condition).order_by(Incident.due_at).limit(10)
        .options(joinedload(Incident.technician))).all()
    critical = db.session.scalars(
        select(Incident).where(visible, active, Incident.priority == Priority.critical)
        .order_by(Incident.created_at.desc()).limit(10)
        .options(joinedload(Incident.technician))).all()
    activity = db.session.scalars(
        select(IncidentEvent).join(Incident, IncidentEvent.incident_id == Incident.id)
        .where(visible).order_by(IncidentEvent.created_at.desc(), IncidentEvent.id.desc())
        .limit(10).options(joinedload(IncidentEvent.actor),
                           joinedload(IncidentEvent.incident))).all()
    mttr_seconds = totals[2]
    return {
        "by_status": {status.value: by_status.get(status, 0) for status in Status},
        "by_priority": {p.value: by_priority.get(p, 0) for p in Priority},
        "overdue_count": totals[0], "critical_count": totals[1],
        "mttr_hours": round(mttr_seconds / 3600, 1) if mttr_seconds is not None else None,
        "per_technician": [{"technician": name, "open": count}
                           for name, count in per_technician],
        "overdue": overdue, "critical": critical, "activity": activity,
        "open_count": sum(by_status.get(s, 0) for s in ACTIVE),
    }


def start_page(user: User) -> str:
    """Where each role lands after logging in."""
    if user.is_admin:
        return url_for("admin.index")
    if user.is_technician:
        return url_for("queue.index_view")
    return url_for("mine.index_view")


class DashboardView(AdminIndexView):
    """Counts, charts, overdue and critical incidents, latest activity."""

    def is_accessible(self) -> bool:
        return has_any_role(frozenset(role.value for role in RoleName))

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("security.login", next=request.full_path))

    @expose("/")
    def index(self):
        figures = dashboard_figures(current_user)
        # Lists, not objects: the charts keep the lifecycle's and the priorities' order.
        chart_data = {name: {"labels": list(figures[name]), "values": list(figures[name].values())}
                      for name in ("by_status", "by_priority")}
        chart_data["per_technician"] = {
            "labels": [row["technician"] for row in figures["per_technician"]],
            "values": [row["open"] for row in figures["per_technician"]]}
        return self.render("admin/dashboard.html", figures=figures, chart_data=chart_data)


