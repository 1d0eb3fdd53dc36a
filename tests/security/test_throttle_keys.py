"""Finding 2: login throttling keyed on the account found, counting failures only, with a
per-address ceiling, in storage every worker shares (the database by default)."""
from __future__ import annotations

import pytest

from portal.auth.limiter_storage import RateLimitCounter
from portal.extensions import db
from tests.clients import log_in
from tests.factories import PASSWORD, make_user


@pytest.fixture
def throttled(make_app):
    return lambda **config: make_app(RATELIMIT_ENABLED=True, **config).test_client()


def attempt(client, identity, password="wrong-password-1", ip="10.0.0.1"):
    return log_in(client, identity=identity, password=password,
                  field="email" if "@" in identity else "username",
                  environ={"REMOTE_ADDR": ip})


def token_attempt(client, identity, password="wrong-password-1", ip="10.0.0.1"):
    return client.post("/api/v1/auth/token", json={"email": identity, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_spellings_of_one_account_share_one_budget(throttled):
    user = make_user("reporter", username="rosa")
    client = throttled()
    local, domain = user.email.split("@")
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in domain)
    spellings = [user.email.upper(), f"{local}@{fullwidth}", "ROSA", "Rosa",
                 f"{local.title()}@{domain}"]
    codes = [attempt(client, identity, ip=f"10.1.0.{n}").status_code
             for n, identity in enumerate(spellings)]
    assert codes == [200] * 5
    assert attempt(client, "rosa", ip="10.1.0.99").status_code == 429
    assert token_attempt(client, user.email, ip="10.1.0.98").status_code == 429


def test_the_token_endpoint_shares_the_account_budget(throttled):
    user = make_user("reporter")
    client = throttled()
    for n in range(3):
        assert token_attempt(client, user.email, ip=f"10.2.0.{n}").status_code == 401
    for n in range(2):
        assert attempt(client, user.username, ip=f"10.2.1.{n}").status_code == 200
    assert token_attempt(client, user.username, ip="10.2.2.1").status_code == 429


def test_twenty_people_behind_one_address_all_log_in(throttled):
    client = throttled()
    people = [make_user("reporter") for _ in range(20)]
    codes = []
    for person in people:
        codes.append(attempt(client, person.email, password=PASSWORD).status_code)
        client.delete_cookie("session")  # the next person's browser
    assert codes == [302] * 20
    assert token_attempt(client, people[0].email, password=PASSWORD).status_code == 200


def test_successful_logins_do_not_spend_the_account_budget(throttled):
    user = make_user("reporter")
    client = throttled()
    for _ in range(8):
        assert attempt(client, user.email, password=PASSWORD).status_code == 302
        client.delete_cookie("session")
    for _ in range(8):
        assert token_attempt(client, user.email, password=PASSWORD).status_code == 200


def test_failures_from_one_address_hit_a_ceiling(throttled):
    client = throttled(LOGIN_FAILURE_IP_LIMIT="8 per minute")
    codes = [attempt(client, make_user("reporter").email).status_code for _ in range(9)]
    assert codes == [200] * 8 + [429]
    # Another address is not affected.
    assert attempt(client, make_user("reporter").email, ip="10.9.9.9").status_code == 200


def test_counts_live_in_the_database_shared_by_workers(throttled):
    user = make_user("reporter")
    first, second = throttled(), throttled()  # two apps stand for two workers
    codes = [attempt(first if n % 2 else second, user.email).status_code for n in range(6)]
    assert codes == [200] * 5 + [429]
    assert db.session.scalar(db.select(db.func.count()).select_from(RateLimitCounter)) > 0
