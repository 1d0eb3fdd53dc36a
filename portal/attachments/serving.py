"""Sending an attachment's bytes: always as a download (``Content-Disposition:
attachment``, ``nosniff``, ``Content-Security-Policy: sandbox``), whatever its type, so
no uploaded HTML or SVG ever runs in the portal's origin. Only previews, PNGs that Pillow
wrote itself from a raster image, are shown inline. Neither is kept in any cache
(``private, no-store``).
"""
from __future__ import annotations

import logging

from flask import Response, send_file
from werkzeug.exceptions import NotFound

from portal.attachments.models import Attachment
from portal.attachments.storage import blob_store

log = logging.getLogger(__name__)


def _harden(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    # Files of incidents are no one else's: kept in no cache, not even the browser's.
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


def _source(sha256: str, attachment: Attachment):
    store = blob_store()
    path = store.path(sha256)
    try:
        return path if path is not None and path.is_file() else store.open(sha256)
    except FileNotFoundError:
        log.error("attachment %s: blob %s is missing from storage", attachment.id, sha256)
        raise NotFound(f"the file of attachment {attachment.id} is missing") from None


def download(attachment: Attachment) -> Response:
    """The attachment's bytes as a download, with ``ETag`` (its sha256) and length."""
    response = send_file(_source(attachment.sha256, attachment),
                         mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.filename, etag=attachment.sha256,
                         conditional=True, max_age=0)
    return _harden(response)


def preview(attachment: Attachment) -> Response:
    """The attachment's preview image, inline.

    :raises NotFound: it has none (not a raster image).
    """
    if attachment.preview_sha256 is None:
        raise NotFound(f"attachment {attachment.id} has no preview")
    response = send_file(_source(attachment.preview_sha256, attachment),
                         mimetype="image/png", etag=attachment.preview_sha256,
                         conditional=True, max_age=0)
    response.headers["Content-Disposition"] = "inline"
    return _harden(response)
