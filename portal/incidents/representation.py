"""The incident's public representation: the JSON the API answers and the webhooks send
(``GET /api/v1/incidents/<id>``, an event's history entry, a comment), one set of
marshmallow dump schemas for both, with the field-read shortcuts a list page needs.

``IncidentSchema.attachment_count`` depends on who reads: ``PublicIncidentSchema`` and
``InternalIncidentSchema`` count the files a reporter or staff see (the counts
``portal.attachments.models`` maps onto ``Incident``); the API's own schema decides per
caller.
"""
from __future__ import annotations

from datetime import timezone

import marshmallow as ma
from marshmallow import fields
from marshmallow_sqlalchemy import SQLAlchemyAutoSchema, SQLAlchemySchema, auto_field

from portal.auth.models import User
from portal.incidents.enums import Category, EventKind, Level, Priority, SlaState, Status
from portal.incidents.models import Comment, Incident, IncidentEvent


class ReadsAttribute:
    """A field of a record's attribute (``attribute`` or the field's name), read with
    ``getattr`` straight away. Marshmallow's ``serialize`` reads it through ``get_value``
    and the schema's accessor, two calls more per field and row, for lookups (``obj[key]``,
    dotted paths) a record never needs; an incident has 28 fields, a list page 20 rows."""

    def serialize(self, attr, obj, accessor=None, **kwargs):
        value = getattr(obj, self.attribute or attr, None)
        return self._serialize(value, attr, obj, **kwargs)


class UTCDateTime(ReadsAttribute, fields.DateTime):
    """A timestamp as ISO 8601 in UTC with a ``Z``: ``2026-11-22T09:14:03Z``."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is not timezone.utc:  # stored times come back in UTC already
            value = value.astimezone(timezone.utc)
        # The first 19 characters of isoformat() are the date and the whole seconds:
        # the same text as strftime("%Y-%m-%dT%H:%M:%S") or replace(microsecond=0) first,
        # at a fraction of the cost, and a list page formats 160 of them.
        return value.isoformat()[:19] + "Z"


class ValueEnum(ReadsAttribute, fields.Enum):
    """An enum sent and read as its value (``"on_hold"``). Sending returns the value
    itself: marshmallow's Enum hands it to an inner Raw field that returns it unchanged,
    one call per enum field and row, six of them in an incident."""

    def __init__(self, enum_class, **kwargs):
        super().__init__(enum_class, by_value=True, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.value


EMAIL = {"format": "email"}


class ServerSent:
    """Output schemas: every field is always sent (``null`` where it has no value), so the
    document marks each ``required`` and generated models need no "unset" case."""

    def on_bind_field(self, field_name, field_obj):
        field_obj.required = True


class OfRecords:
    """Output schemas of ORM records (or objects like them): each value is an attribute.

    Marshmallow's default ``get_attribute`` first tries ``obj[key]``, splits dotted keys
    and tests ``__getitem__``; for a record that is three calls per field wasted, and a
    list page of incidents has 560 fields."""

    def get_attribute(self, obj, attr, default):
        return getattr(obj, attr, default)


class UserRefSchema(ServerSent, OfRecords, SQLAlchemySchema):
    """A user as other records refer to them."""

    class Meta:
        model = User

    openapi_example = {"id": 7, "username": "rita", "email": "rita@example.com"}

    id = auto_field(dump_only=True)
    username = auto_field(dump_only=True)
    email = auto_field(dump_only=True, metadata=EMAIL)


class SlaSchema(OfRecords, ma.Schema):
    """Where the incident stands against its SLA targets (``due_at`` is the resolution
    target, as on the incident)."""

    state = ValueEnum(SlaState, attribute="sla_state", dump_only=True)
    first_response_due_at = UTCDateTime(dump_only=True, allow_none=True)
    first_responded_at = UTCDateTime(dump_only=True, allow_none=True)
    due_at = UTCDateTime(dump_only=True)
    paused_seconds = fields.Integer(attribute="sla_paused_seconds", dump_only=True,
                                    metadata={"description": "Business time the resolution "
                                                             "clock stood paused, in seconds"})


class Inline(fields.Nested):
    """A nested object whose schema has no pre- or post-dump hooks, serialised field by
    field into its dict. ``Nested`` calls the schema's ``dump`` per object, whose hook
    and error machinery cost as much again as the three to five fields of a person or an
    SLA (two people and an SLA per incident, 60 objects per list page)."""

    def _serialize(self, nested_obj, attr, obj, **kwargs):
        if nested_obj is None:
            return None
        schema = self.schema
        return {field.data_key or name: field.serialize(name, nested_obj,
                                                        accessor=schema.get_attribute)
                for name, field in schema.dump_fields.items()}


class Record(ReadsAttribute, Inline):
    """A related record, nested (an incident's reporter)."""


class OfTheWhole(Inline):
    """A nested object made from the same record (the incident's ``sla``)."""

    def serialize(self, attr, obj, accessor=None, **kwargs):
        return self._serialize(obj, attr, obj, **kwargs)


class IncidentSchema(ServerSent, OfRecords, SQLAlchemyAutoSchema):
    """An incident: what it is, where it stands, who reported it and who has it."""

    class Meta:
        model = Incident
        fields = ("id", "title", "description", "status", "priority", "category", "impact",
                  "urgency", "reporter", "technician", "resolution_notes", "created_at",
                  "updated_at", "due_at", "resolved_at", "closed_at", "sla",
                  "attachment_count")

    openapi_example = {
        "id": 42, "title": "VPN drops every 10 minutes",
        "description": "Since this morning the VPN disconnects every ten minutes.",
        "status": "assigned", "priority": "high", "category": "network",
        "impact": "medium", "urgency": "high",
        "reporter": {"id": 7, "username": "rita", "email": "rita@example.com"},
        "technician": {"id": 3, "username": "tom", "email": "tom@example.com"},
        "resolution_notes": None, "created_at": "2026-11-22T09:14:03Z",
        "updated_at": "2026-11-22T09:20:11Z", "due_at": "2026-11-22T17:14:03Z",
        "resolved_at": None, "closed_at": None,
        "sla": {"state": "ok", "first_response_due_at": "2026-11-22T11:14:03Z",
                "first_responded_at": "2026-11-22T09:20:11Z",
                "due_at": "2026-11-22T17:14:03Z", "paused_seconds": 0},
        "attachment_count": 1}

    status = ValueEnum(Status, dump_only=True)
    priority = ValueEnum(Priority, dump_only=True)
    category = ValueEnum(Category, dump_only=True)
    impact = ValueEnum(Level, dump_only=True, allow_none=True)
    urgency = ValueEnum(Level, dump_only=True, allow_none=True)
    reporter = Record(UserRefSchema, dump_only=True)
    technician = Record(UserRefSchema, dump_only=True, allow_none=True)
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)
    due_at = UTCDateTime(dump_only=True)
    resolved_at = UTCDateTime(dump_only=True, allow_none=True)
    closed_at = UTCDateTime(dump_only=True, allow_none=True)
    sla = OfTheWhole(SlaSchema, dump_only=True)

    attachment_count = fields.Method(
        "_attachment_count", dump_only=True,
        metadata={"type": "integer", "description": "The attachments you may see"})

    def _attachment_count(self, incident: Incident) -> int:
        """How many attachments the reader sees: each reader's schema says."""
        raise NotImplementedError


