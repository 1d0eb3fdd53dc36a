"""Account management through the API (admins) and its refusals."""
from __future__ import annotations

import pytest

from portal.auth.models import User
from portal.extensions import db
from tests.clients import bearer
from tests.factories import make_user


def test_admin_creates_a_user_whose_password_is_hashed_and_never_returned(client):
    admin = make_user("admin")
    response = client.post("/api/v1/users", headers=bearer(admin), json={
        "email": "Nina@Example.com", "username": "nina", "password": "a-long-passphrase-9",
        "roles": ["technician"]})
    assert response.status_code == 201
    data = response.get_json()
    assert "password" not in data and data["roles"] == ["technician"]
    assert response.headers["Location"].endswith(f"/api/v1/users/{data['id']}")
    stored = db.session.get(User, data["id"])
    assert stored.password.startswith("$argon2")
    listed = client.get("/api/v1/users", headers=bearer(admin)).get_json()
    assert all("password" not in user for user in listed)


@pytest.mark.parametrize("body,field,reason", [
    ({"username": "dupe"}, "username", "already exists"),
    ({"email": "taken@example.com"}, "email", "already exists"),
    ({"email": "not-an-email"}, "email", "not valid"),
    ({"password": "short"}, "password", "not valid"),
    ({"roles": ["boss"]}, "roles", "Must be one of"),
    ({"roles": []}, "roles", "Shorter than minimum"),
    ({"active": "yes"}, "active", "Not a valid boolean"),
    ({"is_admin": True}, "is_admin", "Unknown field"),
])
def test_bad_account_input_is_422(client, body, field, reason):
    admin = make_user("admin")
    make_user("reporter", username="dupe")
    taken = make_user("reporter")
    taken.email = "taken@example.com"
    db.session.commit()
    payload = {"email": "fresh@example.com", "username": "fresh",
               "password": "a-long-passphrase-9", "roles": ["reporter"], **body}
    response = client.post("/api/v1/users", headers=bearer(admin), json=payload)
    assert response.status_code == 422, response.get_json()
    assert reason in str(response.get_json()["errors"]["json"][field])


def test_roles_change_and_admins_cannot_lock_themselves_out(client):
    admin, user = make_user("admin"), make_user("reporter")
    changed = client.patch(f"/api/v1/users/{user.id}", headers=bearer(admin),
                           json={"roles": ["technician", "reporter"]})
    assert changed.get_json()["roles"] == ["reporter", "technician"]
    for body in ({"active": False}, {"roles": ["reporter"]}):
        refused = client.patch(f"/api/v1/users/{admin.id}", headers=bearer(admin), json=body)
        assert refused.status_code == 422
    assert db.session.get(User, admin.id).is_admin and db.session.get(User, admin.id).active
