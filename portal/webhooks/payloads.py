"""The body of a delivery: the event and the incident as the API shows it.

Shaped as the Standard Webhooks specification suggests::

    {"id": "evt_…", "type": "incident.assigned", "timestamp": "2026-12-02T10:00:00Z",
     "data": {"incident": {…as GET /api/v1/incidents/<id>…},
              "event": {…the history entry…}            (incident.* events)
              "comment": {…as the comments API…}}}       (comment.created)

The body is made once, when the change commits, and stored: every attempt sends the same
bytes (only the timestamp and signature headers are new).
"""
from __future__ import annotations

import json
from functools import cache
from datetime import datetime, timezone

from portal.incidents.models import Comment, Incident, IncidentEvent


@cache
def _schemas():
    # The API's own schemas, so a payload is what the API answers (imported here: the
    # api package needs the app's extensions, which import this package's models).
    from api.schemas import CommentSchema, EventSchema, IncidentSchema

    class PublicIncident(IncidentSchema):
        """``attachment_count`` as a reporter would see it."""

        def _attachment_count(self, incident: Incident) -> int:
            return incident.attachments_public_count

    class InternalIncident(IncidentSchema):
        """``attachment_count`` as staff see it."""

        def _attachment_count(self, incident: Incident) -> int:
            return incident.attachments_all_count

    return {False: PublicIncident(), True: InternalIncident()}, EventSchema(), CommentSchema()


def incident_json(incident: Incident, *, internal: bool) -> dict:
    return _schemas()[0][internal].dump(incident)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def body(event_id: str, event_type: str, moment: datetime, incident: dict | None,
         event: IncidentEvent | None = None, comment: Comment | None = None,
         extra: dict | None = None) -> str:
    """The JSON text of one delivery."""
    _incidents, events, comments = _schemas()
    data: dict = {"incident": incident}
    if event is not None:
        data["event"] = events.dump(event)
    if comment is not None:
        data["comment"] = comments.dump(comment)
    data.update(extra or {})
    return json.dumps({"id": event_id, "type": event_type, "timestamp": _stamp(moment),
                       "data": data}, separators=(",", ":"), ensure_ascii=False)
