"""Each user's time zone (issue 16): pages show times in the reader's own zone, named,
else in the server's ``PORTAL_TIMEZONE``; users set it on Preferences, admins on the user
form, the API shows it, and mail gives its recipient's zone."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from portal.display import zone_choices
from portal.extensions import db
from portal.incidents.enums import EventKind
from portal.notifications.compose import Notice, render
from tests.clients import bearer, csrf_token_from, log_in
from tests.factories import make_incident, make_user

#: When the incident of these tests was reported: 05:18 UTC on a winter morning.
REPORTED_AT = datetime(2026, 12, 2, 5, 18, tzinfo=timezone.utc)
SERVER_ZONE = "Asia/Tokyo"


@pytest.fixture
def tokyo(make_app):
    """A portal whose server zone is Tokyo, so a fallback cannot pass for UTC."""
    return make_app(PORTAL_TIMEZONE=SERVER_ZONE)


def with_zone(user, name):
    user.time_zone = name
    db.session.commit()
    return user


@pytest.fixture
def reported():
    """An incident reported at ``REPORTED_AT`` (its 'created' event too)."""
    incident = make_incident(reporter=make_user("reporter"), admin=make_user("admin"))
    incident.created_at = REPORTED_AT
    for event in incident.events:
        event.created_at = REPORTED_AT
    db.session.commit()
    return incident


def timeline_times(page: str) -> list[str]:
    return re.findall(r'<time class="timeline-when"[^>]*>([^<]+)</time>', page)


@pytest.mark.parametrize("zone,shown", [
    ("Europe/Berlin", "2 Dec 2026, 06:18 CET"),
    ("America/New_York", "2 Dec 2026, 00:18 EST"),
    (None, "2 Dec 2026, 14:18 JST"),  # no zone of one's own: the server's
    ("Atlantis/Lost", "2 Dec 2026, 14:18 JST"),  # one a later tzdata dropped: no 500
])
def test_the_incident_page_shows_its_times_in_the_readers_zone(tokyo, reported, zone, shown):
    reader = with_zone(make_user("admin"), zone)
    client = tokyo.test_client()
    log_in(client, reader)
    page = client.get(f"/incidents/{reported.id}", follow_redirects=True).get_data(
        as_text=True)
    assert timeline_times(page) == [shown]
    assert f"<dd>{shown}</dd>" in page  # "Reported"


def test_two_readers_of_the_same_page_see_their_own_zones(tokyo, reported):
    berlin = with_zone(make_user("admin"), "Europe/Berlin")
    new_york = with_zone(make_user("technician"), "America/New_York")
    reported.technician = new_york
    db.session.commit()
    seen = {}
    for reader in (berlin, new_york):
        client = tokyo.test_client()
        log_in(client, reader)
        seen[reader.username] = timeline_times(
            client.get(f"/incidents/{reported.id}", follow_redirects=True).get_data(
                as_text=True))
    assert seen == {berlin.username: ["2 Dec 2026, 06:18 CET"],
                    new_york.username: ["2 Dec 2026, 00:18 EST"]}


def test_the_user_menu_leads_to_preferences_which_offer_common_zones_first(client):
    user = make_user("reporter")
    log_in(client, user)
    menu = client.get("/search").get_data(as_text=True)
    assert '<a class="dropdown-item" href="/preferences">Preferences</a>' in menu
    page = client.get("/preferences").get_data(as_text=True)
    options = re.findall(r'<option[^>]*value="([^"]*)"', page)
    assert options[:3] == ["", "UTC", "Europe/London"]
    assert "The portal&#39;s default (UTC)" in page or "The portal's default (UTC)" in page
    assert len(options) == len(zone_choices()) and "Pacific/Auckland" in options
    assert len(set(options)) == len(options)


@pytest.mark.parametrize("chosen,stored", [("Europe/Berlin", "Europe/Berlin"),
                                           ("America/New_York", "America/New_York"),
                                           ("", None)])
def test_a_user_sets_their_own_zone(client, chosen, stored):
    user = with_zone(make_user("reporter"), "Asia/Kolkata")
    log_in(client, user)
    form = client.get("/preferences").get_data(as_text=True)
    assert re.search(r'<option selected value="Asia/Kolkata">|'
                     r'<option value="Asia/Kolkata" selected', form)
    done = client.post("/preferences", data={"csrf_token": csrf_token_from(form),
                                             "time_zone": chosen}, follow_redirects=True)
    assert done.status_code == 200
    assert f"Saved: times are now shown in {chosen or 'The portal'}" in \
        done.get_data(as_text=True).replace("&#39;", "'")
    db.session.expire_all()
    assert db.session.get(type(user), user.id).time_zone == stored


@pytest.mark.parametrize("bad", ["Mars/Olympus", "../etc/passwd", "europe/berlin",
                                 "Europe/Berlin\n", "x" * 300])
def test_a_zone_that_is_not_one_is_refused_with_the_field_named(client, bad):
    user = with_zone(make_user("reporter"), "Europe/Berlin")
    log_in(client, user)
    form = client.get("/preferences").get_data(as_text=True)
    refused = client.post("/preferences", data={"csrf_token": csrf_token_from(form),
                                                "time_zone": bad})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Time zone: " in page and "is not a time zone" in page
    db.session.expire_all()
    assert db.session.get(type(user), user.id).time_zone == "Europe/Berlin"


@pytest.mark.parametrize("chosen,stored,message", [
    ("America/New_York", "America/New_York", None),
    ("Mars/Olympus", None, "time_zone: &#39;Mars/Olympus&#39; is not a time zone"),
])
def test_an_admin_sets_a_users_zone_on_the_user_form(client, chosen, stored, message):
    admin, tech = make_user("admin"), make_user("technician")
    log_in(client, admin)
    url = f"/admin/users/edit/?id={tech.id}"
    form = client.get(url).get_data(as_text=True)
    assert 'name="time_zone"' in form
    done = client.post(url, follow_redirects=True, data={
        "csrf_token": csrf_token_from(form), "email": tech.email, "username": tech.username,
        "roles": ["technician"], "active": "y", "password": "", "time_zone": chosen})
    assert done.status_code == 200
    if message:
        assert message in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(tech), tech.id).time_zone == stored


@pytest.mark.parametrize("zone", ["Europe/Berlin", None])
def test_the_api_shows_the_callers_zone(client, zone):
    user = with_zone(make_user("reporter"), zone)
    me = client.get("/api/v1/users/me", headers=bearer(user))
    assert me.status_code == 200 and me.get_json()["time_zone"] == zone


@pytest.mark.parametrize("zone,due", [("Europe/Berlin", "3 Dec 2026, 10:00 CET"),
                                      (None, "3 Dec 2026, 18:00 JST")])
def test_mail_gives_the_due_time_in_the_recipients_zone(tokyo, zone, due):
    with tokyo.app_context():
        reporter = with_zone(make_user("reporter"), zone)
        incident = make_incident(reporter=reporter, admin=make_user("admin"))
        incident.due_at = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
        created = next(e for e in incident.events if e.kind == EventKind.created)
        text, html = render(Notice(reporter, "created_reporter", "ack"), created)
    assert f"Due:        {due}" in text and due in html
