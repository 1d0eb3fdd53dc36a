"""The portal's web UI on Flask-Admin: role-shaped views over the same models and rules.

``init_admin(app)`` builds the per-app ``Admin`` (it holds a single app) with the
Bootstrap 4 theme, CSP nonces for Flask-Admin's scripts, and the views each role sees:

- admins: dashboard, all incidents, users, incident history, access log, mail outbox,
  inbound mail;
- technicians: dashboard, my queue, unassigned, my incidents;
- reporters: dashboard, my incidents and "Report an incident".
"""
from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.menu import MenuLink
from flask_admin.theme import Bootstrap4Theme
from flask_security import current_user

from portal.admin.audit import AccessEventView, EventView, OutboxView
from portal.admin.base import has_any_role
from portal.admin.dashboard import DashboardView
from portal.admin.grids import ALL_ROLES, details_url, grids_for, start_page
from portal.admin.inbound_mail import InboundMailView
from portal.admin.incidents import GRID_VIEWS
from portal.admin.users import UserView
from portal.auth.models import AccessEvent, User
from portal.extensions import db
from portal.incidents.models import IncidentEvent
from portal.mailin.models import InboundMail
from portal.notifications.models import OutboxMessage
from portal.security_headers import csp_nonce

REPORT_URL = "/admin/mine/new/"


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
    for view_class in GRID_VIEWS:
        admin.add_view(view_class())
    admin.add_link(ReportLink(name="Report an incident", url=REPORT_URL))
    admin.add_view(UserView(User, db, name="Users", endpoint="accounts", url="/admin/users"))
    admin.add_view(EventView(IncidentEvent, db, name="Incident history", endpoint="history",
                             category="Audit"))
    admin.add_view(AccessEventView(AccessEvent, db, name="Access log", endpoint="access",
                                   category="Audit"))
    admin.add_view(OutboxView(OutboxMessage, db, name="Mail outbox", endpoint="outbox",
                              category="Audit"))
    admin.add_view(InboundMailView(InboundMail, db, name="Inbound mail", endpoint="inbound",
                                   category="Audit"))
    app.jinja_env.globals["portal_menu"] = portal_menu
    app.jinja_env.globals["incident_url"] = lambda incident: details_url(incident, current_user)
    return admin


def portal_menu() -> list[tuple[str, str]]:
    """The navigation of pages outside Flask-Admin (label, URL): the same grids as the
    portal's own menu (``portal.admin.grids``), the dashboard and the report form."""
    from flask import url_for

    items = [(grid.label, url_for(f"{grid.endpoint}.index_view"))
             for grid in grids_for(current_user)]
    items.append(("Report an incident", REPORT_URL))
    if current_user.is_admin:
        items.append(("Users", url_for("accounts.index_view")))
    items.append(("Dashboard", url_for("admin.index")))
    return items


__all__ = ["init_admin", "portal_menu", "details_url", "start_page"]
