"""Issue 28, finding 9: NUL and other control characters in text.

The review sent NUL in titles and descriptions: they were stored as sent and written
raw into mail ``Subject:`` lines, and on PostgreSQL (which cannot store NUL) the same
requests answered 500 — as did a NUL in a search, a token's name or a login. Now every
text field at every front door refuses C0 control characters other than tab and line
feed (and CR outside a CRLF), and DEL: the API with 422 problem details naming the
field (``code: control_characters``), the portal with the error naming the field; mail
in, which cannot ask the sender again, strips them. Nothing is stored, never a 500.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from portal.auth.models import PersonalToken, User
from portal.extensions import db
from portal.incidents.enums import Status
from portal.incidents.models import Comment, Incident, IncidentEvent
from portal.notifications.models import OutboxMessage
from portal.webhooks.models import WebhookEndpoint
from tests.clients import bearer, csrf_token_from, log_in
from tests.factories import make_incident, make_user
from tests.mailin.helpers import INBOX_ADDRESS, last_inbound

#: One character of each kind the rule refuses: NUL (PostgreSQL's 500), an escape
#: (terminal colours), a bell, a lone carriage return, DEL.
REFUSED = ["\x00", "\x1b", "\x07", "\r", "\x7f"]


@pytest.fixture
def world():
    admin, technician = make_user("admin"), make_user("technician")
    rita = make_user("reporter", username="rita")
    working = make_incident(reporter=rita, admin=admin, technician=technician,
                            status=Status.in_progress, title="VPN drops every 10 minutes")
    resolved = make_incident(reporter=rita, admin=admin, technician=technician,
                             status=Status.resolved)
    return {"admin": admin, "technician": technician, "reporter": rita,
            "working": working, "resolved": resolved}


def stored() -> dict[str, int]:
    """How many rows of what a refused request must not write."""
    db.session.rollback()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Incident, Comment, IncidentEvent, User, PersonalToken,
                          WebhookEndpoint)}


# --- the API: (case, who, method, path, the request's arguments, field, where sent) ------

API = [
    ("report: title", "reporter", "POST", lambda w: "/api/v1/incidents",
     lambda bad: {"json": {"title": f"Printer{bad} jammed", "description": "Tray 2"}},
     "title", "json"),
    ("report: description", "reporter", "POST", lambda w: "/api/v1/incidents",
     lambda bad: {"json": {"title": "Printer jammed", "description": f"Tray{bad} 2"}},
     "description", "json"),
    ("edit: title", "admin", "PATCH", lambda w: f"/api/v1/incidents/{w['working'].id}",
     lambda bad: {"json": {"title": f"VPN{bad}"}}, "title", "json"),
    ("replace: description", "admin", "PUT", lambda w: f"/api/v1/incidents/{w['working'].id}",
     lambda bad: {"json": {"title": "VPN", "description": f"x{bad}", "priority": "low",
                           "category": "network"}}, "description", "json"),
    ("resolve: notes", "technician", "POST",
     lambda w: f"/api/v1/incidents/{w['working'].id}/resolve",
     lambda bad: {"json": {"resolution_notes": f"Fixed{bad}"}}, "resolution_notes", "json"),
    ("reopen: note", "reporter", "POST",
     lambda w: f"/api/v1/incidents/{w['resolved'].id}/reopen",
     lambda bad: {"json": {"note": f"Still{bad} broken"}}, "note", "json"),
    ("comment: body", "reporter", "POST",
     lambda w: f"/api/v1/incidents/{w['working'].id}/comments",
     lambda bad: {"json": {"body": f"Again{bad}"}}, "body", "json"),
    ("search: q", "reporter", "GET", lambda w: "/api/v1/incidents",
     lambda bad: {"query_string": {"q": f"VPN{bad}"}}, "q", "query"),
    ("new user: username", "admin", "POST", lambda w: "/api/v1/users",
     lambda bad: {"json": {"email": "nina@example.com", "username": f"ni{bad}na",
                           "password": "a-long-passphrase-9", "roles": ["reporter"]}},
     "username", "json"),
    ("user: email", "admin", "PATCH", lambda w: f"/api/v1/users/{w['reporter'].id}",
     lambda bad: {"json": {"email": f"rita{bad}@example.com"}}, "email", "json"),
    ("token: name", "reporter", "POST", lambda w: "/api/v1/tokens",
     lambda bad: {"json": {"name": f"nightly{bad}", "scopes": ["incidents:read"]}},
     "name", "json"),
    ("webhook: description", "admin", "POST", lambda w: "/api/v1/webhooks",
     lambda bad: {"json": {"url": "https://hooks.example.com/desk", "description":
                           f"Chat{bad}", "events": ["incident.created"]}},
     "description", "json"),
    ("webhook: events", "admin", "POST", lambda w: "/api/v1/webhooks",
     lambda bad: {"json": {"url": "https://hooks.example.com/desk",
                           "events": [f"incident.created{bad}"]}}, "events", "json"),
    ("sign-in: email", None, "POST", lambda w: "/api/v1/auth/token",
     lambda bad: {"json": {"email": f"rita{bad}@example.com", "password": "guess"}},
     "email", "json"),
    ("upload: comment_id", "reporter", "POST",
     lambda w: f"/api/v1/incidents/{w['working'].id}/attachments",
     lambda bad: {"data": {"comment_id": f"1{bad}"}, "content_type": "multipart/form-data"},
     "comment_id", "form"),
]


@pytest.mark.parametrize("bad", REFUSED, ids=["NUL", "ESC", "BEL", "lone CR", "DEL"])
@pytest.mark.parametrize("who,method,path,arguments,field,location",
                         [case[1:] for case in API], ids=[case[0] for case in API])
def test_the_api_refuses_control_characters_naming_the_field(
        client, world, bad, who, method, path, arguments, field, location):
    before = stored()
    headers = {"Accept": "application/problem+json", **(bearer(world[who]) if who else {})}
    response = client.open(path(world), method=method, headers=headers, **arguments(bad))
    assert response.status_code == 422, response.get_data(as_text=True)
    problem = json.loads(response.get_data())
    assert response.mimetype == "application/problem+json"
    assert problem["code"] == "control_characters"
    assert problem["detail"].startswith(
        f"{field} holds a control character (U+{ord(bad):04X}) at character ")
    assert problem["errors"] == {location: {field: [problem["detail"]]}}
    assert stored() == before


def test_the_plain_json_error_carries_the_code_too(client, world):
    response = client.post("/api/v1/incidents", headers=bearer(world["reporter"]),
                           json={"title": "Printer\x00", "description": "Tray 2"})
    body = response.get_json()
    assert (response.status_code, body["error_code"], list(body["errors"]["json"])) == \
        (422, "control_characters", ["title"])


def test_the_openapi_document_states_the_rule(client):
    document = client.get("/api/openapi.json").get_json()
    create = document["components"]["schemas"]["IncidentCreate"]["properties"]
    assert create["title"]["pattern"] == create["description"]["pattern"] == \
        r"^(?:[^\x00-\x08\x0b-\x1f\x7f]|\r\n)*$"
    assert "pattern" not in document["components"]["schemas"]["Incident"]["properties"][
        "title"], "what the API sends is not an input"


# --- the portal: (case, who, the form's page, where it posts, the fields, the label) -----

def _report(w, bad, field):
    fields = {"title": "Printer jammed", "description": "Tray 2", "priority": "",
              "category": "hardware", "impact": "", "urgency": ""}
    return {**fields, field: fields[field] + bad}


PORTAL = [
    ("report: title", "reporter", lambda w: "/admin/mine/new/", lambda w: "/admin/mine/new/",
     lambda w, bad: _report(w, bad, "title"), "Title"),
    ("report: description", "reporter", lambda w: "/admin/mine/new/",
     lambda w: "/admin/mine/new/", lambda w, bad: _report(w, bad, "description"),
     "Description"),
    ("edit: title", "admin", lambda w: f"/admin/incidents/edit/?id={w['working'].id}",
     lambda w: f"/admin/incidents/edit/?id={w['working'].id}",
     lambda w, bad: {"title": f"VPN{bad}", "description": "x", "priority": "low",
                     "category": "network"}, "Title"),
    ("comment: body", "reporter", lambda w: f"/admin/mine/details/?id={w['working'].id}",
     lambda w: f"/admin/mine/comment/?id={w['working'].id}",
     lambda w, bad: {"body": f"Again{bad}"}, "Comment"),
    ("resolve: notes", "technician",
     lambda w: f"/admin/queue/command/resolve/?ids={w['working'].id}",
     lambda w: f"/admin/queue/command/resolve/?ids={w['working'].id}",
     lambda w, bad: {"ids": str(w["working"].id), "resolution_notes": f"Fixed{bad}"},
     "Resolution notes"),
    ("not fixed: reason", "reporter", lambda w: f"/admin/mine/details/?id={w['resolved'].id}",
     lambda w: f"/admin/mine/not-fixed/?id={w['resolved'].id}",
     lambda w, bad: {"note": f"Still{bad} broken"}, "Why is it not fixed? (optional)"),
    ("new user: username", "admin", lambda w: "/admin/users/new/",
     lambda w: "/admin/users/new/",
     lambda w, bad: {"email": "nina@example.com", "username": f"ni{bad}na",
                     "roles": ["reporter"], "active": "y",
                     "password": "a-long-passphrase-9"}, "Username"),
    ("webhook: description", "admin", lambda w: "/admin/webhooks/new/",
     lambda w: "/admin/webhooks/new/",
     lambda w, bad: {"url": "https://hooks.example.com/desk", "description": f"Chat{bad}",
                     "events": ["incident.created"], "active": "y"}, "Description"),
    ("token: name", "reporter", lambda w: "/account/tokens", lambda w: "/account/tokens",
     lambda w, bad: {"name": f"nightly{bad}", "scopes": ["incidents:read"]}, "name:"),
]


@pytest.mark.parametrize("bad", ["\x00", "\x1b"], ids=["NUL", "ESC"])
@pytest.mark.parametrize("who,page,path,form,label", [case[1:] for case in PORTAL],
                         ids=[case[0] for case in PORTAL])
def test_every_portal_form_shows_the_error_on_its_field(client, world, bad, who, page, path,
                                                        form, label):
    if who:
        log_in(client, world[who])
    before = stored()
    token = csrf_token_from(client.get(page(world)).get_data(as_text=True))
    response = client.post(path(world), data={"csrf_token": token, **form(world, bad)},
                           follow_redirects=True)
    shown = response.get_data(as_text=True)
    assert response.status_code in (200, 422), shown
    assert f"{label} holds a control character (U+{ord(bad):04X})" in shown
    assert stored() == before


def test_a_login_with_a_control_character_is_refused_before_any_look_up(client, world):
    """Flask-Security answers with its generic words (they must not tell which accounts
    exist); the throttle and the audit look nothing up (on PostgreSQL: a 500)."""
    before = stored()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "password": "guess",
                                           "email": "rita\x00@example.com"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert stored() == before and client.get("/api/v1/users/me").status_code == 401


@pytest.mark.parametrize("path,name", [("/search?q=VPN%00", "q"),
                                       ("/admin/incidents/?search=VPN%00", "search"),
                                       ("/admin/mine/?search=VPN%1B", "search")])
def test_a_search_with_a_control_character_is_shown_without_it(client, world, path, name):
    log_in(client, world["admin"])
    response = client.get(path)
    assert response.status_code == 302 and "%00" not in response.headers["Location"] \
        and "%1B" not in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{name} holds a control character" in page and "it was ignored" in page


# --- mail in strips them: it cannot ask the sender again --------------------------------

def _mail(*, subject: str, body: bytes, message_id: str) -> bytes:
    return (f"From: Rita <rita@example.com>\r\nTo: {INBOX_ADDRESS}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{message_id}@client.example.com>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode() + body


def test_mail_in_strips_control_characters_from_subjects_and_bodies(world, mail_door):
    # Encoded as a client would: the subject in RFC 2047, the body quoted-printable.
    subject = "=?utf-8?q?Printer=00=1B=5B31m_jammed=07?="
    mail_door.send(_mail(subject=subject, message_id=f"cc-new-{mail_door.name}",
                         body=b"Paper=00 stuck=1B[0m in tray 2=0C\r\n"))
    row = last_inbound()
    incident = db.session.get(Incident, row.incident_id)
    assert (row.status, incident.title, incident.description) == \
        ("processed", "Printer[31m jammed", "Paper stuck[0m in tray 2")
    [acknowledgement] = db.session.scalars(select(OutboxMessage.subject).where(
        OutboxMessage.incident_id == incident.id, OutboxMessage.recipient == "rita@example.com"))
    assert acknowledgement == f"[{incident.number}] We have your report: Printer[31m jammed"
    mail_door.send(_mail(subject=f"Re: [{world['working'].number}] VPN drops",
                         message_id=f"cc-reply-{mail_door.name}",
                         body=b"Still=00 dropping=1B at 10:25\r\n"))
    db.session.expire_all()
    assert db.session.get(Incident, world["working"].id).comments[-1].body == \
        "Still dropping at 10:25"
