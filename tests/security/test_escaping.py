"""Stored script injection: every user-supplied text comes back escaped.

Each payload is stored in an incident's title, description, comment and resolution
notes, and in its reporter's username (an account that bypassed the portal's username
rule, as an import from a directory might). Then every page that shows them, the API
and the notification emails are read back: the markup must arrive as text, never as
markup a browser would run.
"""
from __future__ import annotations

import re

import pytest
from markupsafe import escape

from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.enums import Status
from tests.factories import make_incident, make_user
from tests.clients import log_in

PAYLOADS = {
    "script": '<script>alert("xss")</script>',
    "attribute": '"><img src=x onerror=alert(1)>',
    "markup": '<a href="javascript:alert(1)">**bold**</a> [click](javascript:alert(2))',
}
#: What a browser would run if any payload came back unescaped (or rendered as Markdown).
#: (Flask-Admin's own menus use ``href="javascript:void(0)"``: not ours, not matched.)
LIVE_MARKUP = re.compile(r"<script>alert|<img src=x|href=[\"']?javascript:alert", re.I)


@pytest.fixture(params=PAYLOADS.values(), ids=PAYLOADS.keys())
def stored(request, app):
    """An incident whose every free-text field, and its reporter's name, is the payload."""
    payload = request.param
    admin, technician = make_user("admin"), make_user("technician")
    reporter = make_user("reporter", username=payload)
    reporter.email = f"reporter{reporter.id}@example.com"  # so that they can log in
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.in_progress, title=payload, description=payload)
    lifecycle.comment(incident, actor=reporter, body=payload)
    lifecycle.resolve(incident, actor=technician, resolution_notes=payload)
    db.session.commit()
    return {"payload": payload, "incident": incident, "admin": admin,
            "technician": technician, "reporter": reporter}


PAGES = [  # (who looks, page, does the payload appear on it)
    ("admin", "/admin/incidents/", True),
    ("admin", "/admin/incidents/details/?id={id}", True),
    ("admin", "/admin/", True),                      # the dashboard's latest activity
    ("admin", "/admin/history/", True),
    ("admin", "/admin/users/", True),
    ("admin", "/admin/access/", True),
    ("admin", "/admin/outbox/", True),
    ("technician", "/admin/queue/details/?id={id}", True),
    ("reporter", "/admin/mine/", True),
    ("reporter", "/admin/mine/details/?id={id}", True),
    ("reporter", "/admin/mine/edit/?id={id}", False),  # resolved: nothing left to edit
]


@pytest.mark.parametrize("role,path,shown", PAGES, ids=[f"{r} {p}" for r, p, _ in PAGES])
def test_pages_show_the_payload_as_text(client, stored, role, path, shown):
    log_in(client, stored[role])
    response = client.get(path.format(id=stored["incident"].id), follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert not LIVE_MARKUP.search(page), LIVE_MARKUP.search(page).group(0)
    if shown:
        assert str(escape(stored["payload"])) in page, "the text itself is still shown"


def test_the_api_returns_the_text_verbatim_as_json(client, stored):
    """JSON carries the exact text (escaping is the renderer's job); served as JSON with
    nosniff, a browser will not render it as a page."""
    incident, payload = stored["incident"], stored["payload"]
    headers = {"Authorization": f"Bearer {stored['admin'].get_auth_token()}"}
    response = client.get(f"/api/v1/incidents/{incident.id}", headers=headers)
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.get_json()
    assert (body["title"], body["description"], body["resolution_notes"]) == (payload,) * 3
    assert body["reporter"]["username"] == payload
    comments = client.get(f"/api/v1/incidents/{incident.id}/comments", headers=headers)
    assert [c["body"] for c in comments.get_json()] == [payload]


def test_emails_escape_html_and_keep_text_verbatim(stored, smtp, deliver):  # noqa: F811
    assert deliver() > 0
    messages = smtp.sink.messages
    for message in messages:
        html = message.get_body(("html",)).get_content()
        assert not LIVE_MARKUP.search(html), (message["Subject"], LIVE_MARKUP.search(html))
    texts = " ".join(m.get_body(("plain",)).get_content() for m in messages)
    assert stored["payload"] in texts
    htmls = " ".join(m.get_body(("html",)).get_content() for m in messages)
    assert str(escape(stored["payload"])) in htmls


def test_the_portal_refuses_markup_in_new_usernames(client):
    admin = make_user("admin")
    headers = {"Authorization": f"Bearer {admin.get_auth_token()}"}
    response = client.post("/api/v1/users", headers=headers, json={
        "email": "mallory@example.com", "username": PAYLOADS["script"],
        "password": "a long enough passphrase 42", "roles": ["reporter"]})
    assert response.status_code == 422
    assert "username" in response.get_json()["errors"]["json"]
