"""Marshmallow schemas of the REST API: dump schemas read ORM objects, load schemas read
plain data (never ORM instances), so every write goes through the lifecycle functions.

Input refuses unknown fields (marshmallow's default ``RAISE``), and integers are strict.
"""
from __future__ import annotations

from datetime import timezone

import marshmallow as ma
from flask import url_for
from flask_security import current_user
from flask_smorest.fields import Upload
from marshmallow import fields, validate
from marshmallow_sqlalchemy import SQLAlchemyAutoSchema, SQLAlchemySchema, auto_field

from portal.attachments.models import Attachment
from portal.attachments.service import attachment_count
from portal.auth.accounts import ROLE_NAMES
from portal.auth.models import User
from portal.ids import INT64_MAX
from portal.incidents.enums import Category, EventKind, Priority, Status
from portal.incidents.lifecycle import Needs
from portal.incidents.listing import CHOICE_FILTERS, DEFAULT_ORDER, ORDER, PERSON_FILTERS
from portal.incidents.models import TEXT_MAX, TITLE_MAX, Comment, Incident, IncidentEvent


class UTCDateTime(fields.DateTime):
    """A timestamp as ISO 8601 in UTC with a ``Z``: ``2026-11-22T09:14:03Z``."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _enum(enum_class, **kwargs) -> fields.Enum:
    return fields.Enum(enum_class, by_value=True, **kwargs)


# --- output -----------------------------------------------------------------------------

class UserRefSchema(SQLAlchemySchema):
    """A user as other records refer to them."""

    class Meta:
        model = User

    id = auto_field(dump_only=True)
    username = auto_field(dump_only=True)
    email = auto_field(dump_only=True)


class UserSchema(UserRefSchema):
    """A user account (the password is write-only and never returned)."""

    active = auto_field(dump_only=True)
    roles = fields.Method("_role_names", dump_only=True,
                          metadata={"type": "array", "items": {"type": "string"}})
    created_at = UTCDateTime(dump_only=True)

    def _role_names(self, user: User) -> list[str]:
        return sorted(user.role_names)


class IncidentSchema(SQLAlchemyAutoSchema):
    """An incident: what it is, where it stands, who reported it and who has it."""

    class Meta:
        model = Incident
        fields = ("id", "title", "description", "status", "priority", "category", "reporter",
                  "technician", "resolution_notes", "created_at", "updated_at", "due_at",
                  "resolved_at", "closed_at",
                  "attachment_count")

    status = _enum(Status, dump_only=True)
    priority = _enum(Priority, dump_only=True)
    category = _enum(Category, dump_only=True)
    reporter = fields.Nested(UserRefSchema, dump_only=True)
    technician = fields.Nested(UserRefSchema, dump_only=True, allow_none=True)
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)
    due_at = UTCDateTime(dump_only=True)
    resolved_at = UTCDateTime(dump_only=True, allow_none=True)
    closed_at = UTCDateTime(dump_only=True, allow_none=True)
    attachment_count = fields.Method(
        "_attachment_count", dump_only=True,
        metadata={"type": "integer", "description": "The attachments you may see"})

    def _attachment_count(self, incident: Incident) -> int:
        return attachment_count(current_user, incident)


class EventSchema(SQLAlchemyAutoSchema):
    """One entry of an incident's history."""

    class Meta:
        model = IncidentEvent
        fields = ("id", "kind", "actor", "from_status", "to_status", "changes", "note",
                  "created_at")

    kind = _enum(EventKind, dump_only=True)
    actor = fields.Nested(UserRefSchema, dump_only=True, allow_none=True)
    from_status = _enum(Status, dump_only=True, allow_none=True)
    to_status = _enum(Status, dump_only=True, allow_none=True)
    changes = fields.Dict(dump_only=True)
    created_at = UTCDateTime(dump_only=True)


class CommentSchema(SQLAlchemyAutoSchema):
    """A comment on an incident."""

    class Meta:
        model = Comment
        fields = ("id", "author", "body", "internal", "created_at")

    author = fields.Nested(UserRefSchema, dump_only=True)
    created_at = UTCDateTime(dump_only=True)


# --- input ------------------------------------------------------------------------------

def _title(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=TITLE_MAX), **kwargs)


def _text(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=TEXT_MAX), **kwargs)


def _id(*, strict: bool = True, **kwargs):
    # Strict in JSON bodies (2.5 is not an id); query strings are text, so parsed.
    # At most 64 bits: a larger number is no id any database holds (422, not a 500).
    kwargs.setdefault("metadata", {}).setdefault("format", "int64")
    return fields.Integer(strict=strict, validate=validate.Range(min=1, max=INT64_MAX),
                          **kwargs)


class IncidentCreateSchema(ma.Schema):
    """A new incident; ``reporter_id`` is for admins reporting on someone's behalf."""

    title = _title(required=True)
    description = _text(required=True)
    priority = _enum(Priority)
    category = _enum(Category)
    reporter_id = _id()


