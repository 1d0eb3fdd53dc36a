"""What tests do with a test client, once each: read a page's CSRF token, log in through
the real login form, ask who the client is signed in as."""
from __future__ import annotations

import re

from tests.factories import PASSWORD


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def log_in(client, user=None, *, identity: str | None = None, password: str = PASSWORD,
           environ: dict | None = None, follow_redirects: bool = False):
    """Post the login form as ``user`` (or any ``identity`` typed in the email box) with
    the form's own CSRF token; returns the response (302 onwards when it worked)."""
    environ = environ or {}
    token = csrf_token_from(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post("/login", data={"email": identity or user.email, "password": password,
                                       "csrf_token": token},
                       environ_base=environ, follow_redirects=follow_redirects)


def signed_in_as(client, headers=None):
    """The id of the user this client is logged in as (by session or token), or None."""
    response = client.get("/api/v1/users/me", headers=headers or {})
    return response.get_json()["id"] if response.status_code == 200 else None


def page_csrf_token(client) -> str:
    """A CSRF token from a portal page of the logged-in client (its logout form)."""
    return csrf_token_from(client.get("/admin/mine/").get_data(as_text=True))
