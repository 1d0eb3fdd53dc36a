"""The portal's web UI on Flask-Admin: role-shaped views over the same models and rules.

``init_admin(app)`` builds the per-app ``Admin`` (it holds a single app) with the
Bootstrap 4 theme, CSP nonces for Flask-Admin's scripts, and the views each role sees:

- admins: dashboard, all incidents, users, incident history, access log, mail outbox;
- technicians: dashboard, my queue, unassigned, my incidents;
- reporters: dashboard, my incidents and "Report an incident".
"""
from __future__ import annotations

from flask import Flask, url_for
from flask_admin import Admin
from flask_admin.menu import MenuLink
from flask_admin.theme import Bootstrap4Theme
from flask_security import current_user

from portal.admin.audit import AccessEventView, EventView, OutboxView
from portal.admin.base import has_any_role
from portal.admin.dashboard import DashboardView, start_page
from portal.admin.incidents import (ALL_ROLES, IncidentView, MyIncidentsView, QueueView,
                                    UnassignedView)
from portal.admin.users import UserView
from portal.auth.models import AccessEvent, User
from portal.extensions import db
from portal.incidents.models import Incident, IncidentEvent
from portal.notifications.models import OutboxMessage
from portal.security_headers import csp_nonce


class ReportLink(MenuLink):
    """"Report an incident", for anyone logged in with a role."""

    def is_accessible(self) -> bool:
        return has_any_role(ALL_ROLES)


def init_admin(app: Flask) -> Admin:
    admin = Admin(app, name="Incident Portal",
                  index_view=DashboardView(name="Dashboard", url="/admin"),
                  theme=Bootstrap4Theme(swatch="cerulean", fluid=True,
                                        base_template="admin/portal_base.html"),
                  csp_nonce_generator=csp_nonce)
    admin.add_view(IncidentView(Incident, db, name="All incidents", endpoint="all_incidents",
                                url="/admin/incidents"))
    admin.add_view(QueueView(Incident, db, name="My queue", endpoint="queue"))
    admin.add_view(UnassignedView(Incident, db, name="Unassigned", endpoint="unassigned"))
    admin.add_view(MyIncidentsView(Incident, db, name="My incidents", endpoint="mine"))
    admin.add_link(ReportLink(name="Report an incident", url="/admin/mine/new/"))
    admin.add_view(UserView(User, db, name="Users", endpoint="accounts", url="/admin/users"))
    admin.add_view(EventView(IncidentEvent, db, name="Incident history", endpoint="history",
                             category="Audit"))
    admin.add_view(AccessEventView(AccessEvent, db, name="Access log", endpoint="access",
                                   category="Audit"))
    admin.add_view(OutboxView(OutboxMessage, db, name="Mail outbox", endpoint="outbox",
                              category="Audit"))
    app.jinja_env.globals["portal_menu"] = portal_menu
    return admin


def portal_menu() -> list[tuple[str, str]]:
    """The navigation of pages outside Flask-Admin, by role (label, endpoint)."""
    if current_user.is_admin:
        return [("Dashboard", "admin.index"), ("All incidents", "all_incidents.index_view"),
                ("Users", "accounts.index_view")]
    if current_user.is_technician:
        return [("My queue", "queue.index_view"), ("Unassigned", "unassigned.index_view"),
                ("Dashboard", "admin.index")]
    return [("My incidents", "mine.index_view"), ("Report an incident", "mine.create_view"),
            ("Dashboard", "admin.index")]


def details_url(incident: Incident) -> str:
    """The incident's page in the grid where the current user finds it."""
    if current_user.is_admin:
        endpoint = "all_incidents"
    elif current_user.is_technician and incident.technician_id == current_user.id:
        endpoint = "queue"
    elif incident.reporter_id == current_user.id:
        endpoint = "mine"
    else:
        endpoint = "unassigned"
    return url_for(f"{endpoint}.details_view", id=incident.id)


__all__ = ["init_admin", "portal_menu", "details_url", "start_page"]
