"""Logins, registration and tokens through Flask-Security-Too."""
from __future__ import annotations

import pytest

from portal.auth.models import User
from portal.extensions import db
from tests.clients import csrf_token_from, signed_in_as
from tests.factories import PASSWORD, make_user


def test_login_with_the_form_then_home_names_the_user(client, login, technician):
    response = login(technician)
    assert response.status_code == 302
    assert signed_in_as(client) == technician.id
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert f"{technician.username} (technician)" in page


@pytest.mark.parametrize("password", ["wrong-password", ""])
def test_bad_password_is_refused(client, login, reporter, password):
    response = login(reporter, password=password)
    assert response.status_code == 200  # the form again, with an error
    assert signed_in_as(client) is None


def test_inactive_user_cannot_log_in(client, login):
    user = make_user("reporter", active=False)
    page = login(user).get_data(as_text=True)
    assert "disabled" in page.lower()


def test_login_form_without_csrf_token_is_refused(client, reporter):
    response = client.post("/login", data={"email": reporter.email, "password": PASSWORD})
    assert response.status_code in (200, 400)
    assert signed_in_as(client) is None


def test_self_registration_creates_a_reporter(client):
    token = csrf_token_from(client.get("/register").get_data(as_text=True))
    response = client.post("/register", data={
        "email": "newbie@example.com", "username": "newbie", "password": "a-long-passphrase-9",
        "password_confirm": "a-long-passphrase-9", "roles": "admin", "csrf_token": token})
    assert response.status_code == 302
    user = db.session.scalars(db.select(User).where(User.email == "newbie@example.com")).one()
    assert user.role_names == {"reporter"}


def test_registration_can_be_closed(monkeypatch, make_app):
    monkeypatch.setenv("REGISTRATION_OPEN", "0")
    app = make_app()
    assert app.test_client().get("/register").status_code == 404


def test_json_login_issues_a_token_that_authenticates(client, reporter):
    csrf = client.get("/login", json={}).get_json()["response"]["csrf_token"]
    response = client.post("/login?include_auth_token", headers={"X-CSRF-Token": csrf},
                           json={"email": reporter.email, "password": PASSWORD})
    assert response.status_code == 200
    token = response.get_json()["response"]["user"]["authentication_token"]
    # A fresh client with only the token is the reporter (Flask-Security token auth).
    fresh = client.application.test_client()
    assert signed_in_as(fresh, {"Authentication-Token": token}) == reporter.id
