"""The REST API (``/api/v1``), built with flask-smorest over the same models and rules.

``init_api(app)`` binds a per-app ``Api`` (smorest holds a single app), registers the
resource blueprints, serves Swagger UI from the app's own files, lets clients send their
token as ``Authorization: Bearer``, and answers API errors in smorest's JSON shape.
"""
from __future__ import annotations

from flask import Flask, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from api import attachments, auth, comments, health, incidents, tokens, users, webhooks
from api.bounds import BoundsPlugin, init_bounds
from api.document import DocumentPlugin, register_components
from api.errors import PortalApi, register_error_handlers
from api.plain_text import plain_text_strings
from api.scopes import init_scopes

API_DESCRIPTION = """\
The Incident Portal REST API: report, triage, assign and resolve incidents from scripts
and other tools. Every change goes through the same lifecycle rules as the portal.

Authenticate with a token from `POST /api/v1/auth/token` and send it as
`Authorization: Bearer <token>` (or `Authentication-Token: <token>`; when both are sent,
`Authorization: Bearer` wins). Personal access tokens (`ipat_...`, made at
`POST /api/v1/tokens` or in the portal) are sent the same way and act with their scopes
and their user's current roles. Tokens are accepted on `/api/` only, and only in these
headers. Errors use one JSON
shape: `{"code": 409, "status": "Conflict", "message": "..."}`, with `errors` naming the
fields for 422. Text may hold tabs and line breaks but no other control character: a
string holding one is a 422 naming it, with `error_code` (`code` in problem details)
`control_characters`.
"""

SWAGGER_UI_STATIC = "/api/docs/static/"


class BearerToken:
    """WSGI middleware: where API tokens count, and which header wins.

    - Tokens authenticate ``/api/`` requests only: elsewhere (the portal's pages,
      Flask-Security's ``/verify``, ``/change``, ``/mf-recovery-codes``) the token header
      is dropped, so a token never opens a page or changes a password.
    - One scheme per request: ``Authorization: Bearer <t>`` wins when sent; otherwise
      Flask-Security's ``Authentication-Token: <t>``. The loser is ignored, so a junk
      second header cannot spoil a valid first one.
    - Never from the query string or a JSON body (``SECURITY_TOKEN_AUTHENTICATION_KEY``
      is unset), where they would reach access logs and browser histories.
    - Personal access tokens (``ipat_...``) travel the same way and are read from the
      same header by ``api.scopes``, so the two rules above hold for them too.
    """

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith("/api/"):
            environ.pop("HTTP_AUTHENTICATION_TOKEN", None)
            return self.wsgi_app(environ, start_response)
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer":
            environ["HTTP_AUTHENTICATION_TOKEN"] = token.strip()
        return self.wsgi_app(environ, start_response)


def init_api(app: Flask) -> Api:
    """Build ``app``'s API: OpenAPI document, Swagger UI, blueprints, error handling."""
    app.config.setdefault("API_TITLE", "Incident Portal API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", SWAGGER_UI_STATIC)
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": API_DESCRIPTION,
                 "contact": {"name": "Service desk", "url": app.config["PORTAL_BASE_URL"]},
                 "license": {"name": "MIT", "url": "https://spdx.org/licenses/MIT.html"}},
        # Paths in the document start with /api/v1, so the server is the portal itself.
        "servers": [{"url": app.config["PORTAL_BASE_URL"],
                     "description": "This portal (PORTAL_BASE_URL)"}],
        "components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "Token from POST /api/v1/auth/token"},
            "tokenHeader": {"type": "apiKey", "in": "header", "name": "Authentication-Token"},
        }},
        "security": [{"bearerAuth": []}, {"tokenHeader": []}],
    })
    app.json.sort_keys = False  # keep the documented field order
    app.wsgi_app = BearerToken(app.wsgi_app)
    api = PortalApi(app, spec_kwargs={"extra_plugins": [BoundsPlugin(), DocumentPlugin()]})
    register_components(api.spec, api.ma_plugin)
    api.ma_plugin.converter.add_attribute_function(plain_text_strings)
    init_bounds(app, api)  # before the blueprints: their paths use the bounded converter
    for module in (auth, incidents, comments, attachments, users, tokens, webhooks):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1{module.URL_PREFIX}")
    app.register_blueprint(health.bp)
    app.add_url_rule(f"{SWAGGER_UI_STATIC}<path:filename>", "swagger_ui_static",
                     lambda filename: send_from_directory(swagger_ui_path, filename))
    register_error_handlers(app, api)
    auth.init_token_endpoint(app)
    init_scopes(app)
    return api
