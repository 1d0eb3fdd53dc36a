"""Personal access tokens: scopes x endpoints, roles, expiry, revocation, storage, audit."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select, text

from portal.auth.accounts import update_account
from portal.auth.models import AccessEvent, PersonalToken
from portal.extensions import db
from tests.clients import bearer
from tests.factories import make_incident, make_user

ALL = ["incidents:read", "incidents:write", "comments:write", "users:admin"]


def make_token(client, user, scopes=ALL, **extra):
    response = client.post("/api/v1/tokens", headers=bearer(user),
                           json={"name": "script", "scopes": scopes, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def pat(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world():
    admin = make_user("admin")
    reporter = make_user("reporter")
    incident = make_incident(reporter=reporter, admin=admin)
    return {"admin": admin, "reporter": reporter, "incident": incident}


#: (method, path, body, the scope it needs). ``{id}``: the world's incident.
ENDPOINTS = [
    ("GET", "/api/v1/incidents", None, "incidents:read"),
    ("GET", "/api/v1/incidents/{id}", None, "incidents:read"),
    ("POST", "/api/v1/incidents", {"title": "VPN", "description": "drops"},
     "incidents:write"),
    ("PATCH", "/api/v1/incidents/{id}", {"title": "VPN drops hourly"}, "incidents:write"),
    ("GET", "/api/v1/incidents/{id}/comments", None, "incidents:read"),
    ("POST", "/api/v1/incidents/{id}/comments", {"body": "any news?"}, "comments:write"),
    ("GET", "/api/v1/users", None, "users:admin"),
    ("GET", "/api/v1/webhooks", None, "users:admin"),
    ("GET", "/api/v1/users/me", None, None),
    ("GET", "/api/openapi.json", None, None),
]


@pytest.mark.parametrize("scope", ALL)
@pytest.mark.parametrize("method,path,body,needs", ENDPOINTS)
def test_a_token_opens_exactly_the_endpoints_of_its_scopes(client, world, scope, method,
                                                           path, body, needs):
    secret = make_token(client, world["admin"], [scope])["token"]
    response = client.open(path.format(id=world["incident"].id), method=method,
                           headers=pat(secret), json=body)
    if needs is None or needs == scope:
        assert response.status_code in (200, 201), response.get_json()
    else:
        assert response.status_code == 403
        assert needs in response.get_json()["message"]


@pytest.mark.parametrize("role,method,path,expected", [
    ("reporter", "GET", "/api/v1/users", 403),          # scope yes, role no
    ("admin", "GET", "/api/v1/users", 200),
    ("reporter", "GET", "/api/v1/incidents/{id}", 404),  # not their incident
    ("technician", "GET", "/api/v1/incidents", 200),
])
def test_a_token_acts_with_its_scopes_and_its_users_roles(client, world, role, method,
                                                          path, expected):
    user = make_user(role)
    secret = make_token(client, user)["token"]
    response = client.open(path.format(id=world["incident"].id), method=method,
                           headers=pat(secret))
    assert response.status_code == expected


def test_losing_a_role_narrows_a_live_token(client, world):
    admin2 = make_user("admin")
    secret = make_token(client, admin2)["token"]
    assert client.get("/api/v1/users", headers=pat(secret)).status_code == 200
    update_account(admin2, actor=world["admin"], roles=["reporter"])
    db.session.commit()
    assert client.get("/api/v1/users", headers=pat(secret)).status_code == 403


def test_a_token_expires(client, world):
    start = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    with time_machine.travel(start, tick=False):
        made = make_token(client, world["reporter"], ["incidents:read"], expires_in_days=7)
        assert made["expires_at"] == "2026-12-08T09:00:00Z"
    with time_machine.travel(start + timedelta(days=7) - timedelta(seconds=1), tick=False):
        assert client.get("/api/v1/incidents", headers=pat(made["token"])).status_code == 200
    with time_machine.travel(start + timedelta(days=7), tick=False):
        assert client.get("/api/v1/incidents", headers=pat(made["token"])).status_code == 401


def test_the_default_life_is_90_days(client, world):
    with time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=timezone.utc), tick=False):
        made = make_token(client, world["reporter"], ["incidents:read"])
    assert made["expires_at"] == "2027-03-01T09:00:00Z"


def test_a_revoked_token_stops_at_once_and_the_owner_sees_it_revoked(client, world):
    made = make_token(client, world["reporter"], ["incidents:read"])
    assert client.delete(f"/api/v1/tokens/{made['id']}",
                         headers=bearer(world["reporter"])).status_code == 204
    assert client.get("/api/v1/incidents", headers=pat(made["token"])).status_code == 401
    listed = client.get("/api/v1/tokens", headers=bearer(world["reporter"])).get_json()
    assert listed[0]["id"] == made["id"] and listed[0]["revoked_at"] is not None


def test_only_the_hash_is_stored(client, world):
    secret = make_token(client, world["reporter"])["token"]
    assert secret.startswith("ipat_") and len(secret) > 40
    for table in ("personal_tokens", "access_events"):
        for row in db.session.execute(text(f"SELECT * FROM {table}")):
            assert not any(secret in str(value) for value in row)
            assert not any(secret[5:] in str(value) for value in row)
    listed = client.get("/api/v1/tokens", headers=bearer(world["reporter"])).get_json()
    assert "token" not in listed[0] and listed[0]["prefix"] == secret[:9]


@pytest.mark.parametrize("change", [{"active": False}, {"password": "another-passphrase-7"}])
def test_deactivation_and_a_new_password_end_tokens(client, world, change):
    secret = make_token(client, world["reporter"])["token"]
    assert client.get("/api/v1/users/me", headers=pat(secret)).status_code == 200
    update_account(world["reporter"], actor=world["admin"], **change)
    db.session.commit()
    assert client.get("/api/v1/users/me", headers=pat(secret)).status_code == 401


def test_creation_new_addresses_and_revocation_are_audited(client, world):
    reporter = world["reporter"]
    made = make_token(client, reporter, ["incidents:read"])
    for address in ("10.0.0.1", "10.0.0.1", "10.0.0.2"):
        client.get("/api/v1/incidents", headers=pat(made["token"]),
                   environ_base={"REMOTE_ADDR": address})
    client.delete(f"/api/v1/tokens/{made['id']}", headers=bearer(reporter))
    kinds = db.session.execute(
        select(AccessEvent.kind, AccessEvent.ip).where(AccessEvent.user_id == reporter.id,
                                                       AccessEvent.kind.like("token_%"))
        .order_by(AccessEvent.id)).all()
    assert [kind for kind, _ip in kinds] == ["token_created", "token_new_address",
                                             "token_new_address", "token_revoked"]
    assert [ip for kind, ip in kinds if kind == "token_new_address"] == ["10.0.0.1",
                                                                         "10.0.0.2"]
    listed = client.get("/api/v1/tokens", headers=bearer(reporter)).get_json()
    assert listed[0]["last_used_ip"] == "10.0.0.2" and listed[0]["last_used_at"]


def test_admins_list_and_revoke_others_tokens_and_others_may_not(client, world):
    made = make_token(client, world["reporter"], ["incidents:read"])
    other = make_user("reporter")
    listed = client.get(f"/api/v1/tokens?user_id={world['reporter'].id}",
                        headers=bearer(world["admin"])).get_json()
    assert isinstance(listed, list), listed
    assert [token["id"] for token in listed] == [made["id"]]
    assert client.get(f"/api/v1/tokens?user_id={world['reporter'].id}",
                      headers=bearer(other)).status_code == 403
    assert client.get("/api/v1/tokens", headers=bearer(other)).get_json() == []
    assert client.delete(f"/api/v1/tokens/{made['id']}",
                         headers=bearer(other)).status_code == 404
    assert client.delete(f"/api/v1/tokens/{made['id']}",
                         headers=bearer(world["admin"])).status_code == 204
    assert db.session.get(PersonalToken, made["id"]).revoked_at is not None


@pytest.mark.parametrize("body,field,reason", [
    ({"scopes": ["incidents:delete"]}, "scopes", "Must be one of"),
    ({"scopes": []}, "scopes", "Length must be between 1 and 4"),
    ({"expires_in_days": 366}, "expires_in_days", "between 1 and 365"),
    ({"expires_in_days": 0}, "expires_in_days", "between 1 and 365"),
    ({"name": "x" * 101}, "name", "Length must be between 1 and 100"),
    ({"name": "  "}, "name", "a name is needed"),
])
def test_bad_token_input_is_422_naming_the_field(client, world, body, field, reason):
    response = client.post("/api/v1/tokens", headers=bearer(world["reporter"]),
                           json={"name": "script", "scopes": ["incidents:read"], **body})
    assert response.status_code == 422
    assert reason in str(response.get_json()["errors"]["json"][field])
    assert db.session.scalar(select(PersonalToken.id)) is None


@pytest.mark.parametrize("method,path", [("GET", "/api/v1/tokens"),
                                         ("POST", "/api/v1/tokens"),
                                         ("POST", "/api/v1/auth/token")])
def test_a_personal_token_cannot_manage_tokens(client, world, method, path):
    secret = make_token(client, world["admin"])["token"]
    response = client.open(path, method=method, headers=pat(secret),
                           json={"name": "more", "scopes": ALL})
    assert response.status_code in (403, 422) if "auth" in path else \
        response.status_code == 403


def test_a_personal_token_opens_no_page_and_no_query_string(client, world):
    secret = make_token(client, world["admin"])["token"]
    assert client.get("/admin/mine/", headers=pat(secret)).status_code == 302
    assert client.get("/admin/mine/", headers={"Authentication-Token": secret}
                      ).status_code == 302
    assert client.get(f"/api/v1/users/me?auth_token={secret}").status_code in (401, 422)


def test_an_unknown_personal_token_is_401(client, world):
    assert client.get("/api/v1/users/me", headers=pat("ipat_nope")).status_code == 401
