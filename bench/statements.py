"""SQL statements per request, counted once per scenario outside the timed runs.

The app runs in-process (Flask test client) against the benchmark's database, with the
settings gunicorn uses; a ``before_cursor_execute`` listener counts what one request sends
after a first, warming request (caches that fill once per process are not per request).
"""
from __future__ import annotations

from typing import Callable

from flask import Flask

from harness.clients import post_login_form
from harness.statements import count_statements


def logged_in_client(app: Flask, email: str, password: str):
    """A test client logged in through the real login form (session cookie)."""
    client = app.test_client()
    response = post_login_form(client, email, password)
    if response.status_code != 302:
        raise RuntimeError(f"in-process login as {email} answered {response.status_code}")
    return client


def per_request(app: Flask, send: Callable[[], object], *, warm: bool = True,
                requests: int = 1) -> float:
    """Statements per request of ``send`` (which makes ``requests`` requests)."""
    if warm:
        send()
    return count_statements(app, send) / requests
