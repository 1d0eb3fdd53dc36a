"""Who gets what on every route: the table the authorisation regression test checks.

Each row is ``(endpoint, method): (anonymous, reporter, technician, admin)``, the status
code each of them gets for a plain request (unsafe methods: with a valid CSRF token and
an empty form). ``LOGIN`` is a redirect to the login page. The world behind the requests:
one incident, reported by the reporter and assigned to the technician (status assigned).
"""
from __future__ import annotations

LOGIN = "login"


def everyone(code: int) -> tuple:
    return (code, code, code, code)


# Flask-Admin views open to one set of roles; the others get 403 and the anonymous the
# login page. Codes for the roles that may open them are listed per endpoint.
def admin_only(admin_code: int) -> tuple:
    return (LOGIN, 403, 403, admin_code)


def staff_only(technician_code: int, admin_code: int) -> tuple:
    return (LOGIN, 403, technician_code, admin_code)


def all_roles(reporter_code: int, technician_code: int, admin_code: int) -> tuple:
    return (LOGIN, reporter_code, technician_code, admin_code)


def read_only_admin_view(name: str) -> dict:
    """The audit trails and the outbox: admins look, nobody changes anything (Flask-Admin
    redirects a refused create, edit or export back to the list: 302)."""
    return {
        (f"{name}.index_view", "GET"): admin_only(200),
        (f"{name}.details_view", "GET"): admin_only(302),  # no such row: back to the list
        (f"{name}.create_view", "GET"): admin_only(302),
        (f"{name}.create_view", "POST"): admin_only(302),
        (f"{name}.edit_view", "GET"): admin_only(302),
        (f"{name}.edit_view", "POST"): admin_only(302),
        (f"{name}.delete_view", "POST"): admin_only(302),
        (f"{name}.export", "GET"): admin_only(302),
        (f"{name}.action_view", "POST"): admin_only(302),
        (f"{name}.ajax_lookup", "GET"): admin_only(404),
        (f"{name}.ajax_update", "POST"): admin_only(404),
    }


