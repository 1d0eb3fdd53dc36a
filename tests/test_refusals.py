"""One refusal type (``portal.refusals.Refused``): every domain's refusal has its kind's
status, the API answers each through one handler in one shape (plain JSON and problem
details alike), and the portal shows the same words as a flash or a form error."""
from __future__ import annotations

import html
import io
import json
from http import HTTPStatus

import pytest

from portal.attachments.service import AttachmentRefused
from portal.auth.accounts import AccountError, AccountForbidden
from portal.incidents.enums import Status
from portal.incidents.races import ChangedMeanwhile
from portal.extensions import db
from portal.incidents.lifecycle import (InvalidTransition, InvalidValue, NotAllowed,
                                        NotVisible, StaleIncident)
from portal.mailin.models import InboundMail, InboundStatus
from portal.mailin.pipeline import DecisionRefused
from portal.plain_text import ControlCharacters
from portal.refusals import Refused
from portal.webhooks.service import WebhookRefused
from tests.clients import bearer, csrf_token_from, log_in
from tests.factories import make_incident, make_user

KINDS = [
    # the refusal, the status the API answers
    (NotVisible, 404), (NotAllowed, 403), (InvalidTransition, 409), (InvalidValue, 422),
    (StaleIncident, 412), (AttachmentRefused, 422), (AccountError, 422),
    (AccountForbidden, 403), (WebhookRefused, 422), (DecisionRefused, 409),
    (ControlCharacters, 422),
    (ChangedMeanwhile, 409),
]


@pytest.mark.parametrize("kind,status", KINDS, ids=[kind.__name__ for kind, _ in KINDS])
def test_every_refusal_is_a_refused_of_its_kind(kind, status):
    assert issubclass(kind, Refused) and kind.http_status == status


def test_one_refusal_may_narrow_its_kind():
    refused = WebhookRefused("only admins manage webhooks", http_status=403)
    assert (refused.http_status, refused.field, str(refused)) == \
        (403, None, "only admins manage webhooks")
    assert WebhookRefused("x", field="url").http_status == 422


def test_the_api_answers_every_refusal_through_one_handler(app):
    handlers = app.error_handler_spec[None][None]
    assert [kind for kind in handlers if issubclass(kind, Refused)] == [Refused]


# --- each kind through the API, and where the portal can meet it, through the portal -------

def scene():
    """The people and incidents the cases act on."""
    people = {"admin": make_user("admin"), "technician": make_user("technician"),
              "reporter": make_user("reporter")}
    people["assigned"] = make_incident(reporter=people["reporter"], admin=people["admin"],
                                       technician=people["technician"],
                                       status=Status.assigned)
    people["in_progress"] = make_incident(reporter=people["reporter"], admin=people["admin"],
                                          technician=people["technician"],
                                          status=Status.in_progress)
    people["taken"] = make_user("reporter", username="taken")
    return people


def portal_post(client, page: str, path: str, **form):
    """POST ``form`` to ``path`` with the CSRF token of ``page``; the page it ends on."""
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    files = {name: value for name, value in form.items() if isinstance(value, tuple)}
    response = client.post(path, data={"csrf_token": token, **form}, follow_redirects=True,
                           content_type="multipart/form-data" if files else None)
    return html.unescape(response.get_data(as_text=True))


def start_in_progress(s):
    return "technician", "POST", f"/api/v1/incidents/{s['in_progress'].id}/start", {}


def start_in_progress_portal(client, s):
    incident = s["in_progress"]
    return portal_post(client, f"/admin/queue/details/?id={incident.id}",
                       f"/admin/queue/act/start/?id={incident.id}")


def internal_comment(s):
    return "reporter", "POST", f"/api/v1/incidents/{s['assigned'].id}/comments", \
        {"json": {"body": "Sneaky", "internal": True}}


def internal_comment_portal(client, s):
    incident = s["assigned"]
    return portal_post(client, f"/admin/mine/details/?id={incident.id}",
                       f"/admin/mine/comment/?id={incident.id}", body="Sneaky", internal="y")


def empty_file(s):
    return "reporter", "POST", f"/api/v1/incidents/{s['assigned'].id}/attachments", \
        {"data": {"file": (io.BytesIO(b""), "empty.txt")},
         "content_type": "multipart/form-data"}


def empty_file_portal(client, s):
    incident = s["assigned"]
    return portal_post(client, f"/admin/incident/details/?id={incident.id}",
                       f"/admin/incident/comment/?id={incident.id}", body="Typed with care",
                       attachments=(io.BytesIO(b""), "empty.txt"))


def taken_email(s):
    return "admin", "POST", "/api/v1/users", {"json": {
        "email": s["taken"].email, "username": "fresh", "password": "a-long-passphrase-9",
        "roles": ["reporter"]}}


def taken_email_portal(client, s):
    return portal_post(client, "/admin/users/new/", "/admin/users/new/",
                       email=s["taken"].email, username="fresh", roles=["reporter"],
                       active="y", password="a-long-passphrase-9")


