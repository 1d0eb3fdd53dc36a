"""What tests do with a test client, once each: read a page's CSRF token, post a page's
form as a browser does, log in through the real login form (right password or wrong, as
any address), ask who the client is signed in as. ``csrf_token_from`` lives in
``harness.clients``, which the benchmark shares."""
from __future__ import annotations

from harness.clients import csrf_token_from
from tests.factories import PASSWORD

__all__ = ["bearer", "csrf_token_from", "log_in", "page_csrf_token", "post_form",
           "signed_in_as"]


def bearer(user) -> dict[str, str]:
    """The API headers of ``user``'s token."""
    return {"Authorization": f"Bearer {user.get_auth_token()}"}


def post_form(client, path: str, *, environ: dict | None = None,
              follow_redirects: bool = False, **fields):
    """Post ``fields`` to ``path`` with the CSRF token of the form the page at ``path``
    shows, both requests from the same address (``environ``); returns the response."""
    environ = environ or {}
    token = csrf_token_from(client.get(path, environ_base=environ).get_data(as_text=True))
    return client.post(path, data={**fields, "csrf_token": token}, environ_base=environ,
                       follow_redirects=follow_redirects)


def log_in(client, user=None, *, identity: str | None = None, password: str = PASSWORD,
           field: str = "email", path: str = "/login", environ: dict | None = None,
           follow_redirects: bool = False, **fields):
    """Post the real login form as ``user`` (or any ``identity`` typed in the ``field``
    box: ``email`` or ``username``), with any ``password``; returns the response (302
    onwards when it worked), so throttling tests can send wrong passwords with it too.
    ``path`` may carry a query string (``/login?next=...``); ``fields`` go with the form."""
    return post_form(client, path, environ=environ, follow_redirects=follow_redirects,
                     **{field: identity or user.email, "password": password, **fields})


def signed_in_as(client, headers=None):
    """The id of the user this client is logged in as (by session or token), or None."""
    response = client.get("/api/v1/users/me", headers=headers or {})
    return response.get_json()["id"] if response.status_code == 200 else None


def page_csrf_token(client) -> str:
    """A CSRF token from a portal page of the logged-in client (its logout form)."""
    return csrf_token_from(client.get("/admin/mine/").get_data(as_text=True))
