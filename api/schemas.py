"""Marshmallow schemas of the REST API: dump schemas read ORM objects, load schemas read
plain data (never ORM instances), so every write goes through the lifecycle functions.

Input refuses unknown fields (marshmallow's default ``RAISE``), and integers are strict.
The incident, its history and its comments are dumped as the domain represents them
(``portal.incidents.representation``, which the webhooks send too).
"""
from __future__ import annotations

from datetime import datetime, timezone

import marshmallow as ma
from flask import g, url_for
from flask_security import current_user
from flask_smorest.fields import Upload
from marshmallow import fields, validate
from marshmallow_sqlalchemy import SQLAlchemySchema, auto_field

from portal.attachments.models import Attachment, PreviewStatus
from portal.attachments.service import attachment_count, sees_internal
from portal.auth.models import User
from portal.auth.roles import ROLE_NAMES
from portal.ids import INT64_MAX
from portal.incidents import representation
from portal.incidents.enums import Category, Level, Priority, Status
from portal.incidents.lifecycle import Needs
from portal.incidents.listing import (CHOICE_FILTERS, DEFAULT_ORDER, FLAG_FILTERS, ORDER,
                                      PERSON_FILTERS, SLA_FILTERS, TIME_FILTERS)
from portal.incidents.models import TEXT_MAX, TITLE_MAX, Incident
from portal.incidents.representation import (EMAIL, OfRecords, ServerSent, UserRefSchema,
                                             UTCDateTime, ValueEnum)


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` and nothing else: ``0``, ``1`` and ``"yes"`` are refused
    (marshmallow's ``truthy={True}`` still lets ``1`` and ``0`` in, as they equal them)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class StrictQueryBoolean(fields.Boolean):
    """``true`` or ``false`` in a query string, nothing else (not ``1``, ``yes``, ``on``)."""

    def __init__(self, **kwargs):
        super().__init__(truthy={"true"}, falsy={"false"}, **kwargs)


# --- output -----------------------------------------------------------------------------

class UserSchema(UserRefSchema):
    """A user account (the password is write-only and never returned)."""

    openapi_example = {"id": 7, "username": "rita", "email": "rita@example.com",
                       "active": True, "roles": ["reporter"],
                       "created_at": "2026-01-05T08:00:00Z", "time_zone": "Europe/Berlin"}

    active = auto_field(dump_only=True)
    time_zone = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "The IANA zone the portal shows this user times in; null: the "
                       "server's default (`PORTAL_TIMEZONE`)."})
    roles = fields.Method("_role_names", dump_only=True,
                          metadata={"type": "array", "items": {"type": "string"}})
    created_at = UTCDateTime(dump_only=True)

    def _role_names(self, user: User) -> list[str]:
        return sorted(user.role_names)


class Revealed:
    """A record with a secret just made for it, for the one answer that shows the secret
    (the record keeps it only hashed or sealed): ``Revealed(token, token=secret)``."""

    def __init__(self, record, **secrets: str) -> None:
        self._record = record
        self.__dict__.update(secrets)

    def __getattr__(self, name):
        return getattr(self._record, name)


class IncidentSchema(representation.IncidentSchema):
    """An incident: what it is, where it stands, who reported it and who has it."""

    def _attachment_count(self, incident: Incident) -> int:
        user, internal = _caller_sees_internal()
        return attachment_count(user, incident, internal=internal)


def _caller_sees_internal() -> tuple[User, bool]:
    """The caller and whether they see internal attachments, decided once per request
    (a request has one caller) for every incident of a list: per row, the user behind
    ``current_user`` and the role set cost a twentieth of a list request."""
    known = g.get("api_sees_internal")
    if known is None:
        user = current_user._get_current_object()
        known = g.api_sees_internal = (user, sees_internal(user))
    return known


class TransitionSchema(ServerSent, ma.Schema):
    """A command the caller may run on the incident now, and how."""

    openapi_example = {"name": "resolve", "label": "Resolve",
                       "summary": "Resolve with notes saying how", "leads_to": "resolved",
                       "method": "POST", "href": "https://portal.example.com/api/v1/"
                                                 "incidents/42/resolve",
                       "body": ["resolution_notes"]}

    name = fields.String(dump_only=True, metadata={"description": "The command"})
    label = fields.String(dump_only=True)
    summary = fields.String(dump_only=True)
    leads_to = ValueEnum(Status, dump_only=True, allow_none=True,
                     metadata={"description": "The status it leads to; null when that "
                                              "depends on the incident"})
    method = fields.String(dump_only=True, metadata={"enum": ["POST"]})
    href = fields.String(dump_only=True, metadata={"format": "uri"})
    body = fields.List(fields.String(), dump_only=True,
                       metadata={"description": "The fields its request body takes"})


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

    openapi_example = {"title": "VPN drops every 10 minutes",
                       "description": "Since this morning the VPN disconnects every ten "
                                      "minutes.", "priority": "high", "category": "network"}

    title = _title(required=True)
    description = _text(required=True)
    priority = ValueEnum(Priority)
    category = ValueEnum(Category)
    reporter_id = _id()
    impact = ValueEnum(Level, metadata={"description": "How many it hurts (with urgency: the "
                                                   "priority from the ITIL matrix)"})
    urgency = ValueEnum(Level, metadata={"description": "How soon it hurts (with impact)"})


class IncidentPatchSchema(ma.Schema):
    """Changes to an incident; each becomes the lifecycle call that makes it."""

    title = _title()
    description = _text()
    priority = ValueEnum(Priority)
    category = ValueEnum(Category)
    technician_id = _id(allow_none=True)
    status = ValueEnum(Status)
    resolution_notes = _text()


class IncidentPutSchema(IncidentPatchSchema):
    """A full replacement of the editable fields (PUT)."""

    title = _title(required=True)
    description = _text(required=True)
    priority = ValueEnum(Priority, required=True)
    category = ValueEnum(Category, required=True)


#: How many values one filter may name (``status=open&status=assigned``...).
FILTER_VALUES_MAX = 20


#: The instants a time filter may name: anything else is no incident's and, at the ends
#: of the calendar, would overflow when moved to UTC (a 422, not a 500).
INSTANTS = validate.Range(min=datetime(1970, 1, 1, tzinfo=timezone.utc),
                          max=datetime(9000, 1, 1, tzinfo=timezone.utc))


def _several(field: fields.Field) -> fields.List:
    return fields.List(field, validate=validate.Length(min=1, max=FILTER_VALUES_MAX),
                       metadata={"description": "One or more values (any of them)"})


def _instant(column: str, relation: str) -> fields.AwareDateTime:
    when = "at or after" if relation == ">=" else "before"
    return fields.AwareDateTime(validate=INSTANTS, metadata={
        "description": f"`{column}` {when} this instant (ISO 8601 with its offset)"})


IncidentQueryArgsSchema = ma.Schema.from_dict({
    **{name: _several(ValueEnum(enum_class)) for name, enum_class in CHOICE_FILTERS.items()},
    **{name: _several(_id(strict=False)) for name in PERSON_FILTERS},
    **{name: _instant(column.key, relation) for name, (column, relation)
       in TIME_FILTERS.items()},
    **{name: StrictQueryBoolean(metadata={"description": f"Only {name} incidents "
                                                         "(`true`) or only others (`false`)"})
       for name in FLAG_FILTERS},
    **{name: _several(ValueEnum(enum_class)) for name, enum_class in SLA_FILTERS.items()},
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
    internal = StrictBoolean(load_default=False)


class AttachmentSchema(OfRecords, SQLAlchemySchema):
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
    preview_status = auto_field(dump_only=True, metadata={
        "enum": [status.value for status in PreviewStatus],
        "description": "`pending` until the worker made the preview of an image "
                       "(`ready`); `too_large` over the pixel budget, `failed` unreadable, "
                       "`none` not a raster image"})

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


class TokenSchema(ServerSent, ma.Schema):
    token = fields.String(dump_only=True)
    user = fields.Nested(UserSchema, dump_only=True)


class UserCreateSchema(ma.Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=255),
                          metadata=EMAIL)
    username = fields.String(required=True, validate=validate.Length(min=1, max=255))
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=1, max=1024))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLE_NAMES)), required=True,
                        validate=validate.Length(min=1))
    active = StrictBoolean(load_default=True)


class UserPatchSchema(ma.Schema):
    email = fields.String(validate=validate.Length(min=3, max=255), metadata=EMAIL)
    username = fields.String(validate=validate.Length(min=1, max=255))
    password = fields.String(load_only=True, validate=validate.Length(min=1, max=1024))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLE_NAMES)),
                        validate=validate.Length(min=1))
    active = StrictBoolean()

