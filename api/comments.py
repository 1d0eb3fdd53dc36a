"""``/api/v1/incidents/<id>/events`` and ``/comments``: an incident's history and talk."""
from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from api.idempotency import idempotent
from api.pagination import Blueprint
from api.access import authenticated, caller, operations, visible_incident
from api.schemas import CommentCreateSchema
from portal.extensions import db
from portal import flows
from portal.incidents.access import visible_comments
from portal.incidents.models import IncidentEvent
from portal.incidents.representation import CommentSchema, EventSchema

URL_PREFIX = "/incidents"
blp = Blueprint("comments", __name__, description="History and comments of an incident")
operation = operations(blp)


@blp.route("/<int:incident_id>/events")
class IncidentEvents(MethodView):
    decorators = [authenticated]

    @operation("listIncidentEvents", 200, EventSchema(many=True), errors=(401, 404))
    def get(self, incident_id):
        """The incident's history, oldest first

        Each change: who made it, when, the status before and after, the fields changed.
        """
        incident = visible_incident(incident_id)
        return db.session.scalars(
            select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
            .options(joinedload(IncidentEvent.actor))
            .order_by(IncidentEvent.created_at, IncidentEvent.id)).all()


@blp.route("/<int:incident_id>/comments")
class IncidentComments(MethodView):
    decorators = [idempotent, authenticated]

    @operation("listIncidentComments", 200, CommentSchema(many=True), errors=(401, 404))
    def get(self, incident_id):
        """The comments you may read, oldest first (internal ones for staff only)

        Reporters never see internal comments.
        """
        return visible_comments(caller(), visible_incident(incident_id))

    @blp.arguments(CommentCreateSchema)
    @operation("createIncidentComment", 201, CommentSchema, errors=(401, 403, 404, 409, 422),
               parameters=[IDEMPOTENCY_KEY])
    def post(self, data, incident_id):
        """Add a comment (`internal` ones: admins and technicians)

        `internal` is `true` or `false`; a reporter's internal comment is refused (403).
        """
        comment = flows.comment_with_files(visible_incident(incident_id), actor=caller(),
                                           **data)
        db.session.commit()
        return comment
