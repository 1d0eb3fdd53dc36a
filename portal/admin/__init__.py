"""The portal's web UI on Flask-Admin: role-shaped views over the same models and rules.

``init_admin(app)`` builds the per-app ``Admin`` (it holds a single app) with the
Bootstrap 4 theme, CSP nonces for Flask-Admin's scripts, and the views each role sees:

- admins: dashboard, all incidents, users, incident history, access log, mail outbox,
  inbound mail, the SLA policy and holidays, webhooks;
- technicians: dashboard, my queue, unassigned, my incidents;
- reporters: dashboard, my incidents and "Report an incident".

Every page shares one layout and top bar (``templates/layout.html``,
``portal.admin.navigation``).
"""
from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_security import current_user

from portal.admin.audit import AccessEventView, EventView, OutboxView
from portal.admin.dashboard import DashboardView, mail_state
from portal.admin.form_keys import form_key_field
from portal.admin.grids import details_url, start_page
from portal.admin.inbound_mail import InboundMailView
from portal.admin.incidents import GRID_VIEWS
from portal.admin.navigation import MENU_SECTIONS, navigation
from portal.admin.sla import HolidayView, PolicyView
from portal.admin.users import UserView
from portal.admin.webhooks import WebhookView
from portal.auth.models import AccessEvent, User
from portal.extensions import db
from portal.incidents.models import IncidentEvent
from portal.mailin.models import InboundMail
from portal.notifications.models import OutboxMessage
from portal.sla.models import Holiday
from portal.webhooks.models import WebhookEndpoint
from portal.display import init_display
from portal.security_headers import csp_nonce


def init_admin(app: Flask) -> Admin:
    admin = Admin(app, name="Incident Portal",
                  index_view=DashboardView(name="Dashboard", url="/admin"),
                  theme=Bootstrap4Theme(swatch="cerulean", fluid=True,
                                        base_template="admin/portal_base.html"),
                  csp_nonce_generator=csp_nonce)
    for view_class in GRID_VIEWS:
        admin.add_view(view_class())
    admin.add_view(UserView(User, db, name="Users", endpoint="accounts", url="/admin/users"))
    admin.add_view(EventView(IncidentEvent, db, name="Incident history", endpoint="history",
                             category="Audit"))
    admin.add_view(AccessEventView(AccessEvent, db, name="Access log", endpoint="access",
                                   category="Audit"))
    admin.add_view(OutboxView(OutboxMessage, db, name="Mail outbox", endpoint="outbox",
                              category="Audit"))
    admin.add_view(InboundMailView(InboundMail, db, name="Inbound mail", endpoint="inbound",
                                   category="Audit"))
    admin.add_view(PolicyView(name="SLA policy", endpoint="sla_policy", url="/admin/sla/policy",
                              category="SLA"))
    admin.add_view(HolidayView(Holiday, db, name="Holidays", endpoint="holidays",
                               url="/admin/sla/holidays", category="SLA"))
    admin.add_view(WebhookView(WebhookEndpoint, db, name="Webhooks", endpoint="hooks",
                               url="/admin/webhooks", category="Integrations"))
    # Every page's top bar (layout.html) is built from portal.admin.navigation.
    app.jinja_env.globals["navigation"] = navigation
    app.jinja_env.globals["menu_sections"] = MENU_SECTIONS
    app.jinja_env.globals["mail_state"] = mail_state
    app.jinja_env.globals["incident_url"] = lambda incident: details_url(incident, current_user)
    app.jinja_env.globals["form_key"] = form_key_field  # each changing form's one-time key
    init_display(app)
    return admin


__all__ = ["init_admin", "details_url", "start_page"]
