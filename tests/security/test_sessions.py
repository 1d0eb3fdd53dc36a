"""Sessions end for real: logout, password change, deactivation and idle expiry."""
from __future__ import annotations

from datetime import timedelta

import pytest
from portal.auth.models import UserSession
from portal.extensions import db
from tests.clients import csrf_token_from, log_in, page_csrf_token, signed_in_as
from tests.factories import PASSWORD, make_user


def logged_in_client(app, user, password=PASSWORD):
    client = app.test_client()
    assert log_in(client, user, password=password).status_code == 302
    return client


def is_logged_in(client, user) -> bool:
    return signed_in_as(client) == user.id


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_old_cookie_after_logout_is_refused(app):
    user = make_user("reporter")
    client = logged_in_client(app, user)
    stolen = session_cookie(client)
    token = page_csrf_token(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not is_logged_in(client, user)
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert not is_logged_in(replay, user)


def test_password_change_ends_the_other_sessions(app):
    user = make_user("reporter")
    laptop, phone = logged_in_client(app, user), logged_in_client(app, user)
    token = csrf_token_from(laptop.get("/change").get_data(as_text=True))
    response = laptop.post("/change", data={
        "password": PASSWORD, "new_password": "an-entirely-new-passphrase-7",
        "new_password_confirm": "an-entirely-new-passphrase-7", "csrf_token": token})
    assert response.status_code == 302
    assert is_logged_in(laptop, user)
    assert not is_logged_in(phone, user)


def test_deactivation_ends_sessions_and_tokens(app):
    user = make_user("technician")
    client = logged_in_client(app, user)
    token = user.get_auth_token()
    fresh = app.test_client()
    assert signed_in_as(fresh, {"Authentication-Token": token}) == user.id
    user.active = False
    db.session.commit()
    assert not is_logged_in(client, user)
    assert signed_in_as(app.test_client(), {"Authentication-Token": token}) is None


def test_idle_sessions_expire(app):
    user = make_user("reporter")
    client = logged_in_client(app, user)
    assert is_logged_in(client, user)
    idle = app.permanent_session_lifetime + timedelta(minutes=1)
    for row in db.session.scalars(db.select(UserSession)):
        row.last_seen_at -= idle
    db.session.commit()
    assert not is_logged_in(client, user)


def test_session_cookie_flags(app):
    user = make_user("reporter")
    response = log_in(app.test_client(), user)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires=" in cookie  # a lifetime, renewed while the session is used


@pytest.mark.parametrize("password,reason", [
    ("short-pw-1", "at least 12"),
    ("password1234", "very common password"),
])
def test_password_policy_on_registration(client, password, reason):
    token = csrf_token_from(client.get("/register").get_data(as_text=True))
    page = client.post("/register", data={
        "email": "new@example.com", "username": "newbie", "password": password,
        "password_confirm": password, "csrf_token": token}).get_data(as_text=True)
    assert reason.lower() in page.lower()
