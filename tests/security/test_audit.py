"""The access audit records who did what to accounts, from where; logs never hold passwords."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from portal.auth.models import AccessEvent, Role
from portal.auth.security import user_datastore
from portal.extensions import db
from tests.clients import log_in, page_csrf_token
from tests.factories import PASSWORD, make_user


def kinds() -> list[tuple[str, str | None, str | None]]:
    return [(e.kind, e.identity, e.ip) for e in
            db.session.scalars(select(AccessEvent).order_by(AccessEvent.id))]


def post_login(client, identity, password):
    return log_in(client, identity=identity, password=password,
                  environ={"REMOTE_ADDR": "192.0.2.7"})


def test_login_failed_login_and_logout_are_recorded_with_ip(client, caplog):
    user = make_user("reporter")
    db.session.execute(db.delete(AccessEvent))  # creating the user recorded its role
    db.session.commit()
    with caplog.at_level(logging.WARNING, logger="portal.access"):
        post_login(client, user.email, "not-my-password-99")
        post_login(client, "ghost@example.com", "guessing-passwords-1")
    post_login(client, user.email, PASSWORD)
    token = page_csrf_token(client)
    client.post("/logout", data={"csrf_token": token}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert kinds() == [
        ("login_failed", user.email, "192.0.2.7"),
        ("login_failed", "ghost@example.com", "192.0.2.7"),
        ("login", user.email, "192.0.2.7"),
        ("logout", user.email, "192.0.2.7"),
    ]
    assert "192.0.2.7" in caplog.text and "ghost@example.com" in caplog.text
    assert "not-my-password-99" not in caplog.text
    assert "guessing-passwords-1" not in caplog.text


def test_a_login_post_without_csrf_is_refused_and_is_not_a_failed_login(client):
    user = make_user("reporter")
    db.session.execute(db.delete(AccessEvent))
    db.session.commit()
    response = client.post("/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert response.get_json()["message"] == "The CSRF token is missing."
    assert kinds() == []
    assert client.get("/api/v1/users/me").status_code == 401, "not logged in"


@pytest.mark.parametrize("change,kind,detail", [
    (lambda ds, u: ds.add_role_to_user(u, "admin"), "role_added", "role: admin"),
    (lambda ds, u: ds.remove_role_from_user(u, "reporter"), "role_removed", "role: reporter"),
    (lambda ds, u: ds.deactivate_user(u), "deactivated", None),
])
def test_role_and_activation_changes_are_recorded(change, kind, detail):
    user = make_user("reporter")
    before = db.session.scalar(select(db.func.count(AccessEvent.id)))
    change(user_datastore(), user)
    db.session.commit()
    events = db.session.scalars(select(AccessEvent).order_by(AccessEvent.id)).all()[before:]
    assert [(e.kind, e.user_id, e.detail) for e in events] == [(kind, user.id, detail)]


def test_reactivation_is_recorded():
    user = make_user("reporter", active=False)
    user_datastore().activate_user(user)
    db.session.commit()
    last = db.session.scalars(select(AccessEvent).order_by(AccessEvent.id.desc())).first()
    assert (last.kind, last.user_id) == ("activated", user.id)


def test_new_accounts_record_their_roles():
    user = make_user(roles=["technician", "reporter"])
    details = set(db.session.scalars(select(AccessEvent.detail).where(
        AccessEvent.user_id == user.id, AccessEvent.kind == "role_added")))
    assert details == {"role: technician", "role: reporter"}
    assert db.session.scalar(select(db.func.count(Role.id))) == 3
