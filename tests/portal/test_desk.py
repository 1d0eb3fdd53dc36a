"""The service desk's daily pages through the test client: the top bar (counts, search),
the incident page (timeline, internal notes, the resolved banner), reporting, the queues'
controls, times in the portal's zone, the favicon and the 500 page."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from harness.statements import count_statements
from portal.admin.grids import grids_for
from portal.admin.navigation import active_counts
from portal.display import when
from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.enums import Priority, Status
from portal.incidents.models import Incident
from portal.sla.words import due_words
from tests.clients import bearer, csrf_token_from, log_in
from tests.factories import make_incident, make_user


@pytest.fixture
def cast():
    return {"admin": make_user("admin"), "technician": make_user("technician"),
            "reporter": make_user("reporter"), "other": make_user("reporter")}


def world(cast):
    """Two of the reporter's (one open, one with the technician), one of another reporter
    with the technician, one closed."""
    admin, tech = cast["admin"], cast["technician"]
    make_incident(reporter=cast["reporter"], admin=admin)
    make_incident(reporter=cast["reporter"], admin=admin, technician=tech,
                  status=Status.in_progress)
    make_incident(reporter=cast["other"], admin=admin, technician=tech, status=Status.assigned)
    make_incident(reporter=cast["reporter"], admin=admin, technician=tech, status=Status.closed)


# --- the top bar ----------------------------------------------------------------------

@pytest.mark.parametrize("role,expected", [
    ("admin", {"all_incidents": 3, "queue": 0, "unassigned": 1, "mine": 0}),
    ("technician", {"queue": 2, "unassigned": 1, "mine": 0}),
    ("reporter", {"mine": 2}),
])
def test_the_navigation_counts_each_grids_active_incidents_in_one_statement(
        app, cast, role, expected):
    world(cast)
    user = cast[role]
    grids = grids_for(user)
    counts = {}
    statements = count_statements(app, lambda: counts.update(active_counts(user, grids)))
    assert counts == expected
    assert statements == 1


def test_the_top_bar_shows_the_counts_on_every_page(client, cast):
    world(cast)
    log_in(client, cast["technician"])
    for path in ("/admin/queue/", "/search?q=mail", "/change-password", "/admin/nowhere"):
        nav = client.get(path).get_data(as_text=True).split("</nav>")[0]
        assert re.search(r"My queue <span[^>]*>2<", nav), path
        assert 'role="search"' in nav and "Skip to main content" in \
            client.get(path).get_data(as_text=True), path


@pytest.mark.parametrize("typed", ["INC-{id}", "inc-{id}", "{id}", " #{id} "])
def test_a_number_in_the_search_box_opens_the_incident_in_the_users_grid(client, cast, typed):
    world(cast)
    theirs = db.session.scalars(db.select(Incident).where(
        Incident.status == Status.in_progress)).one()
    log_in(client, cast["technician"])
    response = client.get("/search", query_string={"q": typed.format(id=theirs.id)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/queue/details/?id={theirs.id}")


def test_an_invisible_number_is_searched_as_text_and_finds_nothing(client, cast):
    world(cast)
    others = db.session.scalars(db.select(Incident).where(
        Incident.reporter_id == cast["other"].id)).one()
    log_in(client, cast["reporter"])
    response = client.get("/search", query_string={"q": others.number})
    assert response.status_code == 200
    assert "No incident you can see matches" in response.get_data(as_text=True)


@pytest.mark.parametrize("role,words,found", [
    ("admin", "{technician}", 3),       # a technician's name: what they hold
    ("admin", "{other}", 1),            # a reporter's name
    ("reporter", "{other}", 0),         # only among what the reporter may see
    ("technician", "mail is down", 4),  # the title, ignoring case (their closed one too)
])
def test_words_in_the_search_box_find_titles_and_people(client, cast, role, words, found):
    world(cast)
    log_in(client, cast[role])
    names = {name: user.username for name, user in cast.items()}
    page = client.get("/search", query_string={"q": words.format(**names)}).get_data(
        as_text=True)
    assert len(re.findall(r'class="incident-card[ "]', page)) == found


def test_the_search_keeps_the_term_cap(client, cast):
    log_in(client, cast["admin"])
    page = client.get("/search", query_string={"q": " ".join(["w"] * 11)}).get_data(
        as_text=True)
    assert "at most 10 words" in page


def test_the_api_text_search_finds_people_too(client, cast):
    world(cast)
    response = client.get("/api/v1/incidents", headers=bearer(cast["admin"]),
                          query_string={"q": cast["other"].username})
    assert [item["reporter"]["id"] for item in response.get_json()] == [cast["other"].id]


# --- the incident page ----------------------------------------------------------------

def test_the_incident_page_reads_as_a_ticket(client, cast):
    incident = make_incident(reporter=cast["reporter"], admin=cast["admin"],
                             technician=cast["technician"], status=Status.in_progress,
                             title="VPN drops", description="First line\nSecond line",
                             priority="high")
    lifecycle.comment(incident, actor=cast["technician"], body="Looking at the logs")
    lifecycle.comment(incident, actor=cast["technician"], body="Suspect the firewall",
                      internal=True)
    db.session.commit()
    log_in(client, cast["technician"])
    page = client.get(f"/admin/queue/details/?id={incident.id}").get_data(as_text=True)
    assert f"<title>{incident.number}: VPN drops — Incident Portal</title>" in page
    assert page.count("<h1") == 1
    assert ">In progress</span>" in page and ">High priority</span>" in page
    assert "First line\nSecond line" in page  # kept, shown with pre-wrap
    # One timeline, in time order, the internal note tinted and labelled.
    order = [page.index(text) for text in ("reported it", "started work",
                                           "Looking at the logs", "Suspect the firewall")]
    assert order == sorted(order)
    assert re.search(r'is-internal">\s*<div class="timeline-head"><strong>'
                     rf'{cast["technician"].username}</strong> wrote an internal note', page)
    # The main button first: Resolve moves the work on, Hold does not.
    assert page.index(">Resolve…</a>") < page.index(">Hold</button>")
    assert ">Internal note</a>" in page and 'name="internal" value="y"' in page


def test_reporters_neither_see_nor_may_write_internal_notes(client, cast):
    incident = make_incident(reporter=cast["reporter"], admin=cast["admin"],
                             technician=cast["technician"], status=Status.in_progress)
    lifecycle.comment(incident, actor=cast["technician"], body="Secret plan", internal=True)
    db.session.commit()
    log_in(client, cast["reporter"])
    page = client.get(f"/admin/mine/details/?id={incident.id}").get_data(as_text=True)
    assert "Secret plan" not in page and "Internal note" not in page
    done = client.post(f"/admin/mine/comment/?id={incident.id}", follow_redirects=True,
                       data={"csrf_token": csrf_token_from(page), "body": "x",
                             "internal": "y"})
    assert "only admins and technicians may write internal comments" in \
        done.get_data(as_text=True)


@pytest.mark.parametrize("internal,message", [
    (False, "{number}: reply added."),
    (True, "{number}: internal note added (staff only)."),
])
def test_a_comment_says_what_was_added(client, cast, internal, message):
    incident = make_incident(reporter=cast["reporter"], admin=cast["admin"],
                             technician=cast["technician"], status=Status.assigned)
    log_in(client, cast["technician"])
    page = client.get(f"/admin/queue/details/?id={incident.id}").get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(page), "body": "On it"}
    if internal:
        data["internal"] = "y"
    done = client.post(f"/admin/queue/comment/?id={incident.id}", data=data,
                       follow_redirects=True).get_data(as_text=True)
    assert message.format(number=incident.number) in done


def test_after_closing_the_page_says_why_there_is_no_comment_box(client, cast):
    incident = make_incident(reporter=cast["reporter"], admin=cast["admin"],
                             technician=cast["technician"], status=Status.resolved)
    log_in(client, cast["reporter"])
    page = client.get(f"/admin/mine/details/?id={incident.id}").get_data(as_text=True)
    done = client.post(f"/admin/mine/act/close/?id={incident.id}", follow_redirects=True,
                       data={"csrf_token": csrf_token_from(page)}).get_data(as_text=True)
    assert f"{incident.number} closed — now Closed." in done
    assert "This incident is closed, so it takes no more comments." in done


# --- reporting and the queues ---------------------------------------------------------

def test_reporting_has_one_button_and_confirms_the_new_number(client, cast):
    log_in(client, cast["reporter"])
    form = client.get("/admin/mine/new/").get_data(as_text=True)
    assert re.findall(r'type="submit"[^>]*>([^<]+)<', form.split("<main")[1]) == \
        ["Report incident"]
    assert "Save and Add Another" not in form and "placeholder=" in form
    done = client.post("/admin/mine/new/", follow_redirects=True, data={
        "csrf_token": csrf_token_from(form), "title": "Printer jams",
        "description": "Every page", "priority": "high", "category": "hardware"})
    page = done.get_data(as_text=True)
    incident = db.session.scalars(db.select(Incident)).one()
    assert (f'Reported as <a href="/admin/mine/details/?id={incident.id}">'
            f'{incident.number}</a>') in page


@pytest.mark.parametrize("role,grid,bulk", [("reporter", "mine", False),
                                            ("technician", "queue", True),
                                            ("admin", "incidents", True)])
def test_only_staff_get_row_checkboxes_and_the_bulk_menu(client, cast, role, grid, bulk):
    make_incident(reporter=cast["reporter"], admin=cast["admin"],
                  technician=cast["technician"], status=Status.resolved)
    make_incident(reporter=cast["reporter"], admin=cast["admin"],
                  technician=cast["technician"], status=Status.assigned)
    log_in(client, cast[role])
    page = client.get(f"/admin/{grid}/").get_data(as_text=True)
    assert ("action-checkbox" in page) is bulk
    assert ("With selected" in page) is bulk
    assert "fa-pencil" not in page and "fa-eye" not in page


def test_the_default_order_puts_overdue_work_first(client, cast):
    admin = cast["admin"]
    closed = make_incident(reporter=cast["reporter"], admin=admin, priority="critical",
                           technician=cast["technician"], status=Status.closed)
    low = make_incident(reporter=cast["reporter"], admin=admin, priority="low")
    late = [make_incident(reporter=cast["reporter"], admin=admin, priority="critical")
            for _ in range(2)]
    for incident in late:
        incident.due_at = datetime(2020, 1, 1, tzinfo=timezone.utc)
    db.session.commit()
    log_in(client, admin)
    page = client.get("/admin/incidents/").get_data(as_text=True)
    shown = re.findall(r'<td class="col-id" data-label="Number">(INC-\d+)</td>', page)
    assert shown[:2] == sorted((i.number for i in late), key=shown.index)
    assert shown.index(low.number) < shown.index(closed.number)


def test_quick_filters_are_one_click(client, cast):
    admin = cast["admin"]
    make_incident(reporter=cast["reporter"], admin=admin, priority="critical")
    make_incident(reporter=cast["reporter"], admin=admin, priority="low")
    log_in(client, admin)
    page = client.get("/admin/incidents/").get_data(as_text=True)
    chips = dict((label, url.replace("&amp;", "&")) for url, label in re.findall(
        r'<a class="chip[^"]*" href="([^"]+)"[^>]*>(\w+)</a>', page))
    assert list(chips) == ["All", "Active", "Overdue", "Critical", "Unassigned", "Mine"]
    critical = client.get(chips["Critical"]).get_data(as_text=True)
    assert len(re.findall(r'data-label="Number">INC-', critical)) == 1
    assert 'class="chip active" href="' + chips["Critical"] in critical.replace("&amp;", "&")


# --- words and times ------------------------------------------------------------------

def test_times_are_shown_in_the_portal_zone_with_the_zone_named(make_app):
    app = make_app(PORTAL_TIMEZONE="Europe/Berlin")
    with app.app_context():
        assert when(datetime(2026, 12, 2, 5, 18, 42, tzinfo=timezone.utc)) == \
            "2 Dec 2026, 06:18 CET"
        assert when(datetime(2026, 7, 2, 5, 18, tzinfo=timezone.utc)) == "2 Jul 2026, 07:18 CEST"


@pytest.mark.parametrize("status,due_in_minutes,words", [
    (Status.assigned, 180, "due in 3 h"), (Status.assigned, -130, "overdue by 2 h 9 min"),
    (Status.open, 20, "due in 20 min"), (Status.assigned, 60 * 24 * 3, "due in 3 days"),
    (Status.resolved, -600, "no longer due"),
])
def test_due_times_read_as_words(status, due_in_minutes, words):
    from datetime import timedelta
    now = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
    incident = Incident(status=status, priority=Priority.high,
                        due_at=now + timedelta(minutes=due_in_minutes, seconds=30))
    assert due_words(incident, now) == words


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    response.close()


def test_a_server_error_shows_the_portal_page_with_the_request_id(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("broken on purpose")

    response = app.test_client().get("/boom", headers={"X-Request-ID": "req-1234"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page and '<code class="request-id">req-1234</code>' in page
    assert 'lang="en"' in page and "Internal Server Error" not in page


# --- the assign form ------------------------------------------------------------------

def test_the_assign_form_names_the_incidents_and_each_persons_load(client, cast):
    admin, tech = cast["admin"], cast["technician"]
    busy = make_incident(reporter=cast["reporter"], admin=admin, technician=tech,
                         status=Status.assigned, title="Busy one")
    waiting = make_incident(reporter=cast["reporter"], admin=admin, title="VPN drops")
    log_in(client, admin)
    page = client.get(f"/admin/incidents/command/assign/?ids={waiting.id}").get_data(
        as_text=True)
    assert f"{waiting.number}</a> VPN drops" in page and busy.title not in page
    assert '<option value="" disabled selected>Choose a technician…</option>' in page
    assert f"{tech.username} — 1 active" in page
    technicians, admins = page.index('label="Technicians"'), page.index('label="Admins"')
    assert technicians < page.index(f"{tech.username} — ") < admins < \
        page.index(f"{admin.username} — 0 active")


@pytest.mark.parametrize("ids", ["abc", "1,abc", ""])
def test_the_assign_form_refuses_what_is_not_an_incident_number(client, cast, ids):
    log_in(client, cast["admin"])
    response = client.get(f"/admin/incidents/command/assign/?ids={ids}",
                          follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ("is not an incident number" in page) if ids else \
        ("Select at least one incident first." in page)


# --- users ----------------------------------------------------------------------------

def test_the_users_page_reads_in_words_with_last_logins_from_the_access_log(app, cast):
    login_page = app.test_client()
    log_in(login_page, cast["technician"])  # the access log records it
    client = app.test_client()
    log_in(client, cast["admin"])
    page = client.get("/admin/users/").get_data(as_text=True)
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{cast['technician'].email}(?:(?!</tr>).)*</tr>",
                    page, re.S).group(0)
    assert re.search(r"\d{4}, \d\d:\d\d UTC", row), "the technician's last login"
    assert "Never" in page  # the other reporter never logged in
    details = client.get(f"/admin/users/details/?id={cast['technician'].id}").get_data(
        as_text=True)
    assert re.search(r"Two-factor method\s*</b>\s*</td>\s*<td>\s*Off\s*</td>", details)
    assert "Tf Primary Method" not in details and "False" not in details
    form = client.get(f"/admin/users/edit/?id={cast['technician'].id}").get_data(as_text=True)
    boxes = re.findall(r'<input[^>]*name="roles"[^>]*>', form)
    assert len(boxes) == 3 and all('type="checkbox"' in box for box in boxes)


@pytest.mark.parametrize("choice,expected", [("queue", None), ("other", "other"),
                                             ("keep", "technician")])
def test_deactivating_a_technician_hands_their_active_incidents_over(client, cast, choice,
                                                                     expected):
    admin, tech = cast["admin"], cast["technician"]
    other = make_user("technician")
    held = make_incident(reporter=cast["reporter"], admin=admin, technician=tech,
                         status=Status.in_progress)
    log_in(client, admin)
    url = f"/admin/users/edit/?id={tech.id}"
    form = client.get(url).get_data(as_text=True)
    assert f"1 active: {held.number}" in form
    value = str(other.id) if choice == "other" else choice
    done = client.post(url, follow_redirects=True, data={
        "csrf_token": csrf_token_from(form), "email": tech.email, "username": tech.username,
        "roles": ["technician"], "handover": value, "password": ""})  # "active" unticked
    assert done.status_code == 200
    db.session.expire_all()
    assert db.session.get(type(tech), tech.id).active is False
    incident = db.session.get(Incident, held.id)
    holder = {None: None, "other": other.id, "technician": tech.id}[expected]
    assert incident.technician_id == holder
    if choice == "queue":
        assert incident.status == Status.open
        assert "1 active incident of " in done.get_data(as_text=True)


def test_the_incident_history_reads_in_words_and_links_its_incidents(client, cast):
    incident = make_incident(reporter=cast["reporter"], admin=cast["admin"],
                             technician=cast["technician"], status=Status.in_progress)
    log_in(client, cast["admin"])
    page = client.get("/admin/history/").get_data(as_text=True)
    assert f'<a href="/incidents/{incident.id}">{incident.number}</a>' in page
    assert f"Technician: — → {cast['technician'].username}" in page
    assert "Assigned" in page and "In progress" in page
    assert "in_progress" not in page.split("<tbody")[-1] and "None" not in page


def test_saving_an_edit_says_what_changed(client, cast):
    incident = make_incident(reporter=cast["reporter"], admin=cast["admin"])
    log_in(client, cast["admin"])
    url = f"/admin/incidents/edit/?id={incident.id}"
    form = client.get(url).get_data(as_text=True)
    assert re.findall(r'type="submit"[^>]*>([^<]+)<', form.split("<main")[1]) == \
        ["Save changes"]
    data = {"csrf_token": csrf_token_from(form), "title": incident.title,
            "description": "Now with details", "priority": "high", "category": "other"}
    page = client.post(url, data=data, follow_redirects=True).get_data(as_text=True)
    assert f"{incident.number}: description and priority changed." in page
    again = client.post(url, data=data, follow_redirects=True).get_data(as_text=True)
    assert f"{incident.number}: nothing to change." in again
