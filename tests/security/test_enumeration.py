"""Finding 4: nothing tells a stranger which accounts exist — not the login's message, the
reset's answer, registration, the token endpoint's work, or the API's user ids."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

import api.auth
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from tests.clients import bearer, post_form
from tests.factories import make_incident, make_user


def visible_text(response) -> str:
    """The page without its per-request parts (CSRF token, nonces)."""
    html = response.get_data(as_text=True)
    return re.sub(r'(value|nonce)="[^"]*"', "", html)


def test_login_says_the_same_for_unknown_accounts_and_wrong_passwords(client):
    user = make_user("reporter")
    unknown = post_form(client, "/login", email="nobody@example.com", password="wrong-pass-1")
    wrong = post_form(client, "/login", email=user.email, password="wrong-pass-1")
    assert unknown.status_code == wrong.status_code == 200
    for page in (unknown, wrong):
        text = page.get_data(as_text=True)
        assert "does not exist" not in text and "Invalid password" not in text
    assert visible_text(unknown).replace("nobody@example.com", user.email) == \
        visible_text(wrong)


def test_reset_answers_the_same_for_unknown_accounts(client):
    user = make_user("reporter")
    unknown = post_form(client, "/reset", email="nobody@example.com")
    known = post_form(client, "/reset", email=user.email)
    assert unknown.status_code == known.status_code == 200
    assert visible_text(unknown).replace("nobody@example.com", user.email) == \
        visible_text(known)


def test_registering_a_taken_address_looks_like_a_new_registration(client):
    owner = make_user("reporter")
    fresh = post_form(client, "/register", email="fresh@example.com", username="freshling",
                      password="an-entirely-new-passphrase-7",
                      password_confirm="an-entirely-new-passphrase-7")
    client.delete_cookie("session")
    taken = post_form(client, "/register", email=owner.email, username="someonenew",
                      password="an-entirely-new-passphrase-7",
                      password_confirm="an-entirely-new-passphrase-7")
    assert taken.status_code == fresh.status_code
    assert taken.headers.get("Location") == fresh.headers.get("Location")
    assert "already" not in taken.get_data(as_text=True).lower()
    # The owner hears about it by mail instead.
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == owner.email))


def test_the_token_endpoint_checks_a_password_for_unknown_accounts_too(client, monkeypatch):
    checked = []
    real = api.auth.verify_password
    monkeypatch.setattr(api.auth, "verify_password",
                        lambda password, hashed: checked.append(hashed) or real(password, hashed))
    response = client.post("/api/v1/auth/token",
                           json={"email": "nobody@example.com", "password": "guess-guess-1"})
    assert response.status_code == 401
    assert response.get_json()["message"] == "wrong email or password"
    assert len(checked) == 1 and checked[0].startswith("$argon2")


@pytest.mark.parametrize("path,field,method", [
    ("/api/v1/incidents", "reporter_id", "post"),
    ("/api/v1/incidents/{id}", "technician_id", "patch"),
    ("/api/v1/incidents/{id}/assign", "technician_id", "post"),
])
def test_the_api_refuses_before_it_looks_named_users_up(client, path, field, method):
    reporter, admin, other = make_user("reporter"), make_user("admin"), make_user("technician")
    incident = make_incident(reporter=reporter, admin=admin)
    answers = set()
    for user_id in (other.id, 9_999_999):
        body = {field: user_id}
        if method == "post" and field == "reporter_id":
            body.update(title="Printer", description="Jammed")
        response = getattr(client, method)(path.format(id=incident.id), json=body,
                                           headers=bearer(reporter))
        answers.add((response.status_code, response.get_json()["message"]
                     .replace(str(user_id), "N")))
    assert len(answers) == 1, answers
    assert answers.pop()[0] == 403
