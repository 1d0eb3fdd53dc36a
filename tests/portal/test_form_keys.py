"""The portal's forms sent twice (finding 5 of issue 29: a write that committed answered
5xx, and the retry doubled it): each form carries a one-time key, and a second copy
changes nothing and is answered as the first was (``portal.admin.form_keys``)."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from portal.admin.form_keys import OTHER_CONTENTS
from portal.extensions import db
from portal.incidents.enums import Status
from portal.incidents.models import Comment, Incident, IncidentEvent
from tests.clients import log_in
from tests.factories import make_incident, make_user
from tests.races import race


@pytest.fixture
def people():
    return {"admin": make_user("admin"), "technician": make_user("technician"),
            "reporter": make_user("reporter")}


def writes() -> tuple[int, int, int]:
    """How many incidents, history entries and comments there are."""
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count(model.id)))
                 for model in (Incident, IncidentEvent, Comment))


def form_on(page: str, action: str | None) -> tuple[str | None, dict[str, str]]:
    """The action and hidden fields of the page's first form whose action contains
    ``action`` (None: the form without one, which posts to the page itself)."""
    for attributes, body in re.findall(r"<form\b([^>]*)>(.*?)</form>", page, re.S):
        found = re.search(r'action="([^"]*)"', attributes)
        target = html.unescape(found.group(1)) if found else None
        if (action is None and target is None) or (action and target and action in target):
            hidden = {}
            for tag in re.findall(r"<input\b[^>]*>", body):
                attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
                if attrs.get("type") == "hidden" and "name" in attrs:
                    hidden[attrs["name"]] = html.unescape(attrs.get("value", ""))
            return target, hidden
    raise AssertionError(f"no form posting to {action!r} on the page")


def page_of(client, path: str) -> str:
    return client.get(path).get_data(as_text=True)


#: (form, who sends it, the incident's status (None: no incident), the page with the form,
#: the form's action, what is typed, the writes one sending makes, what the answer says)
FORMS = [
    ("report", "reporter", None, "/admin/mine/new/", None,
     {"title": "Printer jam", "description": "Floor 2", "priority": "", "category": "other",
      "impact": "", "urgency": ""}, (1, 1, 0), "Reported as"),
    ("reply", "technician", Status.assigned, "/admin/queue/details/?id={id}", "/comment/",
     {"body": "On it"}, (0, 0, 1), "reply added"),
    ("button", "technician", Status.assigned, "/admin/queue/details/?id={id}", "/act/start/",
     {}, (0, 1, 0), "started"),
    ("command form", "technician", Status.in_progress,
     "/admin/queue/command/resolve/?ids={id}", None,
     {"resolution_notes": "Replaced the toner"}, (0, 1, 0), "resolved"),
    ("reopen with a reason", "reporter", Status.resolved, "/admin/mine/details/?id={id}",
     "/not-fixed/", {"note": "Still jams"}, (0, 1, 0), "reopened"),
    ("edit", "admin", Status.open, "/admin/incidents/edit/?id={id}", None,
     {"title": "Printer jams", "description": "Floor 3", "priority": "high",
      "category": "hardware"}, (0, 1, 0), "changed."),
    ("bulk action", "technician", Status.assigned, "/admin/queue/", "/action/",
     {"action": "start", "rowid": "{id}"}, (0, 1, 0), "started"),
]


@pytest.mark.parametrize("role, status, path, action, typed, made, says",
                         [case[1:] for case in FORMS], ids=[case[0] for case in FORMS])
def test_a_form_sent_twice_changes_once_and_answers_the_same(client, people, role, status,
                                                              path, action, typed, made, says):
    incident = None if status is None else make_incident(
        reporter=people["reporter"], admin=people["admin"], technician=people["technician"],
        status=status)
    path = path.format(id=incident.id if incident else "")
    typed = {name: value.format(id=incident.id if incident else "")
             for name, value in typed.items()}
    log_in(client, people[role])
    target, hidden = form_on(page_of(client, path), action)
    assert re.fullmatch(r"[0-9a-f]{32}", hidden["form_key"])
    before = writes()
    answers = []
    for _ in range(2):
        answer = client.post(target or path, data={**hidden, **typed})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
        answers.append((answer.headers["Location"],
                        says in page_of(client, answer.headers["Location"])))
        assert writes() == tuple(b + m for b, m in zip(before, made))
    assert answers[0] == answers[1] and answers[0][1]


def test_the_same_key_with_other_contents_changes_nothing_and_says_so(client, people):
    incident = make_incident(reporter=people["reporter"], admin=people["admin"],
                             technician=people["technician"], status=Status.assigned)
    log_in(client, people["technician"])
    target, hidden = form_on(page_of(client, f"/admin/queue/details/?id={incident.id}"),
                             "/comment/")
    assert client.post(target, data={**hidden, "body": "On it"}).status_code == 302
    before = writes()
    again = client.post(target, data={**hidden, "body": "On it, edited"},
                        follow_redirects=True)
    assert writes() == before
    assert html.escape(OTHER_CONTENTS, quote=False) in again.get_data(as_text=True)


def test_a_refused_change_leaves_its_key_unused_and_new_keys_write_again(client, people):
    incident = make_incident(reporter=people["reporter"], admin=people["admin"],
                             technician=people["technician"], status=Status.assigned)
    log_in(client, people["reporter"])
    page = f"/admin/mine/details/?id={incident.id}"
    target, hidden = form_on(page_of(client, page), "/comment/")
    refused = client.post(target, data={**hidden, "body": "x", "internal": "y"},
                          follow_redirects=True)
    assert "only admins and technicians" in refused.get_data(as_text=True)
    before = writes()
    assert client.post(target, data={**hidden, "body": "Thanks"}).status_code == 302
    _, fresh = form_on(page_of(client, page), "/comment/")
    assert fresh["form_key"] != hidden["form_key"]
    assert client.post(target, data={**fresh, "body": "Thanks"}).status_code == 302
    assert writes() == (before[0], before[1], before[2] + 2)  # two forms, two replies


def test_two_copies_sent_at_once_write_once(app, people):
    """Two tabs of the same person sending the same form at the same moment."""
    incident = make_incident(reporter=people["reporter"], admin=people["admin"],
                             technician=people["technician"], status=Status.assigned)
    tabs = [app.test_client(), app.test_client()]
    page = f"/admin/queue/details/?id={incident.id}"
    for tab in tabs:
        log_in(tab, people["technician"])
    target, hidden = form_on(page_of(tabs[0], page), "/comment/")
    # Each tab sends its own session's CSRF token, and the same form key.
    tokens = [form_on(page_of(tab, page), "/comment/")[1]["csrf_token"] for tab in tabs]
    sends = iter(zip(tabs, tokens))

    def send() -> int:
        tab, token = next(sends)
        return tab.post(target, data={**hidden, "csrf_token": token,
                                      "body": "On it"}).status_code
    before = writes()
    assert race(app, send) == [302, 302]
    assert writes() == (before[0], before[1], before[2] + 1)
