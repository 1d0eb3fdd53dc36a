"""The body of a delivery: the event and the incident as the API shows it (the domain's
representation, ``portal.incidents.representation``, which the API dumps too).

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
from datetime import datetime, timezone

from portal.incidents.models import Comment, Incident, IncidentEvent
from portal.incidents.representation import (CommentSchema, EventSchema,
                                             InternalIncidentSchema, PublicIncidentSchema)


#: The incident as each kind of endpoint reads it: internal ones (staff) see every file.
INCIDENTS = {False: PublicIncidentSchema(), True: InternalIncidentSchema()}
EVENTS = EventSchema()
COMMENTS = CommentSchema()


def incident_json(incident: Incident, *, internal: bool) -> dict:
    """``incident`` as the API shows it to a reporter, or (``internal``) to staff."""
    return INCIDENTS[internal].dump(incident)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def body(event_id: str, event_type: str, moment: datetime, incident: dict | None,
         event: IncidentEvent | None = None, comment: Comment | None = None,
         extra: dict | None = None) -> str:
    """The JSON text of one delivery."""
    data: dict = {"incident": incident}
    if event is not None:
        data["event"] = EVENTS.dump(event)
    if comment is not None:
        data["comment"] = COMMENTS.dump(comment)
    data.update(extra or {})
    return json.dumps({"id": event_id, "type": event_type, "timestamp": _stamp(moment),
                       "data": data}, separators=(",", ":"), ensure_ascii=False)
