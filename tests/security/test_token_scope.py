"""Findings 5 and 6: tokens end for good on deactivation, work on /api/ only and only from
headers, one scheme per request; /verify and /change are throttled and audited; recovery
codes and 2FA setup need a fresh password session."""
from __future__ import annotations

import time

import pytest

from portal.auth.accounts import update_account
from portal.auth.models import AccessEvent, AccessKind
from portal.extensions import db
from tests.clients import csrf_token_from, log_in, page_csrf_token, signed_in_as
from tests.factories import PASSWORD, make_user


def test_reactivation_does_not_bring_old_tokens_back(app):
    admin, user = make_user("admin"), make_user("technician")
    token = user.get_auth_token()
    update_account(user, actor=admin, active=False)
    db.session.commit()
    update_account(user, actor=admin, active=True)
    db.session.commit()
    assert signed_in_as(app.test_client(), {"Authorization": f"Bearer {token}"}) is None


@pytest.mark.parametrize("how", ["query", "Authentication-Token", "Bearer"])
def test_tokens_do_not_open_portal_pages(client, how):
    token = make_user("admin").get_auth_token()
    path, headers = "/admin/users/", {}
    if how == "query":
        path += f"?auth_token={token}"
    elif how == "Bearer":
        headers = {"Authorization": f"Bearer {token}"}
    else:
        headers = {how: token}
    response = client.get(path, headers=headers)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_tokens_in_the_query_string_or_body_do_not_work_on_the_api_either(client):
    token = make_user("admin").get_auth_token()
    assert client.get(f"/api/v1/users/me?auth_token={token}").status_code == 401
    assert client.get("/api/v1/users/me", json={"auth_token": token}).status_code == 401


@pytest.mark.parametrize("path", ["/verify", "/change", "/mf-recovery-codes", "/tf-setup"])
def test_a_token_is_no_password_session(client, path):
    user = make_user("reporter")
    bearer = {"Authorization": f"Bearer {user.get_auth_token()}"}
    page = client.get(path, headers=bearer)
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    # With a CSRF token from the login page's session, the POST is refused all the same.
    csrf = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(path, headers=bearer, data={
        "password": PASSWORD, "csrf_token": csrf, "setup": "authenticator"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not db.session.scalar(db.select(AccessEvent).where(
        AccessEvent.user_id == user.id, AccessEvent.kind == AccessKind.login.value))


@pytest.mark.parametrize("first,second", [
    ("Authorization", "Authentication-Token"), ("Authentication-Token", "Authorization")])
def test_bearer_wins_over_a_junk_second_header(client, first, second):
    user = make_user("reporter")
    token = user.get_auth_token()
    valid = {"Authorization": f"Bearer {token}", "Authentication-Token": token}
    junk = {"Authorization": "Bearer junk", "Authentication-Token": "junk"}
    assert signed_in_as(client, {first: valid[first], second: junk[second]}) == \
        (user.id if first == "Authorization" else None)


def logged_in(client, user):
    assert log_in(client, user).status_code == 302


@pytest.mark.parametrize("path,field", [("/verify", "password"), ("/change", "password")])
def test_password_checks_behind_a_session_are_throttled_and_audited(make_app, path, field):
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    user = make_user("reporter")
    logged_in(client, user)
    codes = []
    for _ in range(6):
        token = csrf_token_from(client.get(path).get_data(as_text=True))
        data = {field: "not-my-password-1", "csrf_token": token,
                "new_password": "a-brand-new-passphrase-9",
                "new_password_confirm": "a-brand-new-passphrase-9"}
        codes.append(client.post(path, data=data).status_code)
    assert codes == [200] * 5 + [429]
    failures = db.session.scalars(db.select(AccessEvent).where(
        AccessEvent.user_id == user.id, AccessEvent.kind == AccessKind.login_failed.value)).all()
    assert len(failures) == 5


@pytest.mark.parametrize("path", ["/mf-recovery-codes", "/tf-setup"])
def test_recovery_codes_and_2fa_setup_need_a_fresh_password(client, path):
    user = make_user("reporter")
    logged_in(client, user)
    assert client.get(path).status_code == 200
    with client.session_transaction() as session:
        session["fs_paa"] = time.time() - 3600  # the password was typed an hour ago
        session.pop("fs_gexp", None)
    response = client.get(path)
    assert response.status_code == 302 and "/verify" in response.headers["Location"]


def test_logout_ends_the_session_not_the_api_tokens(client):
    # Decided (README, Security): tokens are separate credentials with their own expiry,
    # ended by a password change, deactivation or expiry, not by logging out a browser.
    user = make_user("reporter")
    token = user.get_auth_token()
    logged_in(client, user)
    client.post("/logout", data={"csrf_token": page_csrf_token(client)})
    assert signed_in_as(client) is None
    assert signed_in_as(client, {"Authorization": f"Bearer {token}"}) == user.id
