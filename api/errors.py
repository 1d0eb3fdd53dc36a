"""API errors in one place: lifecycle refusals, account refusals, stale writes and
authentication failures all become flask-smorest's JSON error shape.

smorest registers its ``HTTPException`` handler for the whole app; it is narrowed here to
``/api/`` paths (and ``/healthz``), so the portal keeps its HTML error pages.
"""
from __future__ import annotations

from flask import Flask, request
from flask_security.decorators import default_unauthn_handler
from flask_security.views import default_render_json
from flask_smorest import Api, abort
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from portal.auth.accounts import AccountError
from portal.errors import error_page
from portal.extensions import db
from portal.incidents.lifecycle import LifecycleError


def is_api_request() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _payload(code: int, message: str, field: str | None = None):
    from http import HTTPStatus

    body = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
    if field:
        body["errors"] = {"json": {field: [message]}}
    return body, code


def register_error_handlers(app: Flask, api: Api) -> None:
    smorest_handler = api.handle_http_exception

    def handle_http_exception(error: HTTPException):
        if not is_api_request():
            return error_page(error)
        body, code, headers = smorest_handler(error)
        if "message" not in body and error.description != type(error).description:
            body["message"] = error.description  # e.g. "The CSRF token is missing."
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers = {**(headers or {}), "Allow": ", ".join(sorted(error.valid_methods))}
        return body, code, headers

    app.register_error_handler(HTTPException, handle_http_exception)

    @app.errorhandler(LifecycleError)
    def lifecycle_refused(error: LifecycleError):
        db.session.rollback()  # nothing half-written
        return _payload(error.http_status, error.message, error.field)

    @app.errorhandler(AccountError)
    def account_refused(error: AccountError):
        db.session.rollback()
        return _payload(error.http_status, error.message, error.field)

    @app.errorhandler(StaleDataError)
    def changed_meanwhile(_error: StaleDataError):
        # Someone else's change landed between our read and our write (optimistic lock).
        db.session.rollback()
        return _payload(412, "the incident was changed by someone else meanwhile: "
                             "read it again and retry")

    security = app.extensions["security"]

    def unauthenticated(mechanisms=None, headers=None):
        if is_api_request():
            abort(401, message="authentication required: send 'Authorization: Bearer "
                               "<token>' (see POST /api/v1/auth/token)",
                  headers={"WWW-Authenticate": 'Bearer realm="api"'})
        return default_unauthn_handler(mechanisms, headers)

    security.unauthn_handler(unauthenticated)

    def render_json(payload, code, headers=None, user=None):
        # Flask-Security answers some API failures itself (a session call without its
        # CSRF token); give those the API's error shape too.
        if is_api_request() and code >= 400:
            errors = payload.get("errors") or payload.get("error") or []
            message = " ".join(errors) if isinstance(errors, list) else str(errors)
            body, code = _payload(code, message)
            return body, code, headers or {}
        return default_render_json(payload, code, headers, user)

    security.render_json(render_json)
