"""Findings 11 and 12: registration is throttled per address and refuses look-alike
usernames; "remember me" is gone, Cache-Control is well-formed, a right password with a
rejected ``next`` is not audited as a wrong one, and sessions have an absolute lifetime."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.auth.accounts import AccountError, create_account
from portal.auth.models import AccessEvent, AccessKind, User, UserSession
from portal.extensions import db
from tests.clients import bearer, csrf_token_from, log_in, signed_in_as
from tests.factories import make_user

NEW = "an-entirely-new-passphrase-7"


def register(client, n, username=None, ip="10.0.0.1"):
    environ = {"REMOTE_ADDR": ip}
    token = csrf_token_from(client.get("/register", environ_base=environ).get_data(as_text=True))
    return client.post("/register", environ_base=environ, data={
        "email": f"newcomer{n}@example.com", "username": username or f"newcomer{n}",
        "password": NEW, "password_confirm": NEW, "csrf_token": token})


def test_registration_is_throttled_per_address(make_app):
    client = make_app(RATELIMIT_ENABLED=True, REGISTER_RATE_LIMIT="3 per hour").test_client()
    codes = []
    for n in range(4):
        codes.append(register(client, n).status_code)
        client.delete_cookie("session")
    assert codes == [302, 302, 302, 429]
    assert register(client, 9, ip="10.0.0.2").status_code == 302


@pytest.mark.parametrize("username", ["\u0430da", "ad\u0430", "tom\u200b", "zoë", "\u0391da"])
def test_usernames_that_can_look_like_another_are_refused(client, username):
    make_user("admin", username="ada")
    page = register(client, 1, username=username)
    assert page.status_code == 200  # the form again, with the reason
    assert not db.session.scalar(db.select(User).where(User.email == "newcomer1@example.com"))
    with pytest.raises(AccountError, match="username is not valid"):
        create_account(email="x@example.com", username=username, password=NEW,
                       roles=["reporter"])


def test_the_api_refuses_them_too(client):
    admin = make_user("admin")
    response = client.post("/api/v1/users", headers=bearer(admin), json={
        "email": "new@example.com", "username": "\u0430dmin", "password": NEW,
        "roles": ["reporter"]})
    assert response.status_code == 422 and "a-z" in response.get_json()["message"]


def test_case_variants_of_a_taken_username_are_taken():
    make_user("reporter", username="rosa")
    with pytest.raises(AccountError, match="already exists"):
        create_account(email="r2@example.com", username="ROSA", password=NEW,
                       roles=["reporter"])


def test_there_is_no_remember_me(client):
    user = make_user("reporter")
    page = client.get("/login").get_data(as_text=True)
    assert "remember" not in page.lower()
    response = log_in(client, user, remember="y")
    assert response.status_code == 302
    assert "remember_token" not in " ".join(response.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("path", ["/login", "/reset", "/register"])
def test_cache_control_is_well_formed(client, path):
    assert client.get(path).headers["Cache-Control"] == "private, no-store"


def test_a_right_password_with_a_rejected_next_is_not_audited_as_wrong(client):
    user = make_user("reporter")
    log_in(client, user, path="/login?next=//evil.example/", next="//evil.example/")
    events = db.session.scalars(db.select(AccessEvent).where(
        AccessEvent.user_id == user.id)).all()
    assert not [e for e in events if e.kind == AccessKind.login_failed.value
                and e.detail == "password"]


def test_sessions_end_after_their_absolute_lifetime_however_active(app):
    user = make_user("reporter")
    client = app.test_client()
    log_in(client, user)
    assert signed_in_as(client) == user.id
    for row in db.session.scalars(db.select(UserSession)):
        row.created_at -= timedelta(hours=app.config["SESSION_MAX_HOURS"], minutes=1)
    db.session.commit()  # last_seen_at stays recent: the session is busy, and too old
    assert signed_in_as(client) is None
