"""The portal's attachment addresses (browser sessions): download, preview, delete.

Links in mail point here (from ``PORTAL_BASE_URL``); the incident page lists attachments
with these links (``templates/incidents/_attachments.html``). Uploads arrive with the
report and comment forms (``portal.admin.incidents``).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_security import auth_required, current_user

from portal.attachments import serving, service
from portal.extensions import db
from portal.incidents.lifecycle import LifecycleError, NotVisible

bp = Blueprint("attachment_files", __name__)


def _visible(attachment_id: int):
    try:
        return service.attachment_for(current_user, attachment_id)
    except NotVisible:
        abort(404)


@bp.get("/attachments/<int:attachment_id>")
@auth_required("session")
def download(attachment_id: int):
    """The file, as a download."""
    return serving.download(_visible(attachment_id))


@bp.get("/attachments/<int:attachment_id>/preview")
@auth_required("session")
def preview(attachment_id: int):
    """An image's small preview, inline."""
    return serving.preview(_visible(attachment_id))


@bp.post("/attachments/<int:attachment_id>/delete")
@auth_required("session")
def delete(attachment_id: int):
    """Delete one attachment (CSRF: checked for every page POST), back to its incident."""
    attachment = _visible(attachment_id)
    incident_id, name = attachment.incident_id, attachment.filename
    try:
        service.delete_attachment(attachment, actor=current_user)
        db.session.commit()
    except LifecycleError as refused:
        db.session.rollback()
        flash(refused.message, "error")
    else:
        flash(f"Deleted {name}.", "success")
    return redirect(url_for("home.incident", incident_id=incident_id))
