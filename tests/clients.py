"""What tests do with a test client, once each: read a page's CSRF token, log in through
the real login form, ask who the client is signed in as (the form helpers live in
``harness.clients``, which the benchmark shares)."""
from __future__ import annotations

from harness.clients import csrf_token_from, post_login_form
from tests.factories import PASSWORD

__all__ = ["bearer", "csrf_token_from", "log_in", "signed_in_as", "page_csrf_token"]


def bearer(user) -> dict[str, str]:
    """The API headers of ``user``'s token."""
    return {"Authorization": f"Bearer {user.get_auth_token()}"}


def log_in(client, user=None, *, identity: str | None = None, password: str = PASSWORD,
           environ: dict | None = None, follow_redirects: bool = False):
    """Log in as ``user`` (or any ``identity`` typed in the email box) through the real
    login form; returns the response (302 onwards when it worked)."""
    return post_login_form(client, identity or user.email, password, environ=environ,
                           follow_redirects=follow_redirects)


def signed_in_as(client, headers=None):
    """The id of the user this client is logged in as (by session or token), or None."""
    response = client.get("/api/v1/users/me", headers=headers or {})
    return response.get_json()["id"] if response.status_code == 200 else None


def page_csrf_token(client) -> str:
    """A CSRF token from a portal page of the logged-in client (its logout form)."""
    return csrf_token_from(client.get("/admin/mine/").get_data(as_text=True))