class IncidentPatchSchema(ma.Schema):
    """Changes to an incident; each becomes the lifecycle call that makes it."""

    title = _title()
    description = _text()
    priority = _enum(Priority)
    category = _enum(Category)
    technician_id = _id(allow_none=True)
    status = _enum(Status)
    resolution_notes = _text()


class IncidentPutSchema(IncidentPatchSchema):
    """A full replacement of the editable fields (PUT)."""

    title = _title(required=True)
    description = _text(required=True)
    priority = _enum(Priority, required=True)
    category = _enum(Category, required=True)


IncidentQueryArgsSchema = ma.Schema.from_dict({
    **{name: _enum(enum_class) for name, enum_class in CHOICE_FILTERS.items()},
    **{name: _id(strict=False) for name in PERSON_FILTERS},
    "q": fields.String(validate=validate.Length(min=1, max=200),
                       metadata={"description": "Text in the title or description, "
                                               "or a reporter's or technician's username"}),
    "sort": fields.String(load_default=DEFAULT_ORDER, validate=validate.OneOf(list(ORDER))),
}, name="IncidentQueryArgs")
IncidentQueryArgsSchema.__doc__ = "Filters and order of the incident list."


class AssignSchema(ma.Schema):
    technician_id = _id(required=True, allow_none=True,
                        metadata={"description": "A technician's (or admin's) id; null "
                                                 "returns the incident to the queue"})


class ResolveSchema(ma.Schema):
    resolution_notes = _text(required=True)


class NoteSchema(ma.Schema):
    note = _text(metadata={"description": "Why (optional)"})


#: The request body of each kind of lifecycle command (``None``: no body).
NEEDS_SCHEMAS = {Needs.nothing: None, Needs.technician: AssignSchema,
                 Needs.resolution_notes: ResolveSchema, Needs.note: NoteSchema}


class CommentCreateSchema(ma.Schema):
    body = _text(required=True)
    internal = fields.Boolean(truthy={True}, falsy={False}, load_default=False)


class AttachmentSchema(SQLAlchemySchema):
    """A file on an incident (or on one of its comments); the bytes are at ``content_url``."""

    class Meta:
        model = Attachment

    id = auto_field(dump_only=True)
    incident_id = auto_field(dump_only=True)
    comment_id = auto_field(dump_only=True)
    filename = auto_field(dump_only=True)
    content_type = auto_field(dump_only=True,
                              metadata={"description": "Detected from the bytes"})
    size = auto_field(dump_only=True, metadata={"description": "Bytes"})
    sha256 = auto_field(dump_only=True)
    internal = auto_field(dump_only=True)
    uploader = fields.Nested(UserRefSchema, dump_only=True)
    created_at = UTCDateTime(dump_only=True)
    content_url = fields.Method("_content_url", dump_only=True,
                                metadata={"type": "string", "format": "uri"})
    has_preview = fields.Method("_has_preview", dump_only=True,
                                metadata={"type": "boolean"})

    def _content_url(self, attachment: Attachment) -> str:
        return url_for("attachments.AttachmentContent", attachment_id=attachment.id,
                       _external=True)

    def _has_preview(self, attachment: Attachment) -> bool:
        return attachment.preview_sha256 is not None


class AttachmentUploadSchema(ma.Schema):
    """``multipart/form-data``: the file, and optionally its comment and whether it is
    internal (admins and technicians)."""

    file = Upload(required=True, metadata={"description": "The file (one per request)"})
    comment_id = _id(strict=False, metadata={"description": "A comment of this incident"})
    internal = fields.Boolean(load_default=False,
                              metadata={"description": "Staff only; files on internal "
                                                       "comments are internal anyway"})


class TokenRequestSchema(ma.Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=255))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024),
                             load_only=True)
    code = fields.String(validate=validate.Length(min=6, max=8),
                         metadata={"description": "Authenticator code, for accounts "
                                                  "with two-factor authentication"})


class TokenSchema(ma.Schema):
    token = fields.String(dump_only=True)
    user = fields.Nested(UserSchema, dump_only=True)


class UserCreateSchema(ma.Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=255))
    username = fields.String(required=True, validate=validate.Length(min=1, max=255))
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=1, max=1024))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLE_NAMES)), required=True,
                        validate=validate.Length(min=1))
    active = fields.Boolean(truthy={True}, falsy={False}, load_default=True)


class UserPatchSchema(ma.Schema):
    email = fields.String(validate=validate.Length(min=3, max=255))
    username = fields.String(validate=validate.Length(min=1, max=255))
    password = fields.String(load_only=True, validate=validate.Length(min=1, max=1024))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLE_NAMES)),
                        validate=validate.Length(min=1))
    active = fields.Boolean(truthy={True}, falsy={False})

