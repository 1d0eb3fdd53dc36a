"""The SLA's admin pages: the effective policy as the clock reads it, and holidays that
move the stored clocks of active incidents when admins add or remove them."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
import time_machine

from portal.config import ConfigError
from portal.extensions import db
from portal.incidents import lifecycle
from portal.sla import clock
from portal.sla.models import Holiday
from tests.clients import csrf_token_from, log_in
from tests.factories import make_user

MONDAY_NINE = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)


@pytest.fixture
def high_on_monday():
    """High priority (8 business hours), reported Monday 23 November 2026 09:00 UTC: due
    Monday 17:00; with Monday a holiday, Tuesday 08:00 + 8 h = Tuesday 16:00."""
    with time_machine.travel(MONDAY_NINE, tick=False):
        incident = lifecycle.create(actor=make_user("reporter"), title="VPN drops",
                                    description="every 10 minutes", priority="high")
        db.session.commit()
    return incident


def test_the_policy_page_shows_what_the_clock_uses(client, make_app):
    app = make_app(SLA_TIMEZONE="Europe/Berlin", SLA_PAUSED_STATUSES=("on_hold", "assigned"),
                   SLA_BUSINESS_HOURS="mon-fri 09:00-17:00; sat 10:00-12:00",
                   SLA_HOLIDAY_COUNTRY="DE")
    with app.app_context():
        admin = make_user("admin")
        db.session.commit()
        with app.test_client() as browser:
            log_in(browser, admin)
            page = browser.get("/admin/sla/policy/").get_data(as_text=True)
    rows = re.findall(r'<tr><th scope="row">(\w+)</th><td>([^<]+)</td><td>([^<]+)</td>'
                      r'<td>([^<]+)</td></tr>', page)
    assert rows == [("Critical", "30 min", "4 h", "24×7"),
                    ("High", "2 h", "8 h", "business hours"),
                    ("Medium", "8 h", "3 days", "business hours"),
                    ("Low", "24 h", "7 days", "business hours")]
    assert "<caption>Business hours (Europe/Berlin)</caption>" in page
    assert '<th scope="row">Mon</th><td>09:00-17:00</td>' in page
    assert '<th scope="row">Sat</th><td>10:00-12:00</td>' in page
    assert '<th scope="row">Sun</th><td>closed</td>' in page
    assert "<dt>Clock stopped while</dt><dd>Assigned, On hold</dd>" in page
    assert "<dt>Warn at</dt><dd>80 % of a target</dd>" in page
    assert "and the public holidays of DE (the holidays package)" in page


@pytest.mark.parametrize("role,shown", [("admin", True), ("technician", False),
                                         ("reporter", False)])
def test_only_admins_find_the_sla_pages_in_the_top_bar(client, role, shown):
    log_in(client, make_user(role))
    bar = client.get("/admin/").get_data(as_text=True)
    assert ('href="/admin/sla/policy/">SLA policy</a>' in bar) is shown
    assert ('href="/admin/sla/holidays/">Holidays</a>' in bar) is shown


def test_a_holiday_added_and_removed_moves_the_active_incidents_due_time(client,
                                                                        high_on_monday):
    assert high_on_monday.due_at == datetime(2026, 11, 23, 17, tzinfo=timezone.utc)
    log_in(client, make_user("admin"))
    form = client.get("/admin/sla/holidays/new/").get_data(as_text=True)
    client.post("/admin/sla/holidays/new/", data={
        "csrf_token": csrf_token_from(form), "day": "2026-11-23", "name": "Founders' day"})
    db.session.expire_all()
    assert db.session.scalars(db.select(Holiday.day)).all() == [date(2026, 11, 23)]
    assert high_on_monday.due_at == datetime(2026, 11, 24, 16, tzinfo=timezone.utc)

    holiday = db.session.scalars(db.select(Holiday)).one()
    listing = client.get("/admin/sla/holidays/").get_data(as_text=True)
    assert "Founders&#39; day" in listing or "Founders' day" in listing
    client.post("/admin/sla/holidays/delete/", data={
        "csrf_token": csrf_token_from(form), "id": holiday.id})
    db.session.expire_all()
    assert db.session.scalars(db.select(Holiday)).all() == []
    assert high_on_monday.due_at == datetime(2026, 11, 23, 17, tzinfo=timezone.utc)


def test_the_same_day_twice_is_a_form_error_not_a_500(client):
    db.session.add(Holiday(day=date(2026, 12, 25), name="Christmas"))
    db.session.commit()
    log_in(client, make_user("admin"))
    form = client.get("/admin/sla/holidays/new/").get_data(as_text=True)
    again = client.post("/admin/sla/holidays/new/", data={
        "csrf_token": csrf_token_from(form), "day": "2026-12-25", "name": "Xmas"})
    assert again.status_code == 200
    assert "2026-12-25 is already a holiday (Christmas)." in again.get_data(as_text=True)
    assert db.session.scalars(db.select(Holiday.name)).all() == ["Christmas"]


def test_a_renamed_holiday_keeps_its_day_but_may_not_take_another_ones(client):
    christmas = Holiday(day=date(2026, 12, 25), name="Christmas")
    boxing_day = Holiday(day=date(2026, 12, 26), name="Boxing day")
    db.session.add_all([christmas, boxing_day])
    db.session.commit()
    log_in(client, make_user("admin"))
    token = csrf_token_from(client.get("/admin/sla/holidays/new/").get_data(as_text=True))
    renamed = client.post(f"/admin/sla/holidays/edit/?id={christmas.id}", data={
        "csrf_token": token, "day": "2026-12-25", "name": "Xmas"})
    assert renamed.status_code == 302
    moved = client.post(f"/admin/sla/holidays/edit/?id={boxing_day.id}", data={
        "csrf_token": token, "day": "2026-12-25", "name": "Boxing day"})
    assert "2026-12-25 is already a holiday (Xmas)." in moved.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.execute(db.select(Holiday.day, Holiday.name).order_by(
        Holiday.day)).all() == [(date(2026, 12, 25), "Xmas"), (date(2026, 12, 26), "Boxing day")]


CHRISTMAS_EVE_FIVE = datetime(2026, 12, 24, 17, tzinfo=timezone.utc)


def test_country_holidays_join_the_admins_in_the_calendar(make_app):
    """High, reported Thursday 24 December 2026 17:00 UTC with SLA_HOLIDAY_COUNTRY=DE: one
    hour on Thursday, Friday 25th is Christmas, the weekend, then Monday 08:00 + 7 h =
    Monday 28th 15:00; with the admins' holiday on Monday too, Tuesday 29th 15:00."""
    app = make_app(SLA_HOLIDAY_COUNTRY="DE")
    with app.app_context():
        reporter = make_user("reporter")
        with time_machine.travel(CHRISTMAS_EVE_FIVE, tick=False):
            incident = lifecycle.create(actor=reporter, title="VPN drops",
                                        description="every 10 minutes", priority="high")
            assert incident.due_at == datetime(2026, 12, 28, 15, tzinfo=timezone.utc)
            db.session.add(Holiday(day=date(2026, 12, 28), name="Shutdown"))
            db.session.flush()
            clock.refresh_active()
            assert incident.due_at == datetime(2026, 12, 29, 15, tzinfo=timezone.utc)
        db.session.rollback()


def test_without_a_country_only_the_admins_holidays_count():
    with time_machine.travel(CHRISTMAS_EVE_FIVE, tick=False):
        incident = lifecycle.create(actor=make_user("reporter"), title="VPN drops",
                                    description="every 10 minutes", priority="high")
    assert incident.due_at == datetime(2026, 12, 25, 15, tzinfo=timezone.utc)


def test_an_unknown_holiday_country_stops_the_app_naming_the_key(make_app):
    with pytest.raises(ConfigError, match="SLA_HOLIDAY_COUNTRY: 'XX' is not a country"):
        make_app(SLA_HOLIDAY_COUNTRY="XX")