def metadata_url(s):
    return "admin", "POST", "/api/v1/webhooks", {"json": {
        "url": "http://169.254.169.254/latest", "events": ["incident.created"]}}


def metadata_url_portal(client, s):
    return portal_post(client, "/admin/webhooks/new/", "/admin/webhooks/new/",
                       url="http://169.254.169.254/latest", description="",
                       events=["incident.created"], active="y")


CASES = [
    # id, kind, status, words of its message, the field named, the API request (whose,
    # method, path, arguments), the same refusal met in the portal (None: it never is)
    ("not visible", NotVisible, 404, "attachment 999999 not found", None,
     lambda s: ("reporter", "GET", "/api/v1/attachments/999999", {}), None),
    ("not allowed", NotAllowed, 403, "only admins and technicians may write internal", None,
     internal_comment, internal_comment_portal),
    ("invalid transition", InvalidTransition, 409,
     "cannot start {in_progress.number}: it is in progress", None, start_in_progress,
     start_in_progress_portal),
    ("invalid value", InvalidValue, 422, "blank", "resolution_notes",
     lambda s: ("admin", "PATCH", f"/api/v1/incidents/{s['assigned'].id}",
                {"json": {"status": "resolved", "resolution_notes": "  "}}), None),
    ("stale incident", StaleIncident, 412, "If-Match does not name", None,
     lambda s: ("admin", "PATCH", f"/api/v1/incidents/{s['assigned'].id}",
                {"json": {"title": "New"}, "headers": {"If-Match": '"0-0-ok"'}}), None),
    ("attachment refused", AttachmentRefused, 422, "empty.txt: the file is empty", "file",
     empty_file, empty_file_portal),
    ("account refused", AccountError, 422, "a user with email {taken.email} already exists",
     "email", taken_email, taken_email_portal),
    ("account forbidden", AccountForbidden, 403, "only admins manage user accounts", None,
     lambda s: ("technician", "GET", "/api/v1/users", {}), None),
    ("webhook refused", WebhookRefused, 422, "cloud metadata address", "url", metadata_url,
     metadata_url_portal),
    ("webhook forbidden", WebhookRefused, 403, "only admins manage webhooks", None,
     lambda s: ("technician", "GET", "/api/v1/webhooks", {}), None),
]


def expected_answers(status: int, message: str, field: str | None):
    """The plain JSON and the problem details of one refusal, byte for byte as clients
    have always read them."""
    errors = {"errors": {"json": {field: [message]}}} if field else {}
    plain = {"code": status, "status": HTTPStatus(status).phrase, "message": message, **errors}
    problem = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
               "detail": message, **errors}
    return plain, problem


def ask(client, whose, method, path, arguments, accept):
    arguments = {**arguments, "headers": {**bearer(whose), **arguments.get("headers", {}),
                                          "Accept": accept}}
    if "data" in arguments:  # a file is read once: a fresh one for each request
        arguments["data"] = {name: (io.BytesIO(part[0].getvalue()), part[1])
                             for name, part in arguments["data"].items()}
    return client.open(path, method=method, **arguments)


@pytest.mark.parametrize("status,words,field,request_of,portal", [case[2:] for case in CASES],
                         ids=[f"{case[0]} ({case[1].__name__})" for case in CASES])
def test_each_refusal_answers_one_shape_and_the_portal_shows_its_words(
        client, status, words, field, request_of, portal):
    s = scene()
    whose, method, path, arguments = request_of(s)
    plain = ask(client, s[whose], method, path, arguments, "application/json")
    assert plain.status_code == status and plain.mimetype == "application/json", \
        plain.get_data(as_text=True)
    message = plain.get_json()["message"]
    assert words.format(**s) in message  # the words of this kind's refusal
    expected_plain, expected_problem = expected_answers(status, message, field)
    assert plain.get_json() == expected_plain
    problem = ask(client, s[whose], method, path, arguments, "application/problem+json")
    assert problem.status_code == status and problem.mimetype == "application/problem+json"
    assert problem.get_data(as_text=True) == json.dumps(expected_problem)
    if portal is not None:
        log_in(client, s[whose])
        assert message in portal(client, s)


def test_a_refused_decision_on_inbound_mail_is_flashed(client):
    """``DecisionRefused`` has no API: the Inbound mail view flashes it."""
    raw = (b"From: a@example.com\r\nSubject: Done\r\nMessage-ID: <done@example.com>\r\n"
           b"Content-Type: text/plain\r\n\r\nAlready handled.\r\n")
    row = InboundMail(message_id="<done@example.com>", sender="a@example.com",
                      subject="Done", status=InboundStatus.processed.value, raw=raw,
                      size=len(raw))
    db.session.add(row)
    db.session.commit()
    log_in(client, make_user("admin"))
    page = portal_post(client, f"/admin/inbound/details/?id={row.id}",
                       f"/admin/inbound/decide/?id={row.id}", decision="discard")
    assert f"message {row.id} is processed, not quarantined" in page
