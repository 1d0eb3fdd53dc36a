"""Findings 2c, 8 and 10 against the real server (gunicorn with the project's settings):
throttle counts shared between workers, logs without secrets or forged lines, and a
server that keeps answering while slow clients hang."""
from __future__ import annotations

import re
import socket
import time
import urllib.request
from pathlib import Path

import pytest
import requests
from passlib.totp import TOTP
from sqlalchemy import select

from portal.extensions import db
from portal.notifications.models import OutboxMessage
from tests.factories import PASSWORD, make_user
from harness.servers import gunicorn

pytestmark = pytest.mark.slow

NEW_PASSWORD = "a-fresh-passphrase-for-logs-7"
FORGED = "2026-12-02 00:00:00,000 level=WARNING logger=portal.access forged"


@pytest.fixture(scope="module")
def served(database_url, tmp_path_factory):
    """One server for the module: 2 workers, throttling on, logs to files."""
    logs = tmp_path_factory.mktemp("served-logs")
    stdout = logs / "gunicorn.out"
    with gunicorn(database_url, workers=2, log_path=stdout,
                  extra_env={"RATELIMIT_ENABLED": "1", "LOG_DIR": str(logs),
                             "LOG_LEVEL": "INFO"}) as base:
        yield base, logs


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def form_post(session, base, path, **data):
    token = csrf_of(session.get(f"{base}{path}").text)
    return session.post(f"{base}{path}", data={**data, "csrf_token": token},
                        allow_redirects=False)


def test_two_workers_count_failed_logins_together(served):
    base, _logs = served
    user = make_user("reporter")
    codes = [form_post(requests.Session(), base, "/login", email=user.email,
                       password="wrong-password-1").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_healthz_answers_while_ten_slow_clients_hang(served):
    base, _logs = served
    port = int(base.rsplit(":", 1)[1])
    hanging = []
    try:
        for _ in range(10):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: 100\r\n\r\n")  # ...and never the body
            hanging.append(sock)
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            assert response.status == 200
    finally:
        for sock in hanging:
            sock.close()


def test_logs_hold_no_secrets_and_no_forged_lines(served):
    base, logs = served
    user = make_user("technician")
    browser = requests.Session()

    # A password reset, through the mailed link.
    assert form_post(browser, base, "/reset", email=user.email).status_code == 200
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == user.email))
    reset_token = re.search(r"/reset/([^\s\"'<>]+)", mail.text_body).group(1)
    done = form_post(browser, base, f"/reset/{reset_token}", password=NEW_PASSWORD,
                     password_confirm=NEW_PASSWORD)
    assert done.status_code == 302

    # Log in with the new password and enrol an authenticator.
    browser = requests.Session()
    assert form_post(browser, base, "/login", email=user.email,
                     password=NEW_PASSWORD).status_code == 302
    csrf = browser.get(f"{base}/tf-setup", json={}).json()["response"]["csrf_token"]
    setup = browser.post(f"{base}/tf-setup", json={"setup": "authenticator"},
                         headers={"X-CSRF-Token": csrf}).json()["response"]
    key = setup["tf_authr_key"]
    code = TOTP(key=key, format="base32").generate().token
    assert browser.post(f"{base}/tf-validate", json={"code": code},
                        headers={"X-CSRF-Token": csrf}).status_code == 200

    # An API token, used in a header, and (refused) in a query string.
    next_code = TOTP(key=key, format="base32").generate(time=time.time() + 30).token
    issued = requests.post(f"{base}/api/v1/auth/token",
                           json={"email": user.email, "password": NEW_PASSWORD,
                                 "code": next_code})
    assert issued.status_code == 200, issued.text
    token = issued.json()["token"]
    assert requests.get(f"{base}/api/v1/users/me",
                        headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert requests.get(f"{base}/api/v1/users/me?auth_token={token}").status_code == 401

    # A path that tries to write a log line of its own.
    requests.get(f"{base}/x%0A{FORGED.replace(' ', '%20')}")

    texts = {path.name: path.read_text(errors="replace")
             for path in Path(logs).iterdir() if path.is_file()}
    assert "incident_portal.log" in texts and "gunicorn.out" in texts
    for name, text in texts.items():
        for secret in (token, reset_token, NEW_PASSWORD, PASSWORD, key):
            assert secret not in text, f"{name} holds a secret"
        assert not any(line.startswith(FORGED[:23]) for line in text.splitlines()), name
    assert "/reset/[redacted]" in texts["incident_portal.log"]
    assert "auth_token=[redacted]" in texts["gunicorn.out"]
