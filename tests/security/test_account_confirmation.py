"""Issue 28, finding 2: account pre-hijacking. An attacker registers ``victim@…`` before the
victim does; before this fix the account worked at once, and every incident the victim
later mailed in landed in the attacker's account. Now a registration owns its address
only once the link mailed to it is followed: until then it cannot log in (portal, JSON,
API token), mail from the address does not count as its own, it reports nothing and is
sent nothing — and the address's real owner, or an admin, takes the address from it."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from portal.auth.models import User
from portal.extensions import db
from portal.incidents.models import Incident
from portal.mailin.models import InboundMail
from portal.notifications.models import OutboxMessage
from tests.clients import bearer, log_in, post_form, signed_in_as
from tests.factories import make_incident, make_user

VICTIM = "victim@example.com"
ATTACKER_PASSWORD = "attacker-chose-this-9"
OWNER_PASSWORD = "the-real-owner-chose-7"


def register(client, *, email=VICTIM, username="victim", password=ATTACKER_PASSWORD):
    """Register through the portal's form, as a visitor does; then forget the cookie."""
    response = post_form(client, "/register", email=email, username=username,
                         password=password, password_confirm=password)
    assert response.status_code == 302, response.get_data(as_text=True)
    client.delete_cookie("session")
    return response


def accounts_of(address: str) -> list[User]:
    db.session.expire_all()
    return list(db.session.scalars(select(User).where(
        func.lower(User.email) == address.lower())))


def mail_in(runner, sender: str, subject: str, message_id: str) -> str:
    """``manage.py ingest-mail`` with a new message from ``sender``; returns its output."""
    raw = (f"From: Victim <{sender}>\r\nTo: helpdesk@example.com\r\nSubject: {subject}\r\n"
           f"Message-ID: <{message_id}@client.example.com>\r\n"
           "Content-Type: text/plain\r\n\r\nThe payroll export fails since Monday.\r\n")
    result = runner.invoke(args=["ingest-mail"], input=raw.encode())
    assert result.exit_code == 0, result.output
    return result.output


