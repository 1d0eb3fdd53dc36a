"""Brute force: the login form is throttled per IP and per account, in memory or Redis."""
from __future__ import annotations

import uuid

import pytest
import redis

from tests.components import missing
from tests.clients import csrf_token_from, log_in
from tests.factories import make_user


@pytest.fixture
def throttled_app(make_app):
    return lambda **config: make_app(RATELIMIT_ENABLED=True, **config)


def attempt(client, email, password="wrong-password-1", ip="10.0.0.1"):
    return log_in(client, identity=email, password=password, environ={"REMOTE_ADDR": ip})


def test_sixth_wrong_password_in_a_minute_gets_429_with_retry_after(throttled_app):
    user = make_user("reporter")
    client = throttled_app().test_client()
    codes = [attempt(client, user.email).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    blocked = attempt(client, user.email)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert "text/html" in blocked.content_type


def test_one_account_from_many_addresses_is_throttled_too(throttled_app):
    user = make_user("reporter")
    client = throttled_app().test_client()
    codes = [attempt(client, user.email, ip=f"10.0.1.{n}").status_code for n in range(6)]
    assert codes[-1] == 429


def test_other_accounts_from_other_addresses_are_not_blocked(throttled_app):
    victim, bystander = make_user("reporter"), make_user("reporter")
    client = throttled_app().test_client()
    for _ in range(6):
        attempt(client, victim.email, ip="10.0.2.1")
    assert attempt(client, bystander.email, ip="10.0.2.2").status_code == 200


def test_json_clients_get_json_429(throttled_app):
    user = make_user("reporter")
    client = throttled_app().test_client()
    # A JSON client takes its CSRF token from Flask-Security's JSON login page.
    token = client.get("/login", json={}).get_json()["response"]["csrf_token"]
    attempt = {"email": user.email, "password": "nope-nope-nope"}
    for _ in range(5):
        assert client.post("/login", json=attempt, headers={"X-CSRF-Token": token}
                           ).status_code == 400
    blocked = client.post("/login", json=attempt, headers={"X-CSRF-Token": token})
    assert blocked.status_code == 429
    assert blocked.get_json()["code"] == 429 and "Retry-After" in blocked.headers


@pytest.mark.parametrize("path", ["/reset", "/confirm"])  # each request sends a mail
def test_password_reset_and_new_confirmation_links_are_throttled(throttled_app, path):
    client = throttled_app().test_client()
    codes = []
    for _ in range(6):
        token = csrf_token_from(client.get(path).get_data(as_text=True))
        codes.append(client.post(path, data={"email": "who@example.com",
                                              "csrf_token": token}).status_code)
    assert codes[-1] == 429 and 429 not in codes[:5]


@pytest.fixture
def redis_url():
    url = "redis://127.0.0.1:6379"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        missing("Redis is not reachable on 127.0.0.1:6379")
    return url


def test_workers_share_counts_through_redis(throttled_app, redis_url):
    user = make_user("reporter")
    prefix = f"portal-test-{uuid.uuid4().hex}"
    # Two apps stand for two gunicorn workers: attempts on either count against both.
    first, second = (throttled_app(RATELIMIT_STORAGE_URI=redis_url,
                                   RATELIMIT_KEY_PREFIX=prefix).test_client()
                     for _ in range(2))
    codes = [attempt(first if n % 2 else second, user.email).status_code for n in range(6)]
    assert codes == [200] * 5 + [429]
    keys = redis.Redis.from_url(redis_url).keys(f"*{prefix}*")
    assert keys, "the counts live in Redis"
    redis.Redis.from_url(redis_url).delete(*keys)