class PublicIncidentSchema(IncidentSchema):
    """The incident as a reporter sees it: ``attachment_count`` without internal files."""

    def _attachment_count(self, incident: Incident) -> int:
        return incident.attachments_public_count


class InternalIncidentSchema(IncidentSchema):
    """The incident as staff see it: ``attachment_count`` of every file."""

    def _attachment_count(self, incident: Incident) -> int:
        return incident.attachments_all_count


class EventSchema(ServerSent, OfRecords, SQLAlchemyAutoSchema):
    """One entry of an incident's history."""

    class Meta:
        model = IncidentEvent
        fields = ("id", "kind", "actor", "from_status", "to_status", "changes", "note",
                  "created_at")

    kind = ValueEnum(EventKind, dump_only=True)
    actor = fields.Nested(UserRefSchema, dump_only=True, allow_none=True)
    from_status = ValueEnum(Status, dump_only=True, allow_none=True)
    to_status = ValueEnum(Status, dump_only=True, allow_none=True)
    changes = fields.Dict(dump_only=True)
    created_at = UTCDateTime(dump_only=True)


class CommentSchema(ServerSent, OfRecords, SQLAlchemyAutoSchema):
    """A comment on an incident."""

    class Meta:
        model = Comment
        fields = ("id", "author", "body", "internal", "unverified_sender", "created_at")

    openapi_example = {"id": 5, "author": {"id": 3, "username": "tom",
                                           "email": "tom@example.com"},
                       "body": "Replaced the router's firmware; watching it.",
                       "internal": False, "unverified_sender": False,
                       "created_at": "2026-11-22T10:02:45Z"}

    author = fields.Nested(UserRefSchema, dump_only=True)
    unverified_sender = fields.Boolean(dump_only=True, metadata={
        "description": "It came by mail and nothing proved its sender: the author is "
                       "only who the From address claims"})
    created_at = UTCDateTime(dump_only=True)