ROUTES: dict[tuple[str, str], tuple] = {
    # --- public ---------------------------------------------------------------------------
    ("home.index", "GET"): (200, 302, 302, 302),          # a landing page, or your start page
    ("home.incident", "GET"): (LOGIN, 302, 302, 302),     # to the incident in your grid
    ("home.search", "GET"): (LOGIN, 200, 200, 200),       # the top bar's search (no words)
    ("home.favicon", "GET"): everyone(200),
    ("preferences.preferences", "GET"): (LOGIN, 200, 200, 200),   # one's own time zone
    ("preferences.preferences", "POST"): (LOGIN, 302, 302, 302),  # empty: the default zone
    ("health.healthz", "GET"): everyone(200),
    ("static", "GET"): everyone(200),
    ("admin.static", "GET"): everyone(200),
    ("security.static", "GET"): everyone(200),
    ("swagger_ui_static", "GET"): everyone(200),
    ("api-docs.openapi_json", "GET"): everyone(200),
    ("api-docs.openapi_swagger_ui", "GET"): everyone(200),

    # --- Flask-Security's pages -----------------------------------------------------------
    ("security.login", "GET"): (200, 302, 302, 302),
    ("security.login", "POST"): (200, 302, 302, 302),     # empty form: errors shown
    ("security.register", "GET"): (200, 302, 302, 302),
    ("security.register", "POST"): (200, 302, 302, 302),
    ("security.forgot_password", "GET"): everyone(200),
    ("security.forgot_password", "POST"): everyone(200),
    ("security.reset_password", "GET"): everyone(302),    # bad token: back to "forgot"
    ("security.reset_password", "POST"): everyone(302),
    ("security.send_confirmation", "GET"): everyone(200),  # "send the link again"
    ("security.send_confirmation", "POST"): everyone(200),  # empty form: errors shown
    ("security.confirm_email", "GET"): everyone(302),     # bad token: back to /confirm
    ("security.confirm_email", "POST"): everyone(302),
    ("security.change_password", "GET"): (LOGIN, 200, 200, 200),
    ("security.change_password", "POST"): (LOGIN, 200, 200, 200),
    ("security.logout", "POST"): (302, 302, 302, 302),
    ("security.verify", "GET"): (LOGIN, 200, 200, 200),
    ("security.verify", "POST"): (LOGIN, 200, 200, 200),
    ("security.two_factor_setup", "GET"): (LOGIN, 200, 200, 200),
    ("security.two_factor_setup", "POST"): (LOGIN, 200, 200, 200),
    ("security.two_factor_setup_validate", "POST"): (LOGIN, 302, 302, 302),
    # The second steps of a two-factor login: without a first step, back to the login.
    ("security.two_factor_token_validation", "GET"): everyone(LOGIN),
    ("security.two_factor_token_validation", "POST"): everyone(LOGIN),
    ("security.two_factor_rescue", "GET"): (LOGIN, 302, 302, 302),
    ("security.two_factor_rescue", "POST"): (LOGIN, 302, 302, 302),
    ("security.tf_select", "GET"): everyone(LOGIN),
    ("security.tf_select", "POST"): everyone(LOGIN),
    ("security.mf_recovery", "GET"): (LOGIN, 302, 302, 302),
    ("security.mf_recovery", "POST"): (LOGIN, 302, 302, 302),
    ("security.mf_recovery_codes", "GET"): (LOGIN, 200, 200, 200),
    ("security.mf_recovery_codes", "POST"): (LOGIN, 200, 200, 200),

    # --- the REST API (session cookie + CSRF header here; tokens in tests/api) -------------
    ("auth.Token", "POST"): everyone(422),                # no credentials in the body
    ("users.Me", "GET"): (401, 200, 200, 200),
    ("users.Users", "GET"): (401, 403, 403, 200),
    ("users.Users", "POST"): (401, 403, 403, 422),
    ("users.UserById", "GET"): (401, 403, 403, 200),      # yourself: /users/me
    ("users.UserById", "PATCH"): (401, 403, 403, 200),
    ("tokens.Tokens", "GET"): (401, 200, 200, 200),
    ("tokens.Tokens", "POST"): (401, 422, 422, 422),     # no name, no scopes
    ("tokens.TokenById", "DELETE"): (401, 404, 404, 404),  # no such token
    # Webhooks: admins only, refused before the body is read; no such endpoint: 404.
    ("webhooks.Webhooks", "GET"): (401, 403, 403, 200),
    ("webhooks.Webhooks", "POST"): (401, 403, 403, 422),     # no url, no events
    ("webhooks.WebhookById", "GET"): (401, 403, 403, 404),
    ("webhooks.WebhookById", "PATCH"): (401, 403, 403, 404),
    ("webhooks.WebhookById", "DELETE"): (401, 403, 403, 404),
    ("webhooks.RotateSecret", "POST"): (401, 403, 403, 404),
    ("webhooks.SendTest", "POST"): (401, 403, 403, 404),
    ("webhooks.Deliveries", "GET"): (401, 403, 403, 404),
    ("webhooks.Redeliver", "POST"): (401, 403, 403, 404),
    ("account_tokens.index", "GET"): all_roles(200, 200, 200),
    ("account_tokens.create", "POST"): all_roles(422, 422, 422),  # no name, no scopes
    ("account_tokens.revoke", "POST"): all_roles(404, 404, 404),  # no such token
    ("incidents.Incidents", "GET"): (401, 200, 200, 200),
    ("incidents.Incidents", "POST"): (401, 422, 422, 422),
    ("incidents.IncidentById", "GET"): (401, 200, 200, 200),
    ("incidents.IncidentById", "PATCH"): (401, 200, 200, 200),
    ("incidents.IncidentById", "PUT"): (401, 422, 422, 422),
    ("incidents.IncidentById", "DELETE"): (401, 403, 403, 204),
    ("incidents.IncidentAssign", "POST"): (401, 422, 422, 422),
    ("incidents.IncidentTake", "POST"): (401, 403, 409, 409),    # it is assigned already
    ("incidents.IncidentStart", "POST"): (401, 403, 200, 200),
    ("incidents.IncidentHold", "POST"): (401, 403, 409, 409),
    ("incidents.IncidentResume", "POST"): (401, 403, 409, 409),
    ("incidents.IncidentResolve", "POST"): (401, 422, 422, 422),
    ("incidents.IncidentReopen", "POST"): (401, 409, 403, 409),
    ("incidents.IncidentClose", "POST"): (401, 409, 403, 409),
    ("comments.IncidentComments", "GET"): (401, 200, 200, 200),
    ("comments.IncidentComments", "POST"): (401, 422, 422, 422),
    ("comments.IncidentEvents", "GET"): (401, 200, 200, 200),
    # Attachments (issue 14): the reporter's screenshot on the world's incident.
    ("attachments.IncidentAttachments", "GET"): (401, 200, 200, 200),
    ("attachments.IncidentAttachments", "POST"): (401, 422, 422, 422),  # no file field
    ("attachments.AttachmentById", "GET"): (401, 200, 200, 200),
    ("attachments.AttachmentById", "DELETE"): (401, 204, 403, 204),  # uploader or admin
    ("attachments.AttachmentContent", "GET"): (401, 200, 200, 200),
    ("attachment_files.download", "GET"): (LOGIN, 200, 200, 200),
    ("attachment_files.preview", "GET"): (LOGIN, 200, 200, 200),
    ("attachment_files.delete", "POST"): (LOGIN, 302, 302, 302),  # back to the incident
    ("incidents.IncidentTransitions", "GET"): (401, 200, 200, 200),

    # --- the portal ------------------------------------------------------------------------
    ("admin.index", "GET"): all_roles(200, 200, 200),
    # All incidents: admins only.
    ("all_incidents.index_view", "GET"): admin_only(200),
    ("all_incidents.details_view", "GET"): admin_only(200),
    ("all_incidents.create_view", "GET"): admin_only(200),
    ("all_incidents.create_view", "POST"): admin_only(200),   # empty form: errors shown
    ("all_incidents.edit_view", "GET"): admin_only(200),
    ("all_incidents.edit_view", "POST"): admin_only(302),  # fields not sent stay as they are
    ("all_incidents.delete_view", "POST"): admin_only(302),
    ("all_incidents.export", "GET"): admin_only(200),
    ("all_incidents.action_view", "POST"): admin_only(302),
    ("all_incidents.ajax_lookup", "GET"): admin_only(404),
    ("all_incidents.ajax_update", "POST"): admin_only(404),
    ("all_incidents.command_view", "GET"): admin_only(200),
    ("all_incidents.command_view", "POST"): admin_only(200),
    ("all_incidents.act_view", "POST"): admin_only(302),
    ("all_incidents.comment_view", "POST"): admin_only(302),
    ("all_incidents.not_fixed_view", "POST"): admin_only(302),  # no reason: asked again
    # My queue (assigned to me) and Unassigned: staff; the incident is in the technician's
    # queue, in nobody's "unassigned" and not in the admin's own queue.
    ("queue.index_view", "GET"): staff_only(200, 200),
    ("queue.details_view", "GET"): staff_only(200, 404),
    ("queue.create_view", "GET"): staff_only(200, 200),
    ("queue.create_view", "POST"): staff_only(200, 200),
    ("queue.edit_view", "GET"): staff_only(200, 404),
    ("queue.edit_view", "POST"): staff_only(302, 404),
    ("queue.delete_view", "POST"): staff_only(302, 302),
    ("queue.export", "GET"): staff_only(302, 200),
    ("queue.action_view", "POST"): staff_only(302, 302),
    ("queue.ajax_lookup", "GET"): staff_only(404, 404),
    ("queue.ajax_update", "POST"): staff_only(404, 404),
    ("queue.command_view", "GET"): staff_only(403, 200),
    ("queue.command_view", "POST"): staff_only(403, 200),
    ("queue.act_view", "POST"): staff_only(302, 404),
    ("queue.comment_view", "POST"): staff_only(302, 404),
    ("queue.not_fixed_view", "POST"): staff_only(302, 404),  # no reason: asked again
    ("unassigned.index_view", "GET"): staff_only(200, 200),
    ("unassigned.details_view", "GET"): staff_only(404, 404),
    ("unassigned.create_view", "GET"): staff_only(200, 200),
    ("unassigned.create_view", "POST"): staff_only(200, 200),
    ("unassigned.edit_view", "GET"): staff_only(404, 404),
    ("unassigned.edit_view", "POST"): staff_only(404, 404),
    ("unassigned.delete_view", "POST"): staff_only(302, 302),
    ("unassigned.export", "GET"): staff_only(302, 200),
    ("unassigned.action_view", "POST"): staff_only(302, 302),
    ("unassigned.ajax_lookup", "GET"): staff_only(404, 404),
    ("unassigned.ajax_update", "POST"): staff_only(404, 404),
    ("unassigned.command_view", "GET"): staff_only(403, 200),
    ("unassigned.command_view", "POST"): staff_only(403, 200),
    ("unassigned.act_view", "POST"): staff_only(404, 404),
    ("unassigned.comment_view", "POST"): staff_only(404, 404),
    ("unassigned.not_fixed_view", "POST"): staff_only(404, 404),  # no reason: asked again
    # My incidents (reported by me): every role; the incident is the reporter's.
    ("mine.index_view", "GET"): all_roles(200, 200, 200),
    ("mine.details_view", "GET"): all_roles(200, 404, 404),
    ("mine.create_view", "GET"): all_roles(200, 200, 200),
    ("mine.create_view", "POST"): all_roles(200, 200, 200),
    ("mine.edit_view", "GET"): all_roles(302, 404, 404),   # no longer open: not editable
    ("mine.edit_view", "POST"): all_roles(302, 404, 404),
    ("mine.delete_view", "POST"): all_roles(302, 302, 302),
    ("mine.export", "GET"): all_roles(302, 302, 200),
    ("mine.action_view", "POST"): all_roles(302, 302, 302),
    ("mine.ajax_lookup", "GET"): all_roles(404, 404, 404),
    ("mine.ajax_update", "POST"): all_roles(404, 404, 404),
    ("mine.command_view", "GET"): all_roles(403, 403, 200),
    ("mine.command_view", "POST"): all_roles(403, 403, 200),
    ("mine.act_view", "POST"): all_roles(302, 404, 404),
    ("mine.comment_view", "POST"): all_roles(302, 404, 404),
    ("mine.not_fixed_view", "POST"): all_roles(302, 404, 404),  # no reason: asked again
    # The page of any incident one may see (the fallback of portal.admin.grids), in no
    # menu: its list goes to your start page; nothing is created or edited there.
    ("incident.index_view", "GET"): all_roles(302, 302, 302),
    ("incident.details_view", "GET"): all_roles(200, 200, 200),
    ("incident.create_view", "GET"): all_roles(302, 302, 302),
    ("incident.create_view", "POST"): all_roles(302, 302, 302),
    ("incident.edit_view", "GET"): all_roles(302, 302, 302),
    ("incident.edit_view", "POST"): all_roles(302, 302, 302),
    ("incident.delete_view", "POST"): all_roles(302, 302, 302),
    ("incident.export", "GET"): all_roles(302, 302, 200),
    ("incident.action_view", "POST"): all_roles(302, 302, 302),
    ("incident.ajax_lookup", "GET"): all_roles(404, 404, 404),
    ("incident.ajax_update", "POST"): all_roles(404, 404, 404),
    ("incident.command_view", "GET"): all_roles(403, 403, 200),
    ("incident.command_view", "POST"): all_roles(403, 403, 200),
    ("incident.act_view", "POST"): all_roles(302, 302, 302),
    ("incident.comment_view", "POST"): all_roles(302, 302, 302),
    ("incident.not_fixed_view", "POST"): all_roles(302, 302, 302),  # no reason: asked again
    **read_only_admin_view("history"),
    **read_only_admin_view("access"),
    **read_only_admin_view("outbox"),
    **read_only_admin_view("inbound"),
    ("inbound.decide_view", "POST"): admin_only(302),  # no such message: back to the list
    # The SLA: the policy in force (read-only) and the holidays admins keep.
    ("sla_policy.index", "GET"): admin_only(200),
    ("holidays.index_view", "GET"): admin_only(200),
    ("holidays.details_view", "GET"): admin_only(302),   # no details page: back to the list
    ("holidays.create_view", "GET"): admin_only(200),
    ("holidays.create_view", "POST"): admin_only(200),   # nothing filled in: the form again
    ("holidays.edit_view", "GET"): admin_only(302),      # no such holiday: back to the list
    ("holidays.edit_view", "POST"): admin_only(302),
    ("holidays.delete_view", "POST"): admin_only(302),
    ("holidays.export", "GET"): admin_only(302),
    ("holidays.action_view", "POST"): admin_only(302),
    ("holidays.ajax_lookup", "GET"): admin_only(404),
    ("holidays.ajax_update", "POST"): admin_only(404),
    # Users: admins only.
    ("accounts.index_view", "GET"): admin_only(200),
    ("accounts.details_view", "GET"): admin_only(200),
    ("accounts.create_view", "GET"): admin_only(200),
    ("accounts.create_view", "POST"): admin_only(200),
    ("accounts.edit_view", "GET"): admin_only(200),
    ("accounts.edit_view", "POST"): admin_only(200),
    ("accounts.delete_view", "POST"): admin_only(302),
    ("accounts.export", "GET"): admin_only(302),
    ("accounts.action_view", "POST"): admin_only(302),
    ("accounts.ajax_lookup", "GET"): admin_only(404),
    ("accounts.ajax_update", "POST"): admin_only(404),
    # Webhooks (issue 18): admins only; the world holds one endpoint, which ?id= names.
    ("hooks.index_view", "GET"): admin_only(200),
    ("hooks.details_view", "GET"): admin_only(200),   # its delivery log
    ("hooks.create_view", "GET"): admin_only(200),
    ("hooks.create_view", "POST"): admin_only(200),   # no URL: the form again, saying so
    ("hooks.edit_view", "GET"): admin_only(200),
    ("hooks.edit_view", "POST"): admin_only(200),     # no URL: the form again, saying so
    ("hooks.delete_view", "POST"): admin_only(302),   # no id in the form: back, unchanged
    ("hooks.export", "GET"): admin_only(302),
    ("hooks.action_view", "POST"): admin_only(302),
    ("hooks.ajax_lookup", "GET"): admin_only(404),
    ("hooks.ajax_update", "POST"): admin_only(404),
    ("hooks.rotate_view", "POST"): admin_only(200),   # the page showing the new secret
    ("hooks.test_view", "POST"): admin_only(302),     # queued: back to the log
    ("hooks.redeliver_view", "POST"): admin_only(302),  # no delivery named: back
}
