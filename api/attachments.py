"""``/api/v1/incidents/<id>/attachments`` and ``/api/v1/attachments/<id>``: files on
incidents, uploaded as ``multipart/form-data`` and downloaded as bytes.

Every rule is ``portal.attachments.service``'s: who sees, who may attach (whoever may
comment), who may delete; an attachment the caller may not see is 404 like an absent one.
"""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import ValidationError
from werkzeug.datastructures import FileStorage

from api.access import (authenticated, caller, location, location_header, operations,
                        visible_incident)
from api.pagination import Blueprint
from api.schemas import AttachmentSchema, AttachmentUploadSchema
from portal.attachments import accept_uploads, serving, service
from portal.extensions import db
from portal.incidents.lifecycle import InvalidValue
from portal.incidents.models import Comment

URL_PREFIX = ""
blp = Blueprint("attachments", __name__, description="Files on incidents and comments")
operation = operations(blp)

UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {
    "schema": AttachmentUploadSchema}}}
BINARY = {"type": "string", "format": "binary"}
CONTENT_HEADERS = {
    "ETag": {"description": "The sha256 of the bytes", "schema": {"type": "string"}},
    "Content-Length": {"description": "Bytes", "schema": {"type": "integer"}},
    "Content-Disposition": {"description": "Always `attachment`, with the filename",
                            "schema": {"type": "string"}},
}


def upload_fields() -> dict:
    """The multipart form, read with ``AttachmentUploadSchema`` (422 naming the field)."""
    values = {**request.form.to_dict(), **request.files.to_dict()}
    try:
        fields = AttachmentUploadSchema().load(values)
    except ValidationError as error:
        _refuse(error.messages)
    if not isinstance(fields["file"], FileStorage):
        _refuse({"file": ["must be a file: a part with a filename"]})
    return fields


def _refuse(messages: dict) -> None:
    named = "; ".join(f"{field}: {' '.join(map(str, texts))}"
                      for field, texts in messages.items())
    abort(422, message=named, errors={"form": messages})


@blp.route("/incidents/<int:incident_id>/attachments")
class IncidentAttachments(MethodView):
    decorators = [authenticated]

    @operation("listIncidentAttachments", 200, AttachmentSchema(many=True), errors=(401, 404))
    def get(self, incident_id):
        """List an incident's attachments

        The attachments you may see, oldest first: internal ones (on internal notes, or
        marked internal) only for admins and technicians.
        """
        incident = visible_incident(incident_id)
        return db.session.scalars(service.visible_attachments(caller(), incident)).all()

    @operation("createIncidentAttachment", 201, AttachmentSchema,
               errors=(401, 403, 404, 409, 422), headers=location_header("The new attachment"),
               requestBody=UPLOAD_BODY)
    @blp.alt_response(413, description="The file (or the request) is too large")
    def post(self, incident_id):
        """Attach a file (whoever may comment; `internal`: admins and technicians)

        One file per request, in the multipart field `file`. Its type is detected from its
        bytes; executables and scripts are refused, as are empty files and files over
        the size limit (413).
        """
        incident = visible_incident(incident_id)
        fields = upload_fields()
        comment = None
        if fields.get("comment_id") is not None:
            comment = db.session.get(Comment, fields["comment_id"])
            if comment is None:
                raise InvalidValue(f"comment_id: {incident.number} has no comment "
                                   f"{fields['comment_id']}", field="comment_id")
        upload = fields["file"]
        attachment = service.add_attachment(incident, caller(), upload.filename or "",
                                            upload.read(), comment=comment,
                                            internal=fields["internal"])
        db.session.commit()
        return attachment, 201, location("attachments.AttachmentById",
                                         attachment_id=attachment.id)


@blp.route("/attachments/<int:attachment_id>")
class AttachmentById(MethodView):
    decorators = [authenticated]

    @operation("getAttachment", 200, AttachmentSchema, errors=(401, 404))
    def get(self, attachment_id):
        """Read an attachment's metadata

        Its name, detected type, size, sha256, uploader and time. An attachment you may not
        see answers 404, exactly like one that does not exist.
        """
        return service.attachment_for(caller(), attachment_id)

    @operation("deleteAttachment", 204, errors=(401, 403, 404))
    def delete(self, attachment_id):
        """Delete an attachment

        Its uploader may, while the incident is not closed, and admins may. The deletion is
        an event in the incident's history; the stored file goes once nothing refers to it.
        """
        attachment = service.attachment_for(caller(), attachment_id)
        service.delete_attachment(attachment, actor=caller())
        db.session.commit()


@blp.route("/attachments/<int:attachment_id>/content")
class AttachmentContent(MethodView):
    decorators = [authenticated]

    @operation("getAttachmentContent", 200, BINARY, errors=(401, 404),
               content_type="application/octet-stream", headers=CONTENT_HEADERS,
               description="The bytes, always as a download (`Content-Disposition: "
                           "attachment`, `nosniff`, `Content-Security-Policy: sandbox`)")
    def get(self, attachment_id):
        """Download an attachment's bytes

        `ETag` is the file's sha256, so a client can check what it received.
        """
        return serving.download(service.attachment_for(caller(), attachment_id))


accept_uploads("attachments.IncidentAttachments")
