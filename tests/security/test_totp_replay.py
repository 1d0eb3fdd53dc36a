"""Finding 3: an authenticator code works once, only within one step either side, and
the second step of a login is throttled per waiting user, from any number of addresses."""
from __future__ import annotations

import time

import pytest
from flask import current_app
from passlib.totp import TOTP

from portal.auth.current import security
from portal.extensions import db
from tests.clients import csrf_token_from, log_in, signed_in_as
from tests.factories import PASSWORD, make_user


@pytest.fixture
def enrolled():
    """A technician with an authenticator set up; ``code(at)`` gives the code for a time."""
    user = make_user("technician")
    user.tf_totp_secret = security().totp_factory.generate_totp_secret()
    user.tf_primary_method = "authenticator"
    db.session.commit()
    totp = TOTP.using(secrets=current_app.config["SECURITY_TOTP_SECRETS"],
                      issuer="Incident Portal").from_source(user.tf_totp_secret)
    user.code = lambda at=None: totp.generate(time=at or time.time()).token
    return user


def token_request(client, user, code, ip="10.0.0.1"):
    return client.post("/api/v1/auth/token", environ_base={"REMOTE_ADDR": ip},
                       json={"email": user.email, "password": PASSWORD, "code": code})


def password_step(client, user, ip="10.0.0.1"):
    response = log_in(client, user, environ={"REMOTE_ADDR": ip})
    assert "/tf-" in response.headers["Location"]


def code_step(client, code, ip="10.0.0.1"):
    environ = {"REMOTE_ADDR": ip}
    page = client.get("/tf-validate", environ_base=environ).get_data(as_text=True)
    return client.post("/tf-validate", data={"code": code, "csrf_token": csrf_token_from(page)},
                       environ_base=environ)


def test_a_code_is_accepted_once_by_the_api(client, enrolled):
    code = enrolled.code()
    assert token_request(client, enrolled, code).status_code == 200
    assert token_request(client, enrolled, code).status_code == 401


def test_a_code_used_for_a_token_does_not_log_in_to_the_portal(app, enrolled):
    code = enrolled.code()
    assert token_request(app.test_client(), enrolled, code).status_code == 200
    browser = app.test_client()
    password_step(browser, enrolled)
    code_step(browser, code)
    assert signed_in_as(browser) is None


def test_a_code_logs_in_to_the_portal_once(app, enrolled):
    code = enrolled.code()
    first, second = app.test_client(), app.test_client()
    password_step(first, enrolled)
    assert code_step(first, code).status_code == 302
    assert signed_in_as(first) == enrolled.id
    password_step(second, enrolled)
    code_step(second, code)
    assert signed_in_as(second) is None


def test_a_code_from_90_seconds_ago_is_refused(client, enrolled):
    assert token_request(client, enrolled, enrolled.code(time.time() - 90)).status_code == 401
    # One step back is still fine (a phone's clock a little behind).
    assert token_request(client, enrolled, enrolled.code(time.time() - 30)).status_code == 200


def test_second_step_is_throttled_per_waiting_user_from_any_address(make_app, enrolled):
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    password_step(client, enrolled)
    wrong = "000000" if enrolled.code() != "000000" else "111111"
    codes = [code_step(client, wrong, ip=f"10.5.0.{n}").status_code for n in range(6)]
    assert codes[:5] == [200] * 5 and codes[5] == 429
