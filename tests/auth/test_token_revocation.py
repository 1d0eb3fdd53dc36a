"""Who may revoke a personal access token: one rule (``personal_tokens.may_revoke``: the
owner, or an admin), asked by the API and the portal alike."""
from __future__ import annotations

import pytest

from portal.auth import personal_tokens
from portal.auth.models import PersonalToken
from portal.extensions import db
from tests.clients import bearer, csrf_token_from, log_in
from tests.factories import make_user

#: Who tries to revoke a reporter's token, and whether they may.
REVOKERS = [("owner", True), ("admin", True), ("another reporter", False),
            ("a technician", False)]


def revoke_by_api(client, user, token_id):
    response = client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(user))
    return {204: True, 404: False}[response.status_code]


def revoke_by_portal(client, user, token_id):
    log_in(client, user)
    page = client.get("/account/tokens").get_data(as_text=True)
    response = client.post(f"/account/tokens/{token_id}/revoke",
                           data={"csrf_token": csrf_token_from(page)})
    return {302: True, 404: False}[response.status_code]


@pytest.fixture
def token_and_people():
    owner = make_user("reporter")
    token, _secret = personal_tokens.create(owner, "nightly export", {"incidents:read"})
    db.session.commit()
    return token, {"owner": owner, "admin": make_user("admin"),
                   "another reporter": make_user("reporter"),
                   "a technician": make_user("technician")}


@pytest.mark.parametrize("door", [revoke_by_api, revoke_by_portal], ids=["api", "portal"])
@pytest.mark.parametrize("who,may", REVOKERS)
def test_the_owner_or_an_admin_revokes_a_token_through_either_door(client, token_and_people,
                                                                   door, who, may):
    token, people = token_and_people
    assert personal_tokens.may_revoke(people[who], token) is may
    assert door(client, people[who], token.id) is may
    db.session.expire_all()
    assert (db.session.get(PersonalToken, token.id).revoked_at is not None) is may
