"""Which ``Host`` the portal answers to: requests for any other answer 400, in plain text.

Flask checks ``TRUSTED_HOSTS`` (``request.host``, which is ``X-Forwarded-Host`` behind a
proxy with ``BEHIND_PROXY=1``). In production it defaults to ``PORTAL_BASE_URL``'s host
plus loopback (the container's health check); elsewhere it is open unless set. Links the
app mails never depend on it: they are built from ``PORTAL_BASE_URL``.

Flask only records the refusal as the request's routing error and still runs the
``before_request`` functions: the CSRF check of an unsafe method failed first, and its
error page, with no URL adapter to build links, raised (a 500). So the refusal is raised
by the first URL value preprocessor, before any other request function, for every method
and path.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.exceptions import SecurityError


def untrusted_host(error: SecurityError) -> Response:
    # Plain text: with no trusted host there is no URL adapter to build a page's links.
    return Response("400 Bad Request: this server does not answer to that host name.\n",
                    status=400, mimetype="text/plain")


def _refuse_untrusted_host(_endpoint, _values) -> None:
    if isinstance(request.routing_exception, SecurityError):
        raise request.routing_exception


def init_trusted_hosts(app: Flask) -> None:
    """Default ``TRUSTED_HOSTS`` in production; refuse other hosts before any other
    request function runs (call this before registering any)."""
    if app.config.get("TRUSTED_HOSTS") is None and app.config["APP_ENV"] == "production":
        app.config["TRUSTED_HOSTS"] = [
            urlsplit(app.config["PORTAL_BASE_URL"]).hostname or "localhost",
            "localhost", "127.0.0.1"]
    app.url_value_preprocessors.setdefault(None, []).insert(0, _refuse_untrusted_host)
    app.register_error_handler(SecurityError, untrusted_host)
