"""API authentication: tokens, Bearer and Authentication-Token headers, sessions, CSRF."""
from __future__ import annotations

import pytest

from portal.auth.models import AccessEvent
from portal.extensions import db
from tests.clients import page_csrf_token
from tests.factories import PASSWORD, make_user


def get_token(client, email, password=PASSWORD, **extra):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password,
                                                   **extra})


def test_token_for_good_credentials_works_as_bearer_and_header(client):
    user = make_user("technician")
    response = get_token(client, user.email)
    assert response.status_code == 200
    data = response.get_json()
    assert data["user"] == {"id": user.id, "username": user.username, "email": user.email,
                            "active": True, "roles": ["technician"],
                            "created_at": data["user"]["created_at"], "time_zone": None}
    for headers in ({"Authorization": f"Bearer {data['token']}"},
                    {"Authentication-Token": data["token"]}):
        me = client.get("/api/v1/users/me", headers=headers)
        assert me.status_code == 200 and me.get_json()["id"] == user.id


@pytest.mark.parametrize("email,password,message", [
    ("{email}", "wrong-password-1", "wrong email or password"),
    ("nobody@example.com", PASSWORD, "wrong email or password"),
])
def test_bad_credentials_are_401_and_audited(client, email, password, message):
    user = make_user("reporter")
    response = get_token(client, email.replace("{email}", user.email), password)
    assert response.status_code == 401 and response.get_json()["message"] == message
    failed = db.session.scalars(db.select(AccessEvent).where(
        AccessEvent.kind == "login_failed")).all()
    assert len(failed) == 1 and failed[0].detail.startswith("api token")


def test_inactive_users_get_no_token(client):
    user = make_user("reporter", active=False)
    assert get_token(client, user.email).status_code == 401


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer not-a-token"}, {"Authentication-Token": "forged"},
    {"Authorization": "Basic Zm9vOmJhcg=="},
])
def test_no_or_bad_token_is_401_json_never_a_redirect(client, headers):
    response = client.get("/api/v1/incidents", headers=headers)
    assert response.status_code == 401
    assert response.is_json and response.get_json()["code"] == 401
    assert "Location" not in response.headers


def test_deactivating_a_user_kills_their_token(client):
    admin, user = make_user("admin"), make_user("reporter")
    token = get_token(client, user.email).get_json()["token"]
    admin_token = get_token(client, admin.email).get_json()["token"]
    response = client.patch(f"/api/v1/users/{user.id}", json={"active": False},
                            headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert client.get("/api/v1/users/me",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_new_password_kills_old_tokens(client):
    admin, user = make_user("admin"), make_user("reporter")
    token = get_token(client, user.email).get_json()["token"]
    client.patch(f"/api/v1/users/{user.id}", json={"password": "a-brand-new-passphrase-4"},
                 headers={"Authorization": f"Bearer {admin.get_auth_token()}"})
    assert client.get("/api/v1/users/me",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert get_token(client, user.email, "a-brand-new-passphrase-4").status_code == 200


def test_portal_session_reads_but_unsafe_calls_need_csrf(client, login):
    user = make_user("reporter")
    login(user)
    assert client.get("/api/v1/users/me").get_json()["id"] == user.id
    body = {"title": "From the browser", "description": "d"}
    refused = client.post("/api/v1/incidents", json=body)
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["message"], refused.get_json()
    token = page_csrf_token(client)
    accepted = client.post("/api/v1/incidents", json=body, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201


def test_two_factor_accounts_need_the_code(client, app):
    user = make_user("technician")
    totp = app.extensions["security"].totp_factory
    with app.test_request_context():
        user.tf_totp_secret = totp.generate_totp_secret()
    user.tf_primary_method = "authenticator"
    db.session.commit()
    without = get_token(client, user.email)
    assert without.status_code == 401 and "code" in without.get_json()["message"]
    with app.test_request_context():
        code = totp.generate_totp_password(user.tf_totp_secret)
    assert get_token(client, user.email, code=code).status_code == 200
    assert get_token(client, user.email, code="000000").status_code == 401


def test_token_endpoint_is_throttled_with_json_429(make_app):
    user = make_user("reporter")
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    codes = [get_token(client, user.email, "wrong-password-1").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    blocked = get_token(client, user.email, "wrong-password-1")
    assert blocked.get_json()["code"] == 429 and "Retry-After" in blocked.headers
