"""The portal (Flask-Admin) through the test client: who sees which menus and pages, and
that every change goes through the lifecycle and its refusals."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from portal.auth.models import User
from portal.extensions import db
from portal.incidents.enums import EventKind, Status
from portal.incidents.models import Incident, IncidentEvent
from tests.clients import csrf_token_from, log_in
from portal.incidents.races import ATTEMPTS
from tests.factories import make_incident, make_user
from tests.races import someone_else_first

ROLES = ["admin", "technician", "reporter"]


@pytest.fixture
def people():
    return {"admin": make_user("admin"), "technician": make_user("technician"),
            "reporter": make_user("reporter"), "other_reporter": make_user("reporter"),
            "other_technician": make_user("technician")}


# --- pages and menus by role ----------------------------------------------------------------

PAGES = [
    # path, {role: status code}
    ("/admin/", {"admin": 200, "technician": 200, "reporter": 200}),
    ("/admin/incidents/", {"admin": 200, "technician": 403, "reporter": 403}),
    ("/admin/queue/", {"admin": 200, "technician": 200, "reporter": 403}),
    ("/admin/unassigned/", {"admin": 200, "technician": 200, "reporter": 403}),
    ("/admin/mine/", {"admin": 200, "technician": 200, "reporter": 200}),
    ("/admin/mine/new/", {"admin": 200, "technician": 200, "reporter": 200}),
    ("/admin/users/", {"admin": 200, "technician": 403, "reporter": 403}),
    ("/admin/users/new/", {"admin": 200, "technician": 403, "reporter": 403}),
    ("/admin/history/", {"admin": 200, "technician": 403, "reporter": 403}),
    ("/admin/access/", {"admin": 200, "technician": 403, "reporter": 403}),
    ("/admin/outbox/", {"admin": 200, "technician": 403, "reporter": 403}),
    ("/admin/incidents/export/csv/", {"admin": 200, "technician": 403, "reporter": 403}),
]


@pytest.mark.parametrize("path,role,code", [(path, role, codes[role])
                                            for path, codes in PAGES for role in ROLES])
def test_pages_by_role(client, people, path, role, code):
    log_in(client, people[role])
    assert client.get(path).status_code == code


@pytest.mark.parametrize("path", [path for path, _ in PAGES])
def test_anonymous_visitors_are_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


MENUS = {
    "admin": {"All incidents", "Users", "Audit", "Dashboard"},
    "technician": {"My queue", "Unassigned", "Dashboard", "Report an incident"},
    "reporter": {"My incidents", "Report an incident", "Dashboard"},
}
NEVER = {"technician": {"All incidents", "Users", "Audit", "Mail outbox"},
         "reporter": {"All incidents", "Users", "Audit", "My queue", "Unassigned"}}


@pytest.mark.parametrize("role", ROLES)
def test_menus_show_only_what_the_role_may_open(client, people, role):
    log_in(client, people[role])
    nav = client.get("/admin/").get_data(as_text=True).split("</nav>")[0]
    for item in MENUS[role]:
        assert item in nav, item
    for item in NEVER.get(role, ()):
        assert f">{item}<" not in nav and f"> {item}" not in nav, item


@pytest.mark.parametrize("role,landing", [("admin", "/admin/"), ("technician", "/admin/queue/"),
                                          ("reporter", "/admin/mine/")])
def test_each_role_lands_on_its_start_page(client, people, role, landing):
    log_in(client, people[role])
    assert client.get("/").headers["Location"].endswith(landing)


# --- lists are role-filtered ---------------------------------------------------------------

def numbers_on(page: str) -> set[str]:
    return set(re.findall(r"<td[^>]*>\s*(INC-\d+)\s*</td>", page))


def test_grids_show_what_each_user_may_see(app, client, people):
    admin = people["admin"]
    own = make_incident(reporter=people["reporter"], admin=admin)
    others = make_incident(reporter=people["other_reporter"], admin=admin,
                           technician=people["other_technician"], status=Status.assigned)
    mine_assigned = make_incident(reporter=people["other_reporter"], admin=admin,
                                  technician=people["technician"], status=Status.in_progress)
    log_in(client, people["reporter"])
    assert numbers_on(client.get("/admin/mine/").get_data(as_text=True)) == {own.number}
    client = app.test_client()  # a second browser
    log_in(client, people["technician"])
    assert numbers_on(client.get("/admin/queue/").get_data(as_text=True)) == \
        {mine_assigned.number}
    assert numbers_on(client.get("/admin/unassigned/").get_data(as_text=True)) == {own.number}
    assert others.number not in client.get("/admin/queue/").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin/mine/details/?id={id}", "/admin/mine/edit/?id={id}",
                                  "/incidents/{id}"])
def test_another_reporters_incident_is_not_found(client, people, path):
    theirs = make_incident(reporter=people["other_reporter"], admin=people["admin"])
    log_in(client, people["reporter"])
    response = client.get(path.format(id=theirs.id))
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Not found" in page and theirs.title not in page


# --- changes go through the lifecycle -------------------------------------------------------

def form_token(client, path):
    return csrf_token_from(client.get(path).get_data(as_text=True))


def test_report_an_incident(client, people):
    log_in(client, people["reporter"])
    token = form_token(client, "/admin/mine/new/")
    response = client.post("/admin/mine/new/", data={
        "csrf_token": token, "title": "Monitor flickers", "description": "Since Monday",
        "priority": "high", "category": "hardware"})
    assert response.status_code == 302
    incident = db.session.scalars(select(Incident)).one()
    assert (incident.title, incident.priority, incident.reporter) == \
        ("Monitor flickers", "high", people["reporter"])
    assert [e.kind for e in incident.events] == ["created"]


def test_forms_without_csrf_are_refused(client, people):
    log_in(client, people["reporter"])
    client.post("/admin/mine/new/", data={"title": "No token", "description": "d",
                                          "priority": "low", "category": "other"})
    assert db.session.scalar(select(func.count(Incident.id))) == 0


def bulk(client, view, action, ids):
    token = form_token(client, f"/admin/{view}/")
    return client.post(f"/admin/{view}/action/", data={
        "csrf_token": token, "action": action, "rowid": [str(i) for i in ids],
        "url": f"/admin/{view}/"})


def test_bulk_assign_goes_through_the_assign_form(client, people):
    admin = people["admin"]
    first = make_incident(reporter=people["reporter"], admin=admin)
    second = make_incident(reporter=people["reporter"], admin=admin)
    closed = make_incident(reporter=people["reporter"], admin=admin,
                           technician=people["technician"], status=Status.closed)
    log_in(client, admin)
    to_form = bulk(client, "incidents", "assign", [first.id, second.id, closed.id])
    assert to_form.status_code == 302
    assert "/admin/incidents/command/assign/" in to_form.headers["Location"]
    form_page = client.get(to_form.headers["Location"]).get_data(as_text=True)
    assert people["technician"].username in form_page
    assert people["reporter"].username not in form_page.split("<select")[1].split("</select>")[0]
    ids = ",".join(str(i) for i in (first.id, second.id, closed.id))
    done = client.post(to_form.headers["Location"], data={
        "csrf_token": csrf_token_from(form_page), "ids": ids,
        "technician_id": people["technician"].id}, follow_redirects=True)
    page = done.get_data(as_text=True)
    technician = people["technician"].username
    assert f"{first.number} and {second.number} assigned to {technician} — now Assigned." \
        in page
    assert f"1 refused — {closed.number}: cannot assign {closed.number}: it is closed" in page
    db.session.expire_all()
    assert {db.session.get(Incident, i).status for i in (first.id, second.id)} == {"assigned"}


def test_the_delete_button_on_the_incident_page_deletes_through_the_lifecycle(client, people):
    """The page's Delete button posts the form the page rendered (its CSRF token); the
    lifecycle records the deletion; rows carry no bin of their own."""
    admin = people["admin"]
    doomed = make_incident(reporter=people["reporter"], admin=admin)
    kept = make_incident(reporter=people["reporter"], admin=admin)
    log_in(client, admin)
    assert 'fa-trash' not in client.get("/admin/incidents/").get_data(as_text=True)
    page = client.get(f"/admin/incidents/details/?id={doomed.id}").get_data(as_text=True)
    action, fields = re.search(r'<form method="post" action="([^"]*/act/delete/[^"]*)"[^>]*>'
                               r'(.*?)</form>', page, re.S).groups()
    data = dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', fields))
    done = client.post(action.replace("&amp;", "&"), data=data, follow_redirects=True)
    assert done.status_code == 200
    assert f"{doomed.number} deleted." in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Incident, doomed.id) is None
    assert db.session.get(Incident, kept.id) is not None
    notes = db.session.scalars(select(IncidentEvent.note).where(
        IncidentEvent.kind == EventKind.deleted)).all()
    assert notes == [f"{doomed.number} deleted: {doomed.title}"]


def test_bulk_start_reports_refusals(client, people):
    admin, technician = people["admin"], people["technician"]
    ready = make_incident(reporter=people["reporter"], admin=admin, technician=technician,
                          status=Status.assigned)
    started = make_incident(reporter=people["reporter"], admin=admin, technician=technician,
                            status=Status.in_progress)
    log_in(client, technician)
    page = client.get(bulk(client, "queue", "start", [ready.id, started.id])
                      .headers["Location"]).get_data(as_text=True)
    assert f"{ready.number} started — now In progress." in page
    assert f"{started.number}: cannot start {started.number}: it is in progress" in page


def test_buttons_on_the_incident_page_and_a_late_click(client, people):
    admin, technician = people["admin"], people["technician"]
    incident = make_incident(reporter=people["reporter"], admin=admin, technician=technician,
                             status=Status.assigned)
    log_in(client, technician)
    details = f"/admin/queue/details/?id={incident.id}"
    page = client.get(details).get_data(as_text=True)
    assert ">Start</button>" in page and ">Close</button>" not in page
    token = csrf_token_from(page)
    assert client.post(f"/admin/queue/act/start/?id={incident.id}",
                       data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status == Status.in_progress
    # Someone else already acted: a clear message, not an error page.
    late = client.post(f"/admin/queue/act/start/?id={incident.id}", data={"csrf_token": token},
                       follow_redirects=True)
    assert late.status_code == 200
    assert f"cannot start {incident.number}: it is in progress" in late.get_data(as_text=True)


def test_a_button_that_keeps_losing_its_race_says_so_and_changes_nothing(client, people):
    """Finding 4 of issue 29, in the portal: a lost optimistic race was an error page
    (500). The change is made again; one that loses every time is a clear message."""
    admin, technician = people["admin"], people["technician"]
    incident = make_incident(reporter=people["reporter"], admin=admin, technician=technician,
                             status=Status.assigned)
    log_in(client, technician)
    token = csrf_token_from(client.get(f"/admin/queue/details/?id={incident.id}")
                            .get_data(as_text=True))
    with someone_else_first(incident.id):
        answer = client.post(f"/admin/queue/act/start/?id={incident.id}",
                             data={"csrf_token": token}, follow_redirects=True)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert f"changed by others {ATTEMPTS} times" in page and "nothing was changed" in page
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status == Status.assigned


def test_resolve_form_requires_notes(client, people):
    admin, technician = people["admin"], people["technician"]
    incident = make_incident(reporter=people["reporter"], admin=admin, technician=technician,
                             status=Status.in_progress)
    log_in(client, technician)
    path = f"/admin/queue/command/resolve/?ids={incident.id}"
    token = form_token(client, path)
    blank = client.post(path, data={"csrf_token": token, "ids": str(incident.id),
                                     "resolution_notes": ""})
    assert blank.status_code == 200 and "Say how it was fixed." in blank.get_data(as_text=True)
    client.post(path, data={"csrf_token": token, "ids": str(incident.id),
                            "resolution_notes": "Replaced the NIC"})
    db.session.expire_all()
    resolved = db.session.get(Incident, incident.id)
    assert (resolved.status, resolved.resolution_notes) == ("resolved", "Replaced the NIC")


def test_reporters_cannot_write_internal_comments(client, people):
    """A forged "internal" from a reporter is refused and said so, never made public."""
    incident = make_incident(reporter=people["reporter"], admin=people["admin"])
    log_in(client, people["reporter"])
    details = f"/admin/mine/details/?id={incident.id}"
    page = client.get(details).get_data(as_text=True)
    assert "Internal (admins and technicians only)" not in page
    answer = client.post(f"/admin/mine/comment/?id={incident.id}", data={
        "csrf_token": csrf_token_from(page), "body": "Sneaky", "internal": "y"},
        follow_redirects=True)
    assert "only admins and technicians may write internal comments" in \
        answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).comments == []


def test_admin_creates_a_user_and_hashes_are_never_shown(client, people):
    log_in(client, people["admin"])
    token = form_token(client, "/admin/users/new/")
    client.post("/admin/users/new/", data={
        "csrf_token": token, "email": "nina@example.com", "username": "nina",
        "roles": ["technician"], "active": "y", "password": "a-long-passphrase-9"})
    nina = db.session.scalars(select(User).where(User.username == "nina")).one()
    assert nina.role_names == {"technician"} and nina.password.startswith("$argon2")
    for path in ("/admin/users/", f"/admin/users/details/?id={nina.id}",
                 f"/admin/users/edit/?id={nina.id}"):
        page = client.get(path).get_data(as_text=True)
        assert "$argon2" not in page and nina.fs_uniquifier not in page


@pytest.mark.parametrize("title", [
    '=HYPERLINK("http://evil.example/","click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0"])
def test_csv_export_neutralises_formulas(client, people, title):
    make_incident(reporter=people["reporter"], admin=people["admin"], title=title,
                  description=title)
    log_in(client, people["admin"])
    response = client.get("/admin/incidents/export/csv/")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    titles = [row[1] for row in rows[1:]]
    assert titles == [f"'{title}"], "a spreadsheet shows the text instead of running it"


def test_dashboard_figures_per_role(client, people):
    admin = people["admin"]
    make_incident(reporter=people["reporter"], admin=admin, priority="critical")
    make_incident(reporter=people["other_reporter"], admin=admin, priority="critical")
    log_in(client, people["reporter"])
    page = client.get("/admin/").get_data(as_text=True)
    card = re.search(r'<a class="card stat-card h-100" href="([^"]+)">\s*<div class="card-body">'
                     r'\s*<div class="stat-label">Active and critical</div>\s*'
                     r'<div class="stat">1<', page)
    assert card, "the card counts the reporter's own active critical incident"
    assert "Active incidents per technician" not in page  # an admin's figure
    listed = client.get(card.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert len(re.findall(r'data-label="Number">INC-', listed)) == 1  # the card's rows


def test_admins_are_told_when_mail_delivery_is_off(client, people):
    make_incident(reporter=people["reporter"], admin=people["admin"])
    log_in(client, people["admin"])
    for path in ("/admin/", "/admin/outbox/"):
        page = client.get(path).get_data(as_text=True)
        assert "Mail delivery is off:" in page, path
        assert re.search(r"\d+ messages? waits? in the", page), path


# --- audit and outbox ------------------------------------------------------------------------

def test_admin_retries_only_failed_mail(client, people):
    from portal.notifications.models import OutboxMessage, OutboxStatus

    make_incident(reporter=people["reporter"], admin=people["admin"],
                  technician=people["technician"], status=Status.assigned)
    failed, pending = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)
                                         ).all()[:2]
    failed.status, failed.attempts, failed.last_error = "failed", 5, "550 mailbox unavailable"
    db.session.commit()
    log_in(client, people["admin"])
    page = client.get("/admin/outbox/").get_data(as_text=True)
    assert "550 mailbox unavailable" in page
    done = client.post("/admin/outbox/action/", data={
        "csrf_token": csrf_token_from(page), "action": "retry",
        "rowid": [str(failed.id), str(pending.id)], "url": "/admin/outbox/"},
        follow_redirects=True)
    assert "1 message(s) queued again. 1 skipped: only failed messages are retried." in \
        done.get_data(as_text=True)
    db.session.expire_all()
    again = db.session.get(OutboxMessage, failed.id)
    assert (again.status, again.attempts) == (OutboxStatus.pending.value, 0)


def test_audit_trail_lists_history_and_logins(client, people):
    incident = make_incident(reporter=people["reporter"], admin=people["admin"],
                             technician=people["technician"], status=Status.in_progress)
    log_in(client, people["admin"])
    started = client.get("/admin/history/?flt0_0=started").get_data(as_text=True)
    rows = re.findall(r"<tr>(.*?)</tr>", started, re.S)[1:]
    assert len(rows) == 1 and incident.number in rows[0] and "In progress" in rows[0]
    everything = client.get("/admin/history/").get_data(as_text=True)
    assert len(re.findall(r"<tr>", everything)) - 1 == 3  # created, assigned, started
    access = client.get("/admin/access/").get_data(as_text=True)
    assert people["admin"].email in access and "Login" in access
