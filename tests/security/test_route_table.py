"""The authorisation regression suite: every route the app registers (read from the URL
map, so a new route cannot be forgotten), for an anonymous visitor, a reporter, a
technician and an admin, with a CSRF token, and for every unsafe method without one.

The expected codes live in ``route_table.py``; a route missing there fails here.
"""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.attachments.service import add_attachment
from portal.auth.models import User
from portal.extensions import db
from portal.incidents.enums import Status
from portal.incidents.models import Comment, Incident, IncidentEvent
from portal.webhooks import service as webhooks
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.attachments.helpers import run_previews
from tests.clients import csrf_token_from
from tests.factories import make_incident, make_user
from tests.clients import log_in
from tests.security.route_table import LOGIN, ROUTES

ROLES = ("anonymous", "reporter", "technician", "admin")
SAFE = {"GET", "HEAD", "OPTIONS"}
STATIC_FILES = {"static": "portal.css", "admin.static": "admin/js/actions.js",
                "security.static": "js/base64.js", "swagger_ui_static": "swagger-ui.css"}
#: Unsafe routes that take no CSRF token, and why.
CSRF_EXEMPT = {("auth.Token", "POST"): "exchanges credentials for a token; sets no cookie"}


def registered_routes(app) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_registered_route_is_in_the_table(app):
    registered = registered_routes(app)
    assert sorted(registered - ROUTES.keys()) == [], "routes missing from route_table.py"
    assert sorted(ROUTES.keys() - registered) == [], "route_table.py lists unknown routes"


@pytest.fixture
def world():
    admin, technician = make_user("admin"), make_user("technician")
    reporter = make_user("reporter")
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.assigned)
    attachment = add_attachment(incident, reporter, "screen.png", tiny_png())
    # A public address literal: registering it resolves nothing, and no test sends to it.
    webhook, _secret = webhooks.create(admin, url="https://93.184.216.34/hooks",
                                       events=["incident.resolved"])
    db.session.commit()
    run_previews()  # the worker's round: the image has its preview
    return {"admin": admin, "technician": technician, "reporter": reporter,
            "incident": incident, "attachment": attachment, "webhook": webhook}


def tiny_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG")
    return out.getvalue()


def url_for_case(app, endpoint: str, world) -> str:
    """The route's URL with arguments that point into ``world``."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    incident, reporter = world["incident"], world["reporter"]
    # Commands: a button that needs nothing, and the form of one that needs a technician.
    command = "assign" if endpoint.endswith(".command_view") else "start"
    values = {"incident_id": incident.id, "user_id": reporter.id, "command": command,
              "attachment_id": world["attachment"].id, "token_id": 999_999,
              "webhook_id": 999_999, "delivery_id": 999_999,
              "export_type": "csv", "token": "not-a-real-token",
              "filename": STATIC_FILES.get(endpoint, "")}
    url = rule.build({k: v for k, v in values.items() if k in rule.arguments})[1]
    view, _, name = endpoint.partition(".")
    if name in ("details_view", "edit_view", "act_view", "comment_view", "not_fixed_view",
                "delete_view", "rotate_view", "test_view", "redeliver_view"):
        row = {"accounts": reporter.id, "history": 999_999, "access": 999_999,
               "outbox": 999_999, "hooks": world["webhook"].id}.get(view, incident.id)
        url += f"?id={row}"
    elif name == "command_view":
        url += f"?ids={incident.id}"
    return url


def send(client, method: str, url: str, token: str | None):
    if method in SAFE:
        return client.open(url, method=method)
    headers = {"X-CSRF-Token": token} if token else {}
    if url.startswith("/api/"):
        return client.open(url, method=method, json={}, headers=headers)
    return client.open(url, method=method, data={"csrf_token": token} if token else {})


def outcome(response):
    if response.status_code == 302 and "/login" in response.headers.get("Location", ""):
        return LOGIN
    return response.status_code


def signed_in(app, world, role: str):
    client = app.test_client()
    if role == "anonymous":
        return client, csrf_token_from(client.get("/login").get_data(as_text=True))
    log_in(client, world[role])
    return client, csrf_token_from(client.get("/admin/mine/").get_data(as_text=True))


CASES = [(endpoint, method, role, codes[i])
         for (endpoint, method), codes in sorted(ROUTES.items())
         for i, role in enumerate(ROLES)]


@pytest.mark.parametrize("endpoint,method,role,expected", CASES,
                         ids=[f"{m} {e} as {r}" for e, m, r, _ in CASES])
def test_route_answers_each_role_as_the_table_says(app, world, endpoint, method, role,
                                                   expected):
    client, token = signed_in(app, world, role)
    response = send(client, method, url_for_case(app, endpoint, world), token)
    got = outcome(response)
    response.close()  # static files stream from disk
    assert got == expected, f"{method} {endpoint} as {role}: {got}, not {expected}"


def snapshot():
    counts = tuple(db.session.scalar(select(func.count()).select_from(model))
                   for model in (Incident, IncidentEvent, Comment, User, WebhookEndpoint,
                                 WebhookDelivery))
    db.session.expire_all()
    states = tuple(db.session.execute(select(Incident.id, Incident.status,
                                             Incident.technician_id, Incident.version)))
    users = tuple(db.session.execute(select(User.id, User.active, User.password,
                                            User.fs_uniquifier)))
    webhook_endpoints = tuple(db.session.execute(select(
        WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.active,
        WebhookEndpoint.secret_sealed)))
    return counts, states, users, webhook_endpoints


UNSAFE = sorted(key for key in ROUTES if key[1] not in SAFE and key not in CSRF_EXEMPT)


@pytest.mark.parametrize("endpoint,method", UNSAFE, ids=[f"{m} {e}" for e, m in UNSAFE])
@pytest.mark.parametrize("role", ["reporter", "admin"])
def test_unsafe_requests_without_csrf_change_nothing(app, world, endpoint, method, role):
    client, _ = signed_in(app, world, role)
    before = snapshot()
    response = send(client, method, url_for_case(app, endpoint, world), token=None)
    assert response.status_code == 400, response.status_code
    assert snapshot() == before
    assert client.get("/api/v1/users/me").status_code == 200, "the session survived"
