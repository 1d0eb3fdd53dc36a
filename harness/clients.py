"""A Flask test client and the portal's forms: CSRF tokens and the real login form."""
from __future__ import annotations

import re


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    if not match:
        raise AssertionError("the page has no CSRF token")
    return match.group(1)


def post_login_form(client, identity: str, password: str, *, environ: dict | None = None,
                    follow_redirects: bool = False):
    """Post the login form as ``identity`` with the form's own CSRF token; returns the
    response (a 302 onwards when it worked)."""
    environ = environ or {}
    token = csrf_token_from(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post("/login", data={"email": identity, "password": password,
                                       "csrf_token": token},
                       environ_base=environ, follow_redirects=follow_redirects)
