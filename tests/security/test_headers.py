"""Security headers on every kind of response."""
from __future__ import annotations

import pytest

from portal.security_headers import content_security_policy


@pytest.mark.parametrize("path", ["/", "/login", "/register", "/no-such-page",
                                  "/static/portal.css"])
def test_every_response_carries_the_headers(client, path):
    with client.get(path) as response:  # closes the static file it streams
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in headers  # only in production, over HTTPS


def test_hsts_in_production(make_app):
    app = make_app(APP_ENV="production", SECRET_KEY="x" * 40, SECURITY_PASSWORD_SALT="y" * 40,
                   PORTAL_BASE_URL="https://portal.example.com")
    headers = app.test_client().get("/login", base_url="https://portal.example.com").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_inline_scripts_need_this_requests_nonce():
    assert "script-src 'self' 'nonce-abc'" in content_security_policy("abc")
    assert "script-src 'self';" in content_security_policy(None)
