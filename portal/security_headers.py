"""Security headers on every response: a strict Content-Security-Policy and friends.

Scripts and styles may come only from the app itself. The few inline ``<script>`` blocks
that templates need (the portal's and the libraries' we override) carry a per-request
nonce from ``csp_nonce()``; nothing else inline runs. HSTS is sent in production only,
where the portal is behind HTTPS.

Every page of the portal (not the API, not static files) is ``Cache-Control: private,
no-store``: what a signed-in person saw — grids, incidents, files — stays out of the
browser's disk cache and any proxy, so "back" after logging out on a shared computer
shows nothing. Static files and the favicon keep their own caching; a view that sets its
own Cache-Control keeps it.
"""
from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, g, request


def csp_nonce() -> str:
    """This request's nonce for an inline ``<script nonce="...">`` (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy(nonce: str | None) -> str:
    scripts = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        f"style-src {scripts}",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(g.get("csp_nonce")))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["APP_ENV"] == "production":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


#: Endpoints whose answers are the same for everyone: they may be cached.
SHARED_ENDPOINTS = frozenset({"static", "home.favicon", "swagger_ui_static"})


def _shared(endpoint: str | None) -> bool:
    return endpoint is not None and (endpoint in SHARED_ENDPOINTS
                                     or endpoint.endswith(".static"))


def keep_out_of_caches(response: Response) -> Response:
    """``private, no-store`` on every portal page that has not chosen its own caching."""
    if request.path.startswith("/api/") or _shared(request.endpoint):
        return response
    if "Cache-Control" not in response.headers:
        response.cache_control.private = True
        response.cache_control.no_store = True
    return response


def init_security_headers(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(set_security_headers)
    app.after_request(keep_out_of_caches)
