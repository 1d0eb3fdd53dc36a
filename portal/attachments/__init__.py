"""Attachments: files on incidents and comments, stored once, served only to those who
may see them.

- ``models``: ``Attachment`` rows and the ``database`` backend's blobs.
- ``storage``: the ``BlobStore`` interface and its ``filesystem``/``database`` backends.
- ``content``: type detection, filename rules.
- ``previews``: the worker's job that makes images' previews, each in a bounded child
  process (``thumbnail``, run as a script).
- ``service``: the rules and the one way to attach (``add_attachment``) or delete.
- ``serving``: downloads and previews with their headers; ``views``: the portal's routes.

``init_attachments(app)`` registers the portal routes and lets the requests that carry
files be larger than ``MAX_CONTENT_LENGTH`` (up to ``ATTACHMENT_MAX_REQUEST_BYTES``).
"""
from __future__ import annotations

from flask import Flask, current_app, request
from flask_security import current_user

from portal.attachments import service, views
from portal.extensions import db

#: The endpoints whose POSTs carry files (the API's upload, the report and comment forms).
UPLOAD_ENDPOINTS: set[str] = set()


def accept_uploads(*endpoints: str) -> None:
    """Let POSTs to ``endpoints`` carry files up to ``ATTACHMENT_MAX_REQUEST_BYTES``."""
    UPLOAD_ENDPOINTS.update(endpoints)


def _allow_upload_bodies(endpoint: str | None, _values) -> None:
    # A URL value preprocessor runs before every before_request function, and the CSRF
    # check (one of those) reads the form: the larger limit must be set first.
    if request.method == "POST" and endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = current_app.config["ATTACHMENT_MAX_REQUEST_BYTES"]


def incident_attachments(incident) -> list:
    """For the incident page: (attachment, may the current user delete it), oldest first."""
    return [(attachment, service.may_delete(current_user, attachment)) for attachment in
            db.session.scalars(service.visible_attachments(current_user, incident))]


def init_attachments(app: Flask) -> None:
    """Register the portal's attachment routes, the larger limit for uploads and the
    templates' helpers."""
    app.register_blueprint(views.bp)
    app.url_value_preprocessor(_allow_upload_bodies)
    app.jinja_env.globals["incident_attachments"] = incident_attachments
    app.jinja_env.globals["attachment_size"] = service.human_size
