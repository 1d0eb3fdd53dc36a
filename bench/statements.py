"""SQL statements per request, counted once per scenario outside the timed runs.

The app runs in-process (Flask test client) against the benchmark's database, with the
settings gunicorn uses; a ``before_cursor_execute`` listener counts what one request sends
after a first, warming request (caches that fill once per process are not per request).
"""
from __future__ import annotations

import re
from typing import Callable

from flask import Flask

from tests.statements import count_statements


def _csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    if not match:
        raise RuntimeError("the login page has no CSRF token")
    return match.group(1)


def logged_in_client(app: Flask, email: str, password: str):
    """A test client logged in through the real login form (session cookie)."""
    client = app.test_client()
    token = _csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token})
    if response.status_code != 302:
        raise RuntimeError(f"in-process login as {email} answered {response.status_code}")
    return client


def per_request(app: Flask, send: Callable[[], object], *, warm: bool = True,
                requests: int = 1) -> float:
    """Statements per request of ``send`` (which makes ``requests`` requests)."""
    if warm:
        send()
    return count_statements(app, send) / requests
