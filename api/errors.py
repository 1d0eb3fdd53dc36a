"""API errors in one place: the domain's refusals (every ``portal.refusals.Refused``:
the lifecycle's, accounts', attachments', webhooks'), stale writes and authentication
failures all become flask-smorest's JSON error shape, or RFC 9457 problem details for
clients that ask for ``application/problem+json``. A refusal with a stable code (text
with control characters: ``control_characters``) carries it as ``error_code`` in the
plain shape and ``code`` in the problem details.

smorest registers its ``HTTPException`` handler for the whole app; it is narrowed here to
``/api/`` paths (and ``/healthz``), so the portal keeps its HTML error pages.
"""
from __future__ import annotations

import json
from http import HTTPStatus

from flask import Flask, Response, request
from flask_security.decorators import default_unauthn_handler
from flask_security.views import default_render_json
from flask_smorest import Api, abort
from flask_smorest.error_handler import ErrorSchema as SmorestErrorSchema
from marshmallow import fields
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from portal.auth.current import security
from portal.errors import error_page
from portal.extensions import db
from portal.refusals import Refused


class ErrorSchema(SmorestErrorSchema):
    """smorest's error shape, and the stable name some refusals carry."""

    error_code = fields.String(metadata={
        "description": "A stable name of the refusal, where it has one "
                       "(`control_characters`); problem details call it `code`"})


class PortalApi(Api):
    """smorest's ``Api``, documenting errors with ``ErrorSchema``."""

    ERROR_SCHEMA = ErrorSchema


def is_api_request() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _payload(code: int, message: str, field: str | None = None, *, location: str = "json",
             error_code: str | None = None):
    body = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
    if error_code:
        body["error_code"] = error_code  # problem details carry it as ``code``
    if field:
        body["errors"] = {location: {field: [message]}}
    return body, code


PROBLEM_JSON = "application/problem+json"


def as_problem_details(response: Response) -> Response:
    """RFC 9457: an API error in ``application/problem+json`` for a client that asks for
    it in ``Accept`` (plain ``application/json`` keeps smorest's shape)."""
    if not (is_api_request() and response.status_code >= 400 and response.is_json):
        return response
    wanted = request.accept_mimetypes.best_match(["application/json", PROBLEM_JSON])
    body = response.get_json(silent=True)
    if wanted != PROBLEM_JSON or not isinstance(body, dict):
        return response
    problem = {"type": "about:blank", "title": HTTPStatus(response.status_code).phrase,
               "status": response.status_code,
               "detail": body.get("message") or HTTPStatus(response.status_code).description}
    if "error_code" in body:
        problem["code"] = body["error_code"]
    if "errors" in body:
        problem["errors"] = body["errors"]
    response.set_data(json.dumps(problem))
    response.mimetype = PROBLEM_JSON
    return response


def register_error_handlers(app: Flask, api: Api) -> None:
    smorest_handler = api.handle_http_exception
    app.after_request(as_problem_details)

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

    @app.errorhandler(Refused)
    def refused(error: Refused):
        db.session.rollback()  # nothing half-written
        return _payload(error.http_status, error.message, error.field,
                        location=error.location, error_code=error.code)

    @app.errorhandler(StaleDataError)
    def changed_meanwhile(_error: StaleDataError):
        # Someone else's change landed between our read and our write (optimistic lock)
        # of a request that named the version it read: only views retry the others
        # (``api.access.retried_when_raced``), so this one is a precondition that failed.
        db.session.rollback()
        return _payload(412, "the incident was changed by someone else meanwhile: "
                             "read it again and retry")

    flask_security = security(app)

    def unauthenticated(mechanisms=None, headers=None):
        if is_api_request():
            abort(401, message="authentication required: send 'Authorization: Bearer "
                               "<token>' (see POST /api/v1/auth/token)",
                  headers={"WWW-Authenticate": 'Bearer realm="api"'})
        return default_unauthn_handler(mechanisms, headers)

    flask_security.unauthn_handler(unauthenticated)

    def render_json(payload, code, headers=None, user=None):
        # Flask-Security answers some API failures itself (a session call without its
        # CSRF token); give those the API's error shape too.
        if is_api_request() and code >= 400:
            errors = payload.get("errors") or payload.get("error") or []
            message = " ".join(errors) if isinstance(errors, list) else str(errors)
            body, code = _payload(code, message)
            return body, code, headers or {}
        return default_render_json(payload, code, headers, user)

    flask_security.render_json(render_json)