def link_in(text: str, path: str) -> str:
    """The path and query of the first ``path…`` link in ``text`` (to follow it here)."""
    found = re.search(rf"https?://[^\s\"'<>]+{re.escape(path)}[^\s\"'<>]*", text)
    assert found, f"no {path} link in: {text}"
    parts = urlsplit(found.group(0))
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def inbox(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_INBOX_ADDRESS", "helpdesk@example.com")
    monkeypatch.setitem(app.config, "MAIL_INBOX_ALLOWED_DOMAINS", frozenset())
    return app.config


# --- the attack, end to end ---------------------------------------------------------------

def test_the_victims_mail_does_not_land_in_the_attackers_account(client, runner, inbox):
    register(client)  # the attacker, with a password of their own
    output = mail_in(runner, VICTIM, "Payroll export fails", "payroll-1")

    [squatter] = accounts_of(VICTIM)
    assert db.session.scalar(select(func.count(Incident.id)).where(
        Incident.reporter_id == squatter.id)) == 0, "the victim's incident is the attacker's"
    # An unconfirmed registration is no identity: the sender is unknown (example.com is
    # not an allowed domain), so the message waits in quarantine for an admin.
    assert "quarantined" in output
    held = db.session.scalars(select(InboundMail)).one()
    assert held.status == "quarantined" and "is not a user" in held.reason
    # And the attacker cannot log in to look.
    log_in(client, identity=VICTIM, password=ATTACKER_PASSWORD)
    assert signed_in_as(client) is None


def test_mail_from_an_allowed_domain_takes_the_address_from_the_squatter(client, runner,
                                                                          inbox):
    inbox["MAIL_INBOX_ALLOWED_DOMAINS"] = frozenset({"example.com"})
    register(client)
    [squatter] = accounts_of(VICTIM)
    squatter_key = squatter.fs_uniquifier
    output = mail_in(runner, VICTIM, "Payroll export fails", "payroll-2")

    assert "processed: created" in output
    [owner] = accounts_of(VICTIM)  # the squatter is gone; the sender has their own
    assert owner.fs_uniquifier != squatter_key and owner.confirmed_at is not None
    assert owner.password is None  # set through "forgot password", by whoever reads the mail
    incident = db.session.scalars(select(Incident)).one()
    assert incident.reporter_id == owner.id
    log_in(client, identity=VICTIM, password=ATTACKER_PASSWORD)
    assert signed_in_as(client) is None


# --- logging in ------------------------------------------------------------------------------

def test_an_unconfirmed_account_cannot_log_in_anywhere(client):
    register(client)
    page = log_in(client, identity=VICTIM, password=ATTACKER_PASSWORD)
    assert page.status_code == 200 and signed_in_as(client) is None
    assert "not confirmed" in page.get_data(as_text=True)

    csrf = client.get("/login", json={}).get_json()["response"]["csrf_token"]
    response = client.post("/login?include_auth_token", headers={"X-CSRF-Token": csrf},
                           json={"email": VICTIM, "password": ATTACKER_PASSWORD})
    assert response.status_code == 400 and signed_in_as(client) is None

    response = client.post("/api/v1/auth/token",
                           json={"email": VICTIM, "password": ATTACKER_PASSWORD})
    assert response.status_code == 401
    assert "not confirmed" in response.get_json()["message"]


def test_a_wrong_password_does_not_learn_that_the_account_waits(client):
    register(client)
    page = log_in(client, identity=VICTIM, password="a-wrong-guess-12").get_data(as_text=True)
    assert "not confirmed" not in page


# --- the link, through the real SMTP server -------------------------------------------------

def test_the_link_from_the_mail_confirms_then_the_password_logs_in(client, smtp, deliver):
    register(client, password=OWNER_PASSWORD)
    deliver()
    [mail] = smtp.sink.to(VICTIM)
    body = mail.get_body(("plain",)).get_content()
    assert '"victim"' in body  # the mail names the account it confirms

    confirmed = client.get(link_in(body, "/confirm/"))
    assert confirmed.status_code == 302 and urlsplit(confirmed.location).path == "/login"
    assert signed_in_as(client) is None  # the link proves the address; the password, the person
    log_in(client, identity=VICTIM, password=OWNER_PASSWORD)
    [account] = accounts_of(VICTIM)
    assert signed_in_as(client) == account.id


def test_the_link_is_built_from_the_base_url_whatever_the_host_says(make_app):
    app = make_app(BEHIND_PROXY=True, PORTAL_BASE_URL="https://portal.example.com")
    client = app.test_client()
    post_form(client, "/register", email=VICTIM, username="victim",
              password=OWNER_PASSWORD, password_confirm=OWNER_PASSWORD,
              environ={"HTTP_X_FORWARDED_HOST": "evil.example"})
    [mail] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == VICTIM)).all()
    links = re.findall(r"https?://[^\s\"'<>]+", mail.text_body + mail.html_body)
    assert any(link.startswith("https://portal.example.com/confirm/") for link in links)
    assert not any("evil.example" in link for link in links)
    assert mail.event_kind == "account"  # its body is hidden in the Mail outbox view


def test_send_the_link_again(client, smtp, deliver):
    register(client, password=OWNER_PASSWORD)
    unknown = post_form(client, "/confirm", email="nobody@example.com")
    asked = post_form(client, "/confirm", email=VICTIM)
    # The same page whether a registration waits or not: it names no account.
    assert asked.status_code == unknown.status_code == 200
    assert "victim" not in asked.get_data(as_text=True).replace(VICTIM, "")
    deliver()
    first, second = smtp.sink.to(VICTIM)
    link = link_in(second.get_body(("plain",)).get_content(), "/confirm/")
    client.get(link)
    log_in(client, identity=VICTIM, password=OWNER_PASSWORD)
    assert signed_in_as(client) is not None
    assert smtp.sink.to("nobody@example.com") == []


