"""Issue 28, finding 5: a request for a host the portal does not answer to gets a plain
400 whatever its method and path. An unsafe method used to fail the CSRF check first,
and the error page, with no URL adapter for its links, raised: a 500 and a traceback."""
from __future__ import annotations

import logging

import pytest

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# A page of each kind: Flask-Security's, the portal's own, Flask-Admin's, the API (token
# and session), files, static, health, and an address that does not exist.
PATHS = ["/login", "/register", "/reset", "/", "/search", "/preferences", "/admin/",
         "/admin/incidents/new/", "/admin/incidents/", "/api/v1/incidents",
         "/api/v1/auth/token", "/attachments/1", "/attachments/1/delete",
         "/static/portal.css", "/healthz", "/no-such-page"]


@pytest.fixture
def guarded(make_app):
    return make_app(TRUSTED_HOSTS=["portal.example.com"]).test_client()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", PATHS)
def test_other_hosts_get_a_plain_400_on_every_method(guarded, caplog, method, path):
    with caplog.at_level(logging.WARNING):
        response = guarded.open(path, method=method, base_url="http://evil.example",
                                data={"email": "a@example.com"})
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    if method != "HEAD":
        assert "does not answer to that host name" in response.get_data(as_text=True)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_the_portal_host_still_reaches_the_pages(guarded):
    assert guarded.get("/login", base_url="http://portal.example.com").status_code == 200
    # An unsafe method on the trusted host meets the CSRF check, as before.
    refused = guarded.post("/login", base_url="http://portal.example.com", data={})
    assert refused.status_code == 400 and "form" in refused.get_data(as_text=True)
