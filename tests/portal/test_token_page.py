"""The portal's API tokens page: make (the secret shown once), list, revoke, bad input."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.auth.models import PersonalToken
from portal.extensions import db
from tests.clients import csrf_token_from, log_in
from tests.factories import make_user

SECRET = re.compile(r"ipat_[A-Za-z0-9_-]{43}")


def make(client, **form):
    page = client.get("/account/tokens")
    data = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), "name": "laptop",
            "scopes": ["incidents:read"], "expires_in_days": "30", **form}
    return client.post("/account/tokens", data=data)


def test_the_account_menu_leads_to_the_page(client):
    user = make_user("reporter")
    log_in(client, user)
    assert 'href="/account/tokens"' in client.get("/search").get_data(as_text=True)


def test_a_made_token_is_shown_once_listed_works_and_is_revoked(client):
    user = make_user("reporter")
    log_in(client, user)
    made = make(client)
    assert made.status_code == 201
    secret = SECRET.search(made.get_data(as_text=True)).group()
    again = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in again and "laptop" in again and secret[:9] in again
    api = client.application.test_client()
    assert api.get("/api/v1/incidents",
                   headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    token = db.session.scalar(select(PersonalToken))
    revoked = client.post(f"/account/tokens/{token.id}/revoke",
                          data={"csrf_token": csrf_token_from(again)}, follow_redirects=True)
    assert "revoked" in revoked.get_data(as_text=True)
    assert api.get("/api/v1/incidents",
                   headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_nobody_revokes_anothers_token_from_the_page(client):
    owner, other = make_user("reporter"), make_user("reporter")
    log_in(client, owner)
    make(client)
    token = db.session.scalar(select(PersonalToken))
    other_client = client.application.test_client()
    log_in(other_client, other)
    page = other_client.get("/account/tokens").get_data(as_text=True)
    assert other_client.post(f"/account/tokens/{token.id}/revoke",
                             data={"csrf_token": csrf_token_from(page)}).status_code == 404
    assert db.session.get(PersonalToken, token.id).revoked_at is None


@pytest.mark.parametrize("form,message", [
    ({"scopes": ["incidents:delete"]}, "scopes"),
    ({"scopes": []}, "scopes"),
    ({"expires_in_days": "366"}, "expires_in_days: must be between 1 and 365 days"),
    ({"expires_in_days": "soon"}, "expires_in_days: Not a valid integer"),
    ({"name": "x" * 101}, "name: Length must be between 1 and 100"),
])
def test_bad_input_is_a_flash_naming_the_field(client, form, message):
    log_in(client, make_user("reporter"))
    response = make(client, **form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(PersonalToken.id)) is None


def test_a_post_without_csrf_makes_nothing(client):
    log_in(client, make_user("reporter"))
    response = client.post("/account/tokens", data={"name": "x", "scopes": ["incidents:read"]})
    assert response.status_code == 400
    assert db.session.scalar(select(PersonalToken.id)) is None
