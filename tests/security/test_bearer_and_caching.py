"""Issue 28, finding 10 (two parts).

- ``Authorization: bearer <token>``: the scheme is case-insensitive (RFC 9110 §11.1), on
  every kind of token (the API's login token, Flask-Security's, personal tokens) and for
  reads and writes alike.
- Every page a signed-in person sees carries ``Cache-Control: private, no-store``: the
  grids (Flask-Admin's views) had none, so a browser kept them on disk and "back" after
  logging out on a shared computer showed them again. Static files stay cacheable.
"""
from __future__ import annotations

import pytest

from portal.auth import personal_tokens
from portal.extensions import db
from tests.attachments.helpers import attach, png, run_previews
from tests.clients import csrf_token_from
from tests.factories import PASSWORD, make_incident, make_user

SCHEMES = ["bearer", "BEARER", "bEaReR", "Bearer"]


def api_login_token(client, user) -> str:
    return client.post("/api/v1/auth/token", json={"email": user.email,
                                                   "password": PASSWORD}).get_json()["token"]


def security_login_token(client, user) -> str:
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    answer = client.post("/login?include_auth_token", json={
        "email": user.email, "password": PASSWORD}, headers={"X-CSRF-Token": token})
    return answer.get_json()["response"]["user"]["authentication_token"]


def personal_token(_client, user) -> str:
    _token, secret = personal_tokens.create(
        user, "script", {"incidents:read", "incidents:write", "comments:write"})
    db.session.commit()
    return secret


TOKENS = {"api login": api_login_token, "Flask-Security login": security_login_token,
          "personal": personal_token}


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("kind", TOKENS)
def test_the_bearer_scheme_is_case_insensitive(app, scheme, kind):
    reporter, admin = make_user("reporter"), make_user("admin")
    incident = make_incident(reporter=reporter, admin=admin)
    secret = TOKENS[kind](app.test_client(), reporter)
    client = app.test_client()  # no session: only the header authenticates
    headers = {"Authorization": f"{scheme} {secret}"}
    assert client.get("/api/v1/users/me", headers=headers).get_json()["id"] == reporter.id
    assert client.get(f"/api/v1/incidents/{incident.id}", headers=headers).status_code == 200
    created = client.post("/api/v1/incidents", headers=headers,
                          json={"title": "Printer jam", "description": "Tray 2"})
    assert created.status_code == 201, created.get_json()
    commented = client.post(f"/api/v1/incidents/{incident.id}/comments", headers=headers,
                            json={"body": "Still down"})
    assert commented.status_code == 201, commented.get_json()


@pytest.fixture
def world():
    admin, technician, reporter = (make_user("admin"), make_user("technician"),
                                   make_user("reporter"))
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status="assigned")
    image = attach(incident, reporter, "screen.png", png(64, 48))
    run_previews()  # the worker's round: the image has its preview
    return {"admin": admin, "technician": technician, "reporter": reporter,
            "incident": incident, "image": image}


# (who, page): pages a signed-in person sees, with the world's ids filled in.
PAGES = [
    ("reporter", "/admin/"),
    ("reporter", "/admin/mine/"),
    ("reporter", "/admin/mine/new/"),
    ("reporter", "/admin/mine/details/?id={incident}"),
    ("reporter", "/search?q=mail"),
    ("reporter", "/preferences"),
    ("reporter", "/account/tokens"),
    ("reporter", "/attachments/{image}"),
    ("reporter", "/attachments/{image}/preview"),
    ("technician", "/admin/queue/"),
    ("technician", "/admin/queue/details/?id={incident}"),
    ("technician", "/admin/unassigned/"),
    ("admin", "/admin/incidents/"),
    ("admin", "/admin/incidents/details/?id={incident}"),
    ("admin", "/admin/incidents/edit/?id={incident}"),
    ("admin", "/admin/incidents/export/csv/"),
    ("admin", "/admin/users/"),
    ("admin", "/admin/history/"),
    ("admin", "/admin/access/"),
    ("admin", "/admin/outbox/"),
    ("admin", "/admin/inbound/"),
    ("admin", "/admin/webhooks/"),
    ("admin", "/admin/sla/holidays/"),
    ("admin", "/admin/sla/policy/"),
]


@pytest.mark.parametrize("who, page", PAGES)
def test_signed_in_pages_are_kept_in_no_cache(client, login, world, who, page):
    login(world[who])
    path = page.format(incident=world["incident"].id, image=world["image"].id)
    response = client.get(path)
    response.close()  # a file's answer holds the file open until closed
    assert response.status_code == 200, path
    directives = {word.strip() for word in response.headers.get("Cache-Control", "").split(",")}
    assert {"private", "no-store"} <= directives, (path, response.headers.get("Cache-Control"))


def test_every_page_of_the_url_map_is_kept_in_no_cache(app, client, login, world):
    """Whatever grid is added next: every page without arguments, as an admin."""
    login(world["admin"])
    paths = sorted({rule.rule for rule in app.url_map.iter_rules()
                    if "GET" in rule.methods and "<" not in rule.rule
                    and not rule.rule.startswith("/api/") and rule.endpoint != "home.favicon"
                    and not rule.endpoint.endswith("static")})
    missing = []
    for path in paths:
        response = client.get(path)
        response.close()
        if response.status_code == 200 and "no-store" not in response.headers.get(
                "Cache-Control", ""):
            missing.append(path)
    assert missing == []


def test_static_files_stay_cacheable(client, login, world):
    login(world["reporter"])
    for path in ("/static/portal.css", "/favicon.ico"):
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")
        response.close()
