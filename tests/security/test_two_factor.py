"""Two-factor authentication (TOTP) with Flask-Security: required for admins on demand."""
from __future__ import annotations

import pytest
from passlib.totp import TOTP

from tests.clients import log_in, signed_in_as
from tests.factories import make_user


@pytest.fixture
def strict_app(make_app):
    return make_app(REQUIRE_2FA_FOR_ADMINS=True)


def test_admin_without_2fa_is_sent_to_set_it_up(strict_app):
    admin = make_user("admin")
    client = strict_app.test_client()
    response = log_in(client, admin)
    assert response.status_code == 302 and "/tf-setup" in response.headers["Location"]
    assert signed_in_as(client) is None


def test_reporters_are_not_forced(strict_app):
    reporter = make_user("reporter")
    response = log_in(strict_app.test_client(), reporter)
    assert response.status_code == 302 and response.headers["Location"].endswith("/")


def test_authenticator_setup_then_login_needs_the_code(app):
    user = make_user("technician")
    client = app.test_client()
    log_in(client, user)
    csrf = client.get("/tf-setup", json={}).get_json()["response"]["csrf_token"]
    setup = client.post("/tf-setup", json={"setup": "authenticator"},
                        headers={"X-CSRF-Token": csrf}).get_json()["response"]
    key = setup["tf_authr_key"]
    code = TOTP(key=key, format="base32").generate().token
    confirmed = client.post("/tf-validate", json={"code": code},
                            headers={"X-CSRF-Token": csrf})
    assert confirmed.status_code == 200, confirmed.get_json()

    # A new login now stops at the second factor until a valid code is given.
    other = app.test_client()
    first = log_in(other, user)
    assert "/tf-verify" in first.headers["Location"] or "/tf-validate" in first.headers["Location"]
    assert signed_in_as(other) is None