# --- the owner, or an admin, takes the address back -------------------------------------------

def test_the_owner_registering_later_gets_an_account_of_their_own(client, smtp, deliver):
    register(client, password=ATTACKER_PASSWORD)
    deliver()
    register(client, username="realvictim", password=OWNER_PASSWORD)
    deliver()
    # The owner follows the link in the newest mail: it is for their own registration,
    # never one that would confirm the attacker's account and password.
    newest = smtp.sink.to(VICTIM)[-1].get_body(("plain",)).get_content()
    assert '"realvictim"' in newest
    client.get(link_in(newest, "/confirm/"))

    [owner] = accounts_of(VICTIM)
    assert owner.username == "realvictim" and owner.confirmed_at is not None
    log_in(client, identity=VICTIM, password=ATTACKER_PASSWORD)
    assert signed_in_as(client) is None, "the attacker's password opens nothing"
    log_in(client, identity=VICTIM, password=OWNER_PASSWORD)
    assert signed_in_as(client) == owner.id
    # The attacker's own link, had they seen it, is dead with their account.
    first = smtp.sink.to(VICTIM)[0].get_body(("plain",)).get_content()
    client.delete_cookie("session")
    followed = client.get(link_in(first, "/confirm/"), follow_redirects=True)
    assert "not valid" in followed.get_data(as_text=True)


def create_by_api(client, admin):
    return client.post("/api/v1/users", headers=bearer(admin), json={
        "email": VICTIM, "username": "victim", "password": OWNER_PASSWORD,
        "roles": ["reporter"]}).status_code


def create_by_form(client, admin):
    log_in(client, admin)
    post_form(client, "/admin/users/new/", email=VICTIM, username="victim",
              roles="reporter", active="y", password=OWNER_PASSWORD)
    client.delete_cookie("session")
    return 201 if accounts_of(VICTIM)[0].confirmed_at else 422


def create_by_command(client, admin):
    from flask import current_app

    result = current_app.test_cli_runner().invoke(args=[
        "create-user", VICTIM, "--username", "victim", "--role", "reporter",
        "--password", OWNER_PASSWORD])
    return 201 if result.exit_code == 0 else 422


@pytest.mark.parametrize("create", [create_by_api, create_by_form, create_by_command],
                         ids=["api", "users-form", "create-user"])
def test_an_admin_creating_the_owner_takes_the_address(client, create):
    admin = make_user("admin")
    register(client)
    assert create(client, admin) == 201
    [owner] = accounts_of(VICTIM)
    assert owner.confirmed_at is not None  # the admin vouches for the address
    log_in(client, identity=VICTIM, password=OWNER_PASSWORD)
    assert signed_in_as(client) == owner.id


# --- it owns nothing and hears nothing ---------------------------------------------------------

def test_an_admin_cannot_report_for_an_unconfirmed_account(client):
    admin = make_user("admin")
    waiting = make_user("reporter", confirmed=False, email=VICTIM)
    response = client.post("/api/v1/incidents", headers=bearer(admin), json={
        "title": "Payroll export fails", "description": "Since Monday",
        "reporter_id": waiting.id})
    assert response.status_code == 422
    assert "has not confirmed" in " ".join(response.get_json()["errors"]["json"]["reporter_id"])
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.recipient == VICTIM)) == 0


def test_no_work_and_no_mail_go_to_an_unconfirmed_account(client):
    admin = make_user("admin")
    waiting = make_user(roles=["technician"], confirmed=False, email=VICTIM)
    incident = make_incident(reporter=make_user("reporter"), admin=admin)
    response = client.post(f"/api/v1/incidents/{incident.id}/assign", headers=bearer(admin),
                           json={"technician_id": waiting.id})
    assert response.status_code == 422
    assert "has not confirmed" in " ".join(
        response.get_json()["errors"]["json"]["technician_id"])
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.recipient == VICTIM)) == 0
