"""``/api/v1/incidents``: list, create, read, change, delete, and the lifecycle actions.

Every write is a lifecycle call; PUT and PATCH translate their fields into the same calls
the action endpoints make (update, assign, then a status change), in one transaction.
"""
from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from api.blueprint import Blueprint
from sqlalchemy import func, or_, select

from api.access import (authenticated, caller, check_if_match, error_responses,
                        etag_headers, user_by_id, visible_incident, with_people)
from api.schemas import (AssignSchema, IncidentCreateSchema, IncidentPatchSchema,
                         IncidentPutSchema, IncidentQueryArgsSchema, IncidentSchema,
                         NoteSchema, ResolveSchema)
from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.access import visible_incidents
from portal.incidents.enums import Action
from portal.incidents.models import Incident

URL_PREFIX = "/incidents"
blp = Blueprint("incidents", __name__, description="Incidents and their lifecycle")
blp_errors = error_responses(blp)

ETAG_HEADER = {"ETag": {"description": "Version tag; send it back as If-Match",
                        "schema": {"type": "string"}}}
ORDER = {
    "created_at": (Incident.created_at.asc(), Incident.id.asc()),
    "-created_at": (Incident.created_at.desc(), Incident.id.desc()),
    "priority": (Incident.priority_rank.asc(), Incident.id.desc()),
    "-priority": (Incident.priority_rank.desc(), Incident.id.desc()),
    "updated_at": (Incident.updated_at.asc(), Incident.id.asc()),
    "-updated_at": (Incident.updated_at.desc(), Incident.id.desc()),
    "due_at": (Incident.due_at.asc(), Incident.id.asc()),
}
FILTERS = ("status", "priority", "category", "technician_id", "reporter_id")
FIELDS = ("title", "description", "priority", "category")


def filtered(query, args):
    for name in FILTERS:
        if name in args:
            query = query.where(getattr(Incident, name) == args[name])
    if "q" in args:
        query = query.where(text_search(args["q"]))
    return query


def text_search(text: str):
    """``text`` anywhere in the title or description, ignoring case (``%`` and ``_`` are
    literal).

    SQLite's LIKE already ignores ASCII case, and its lower() folds nothing more, so there
    a plain LIKE finds the same rows without lowering every title and description first
    (30-40 ms instead of 85 ms over 100,000 incidents; still a scan). PostgreSQL's ILIKE
    reads the trigram indexes of migration 0005.
    """
    contains = "contains" if db.engine.dialect.name == "sqlite" else "icontains"
    return or_(getattr(Incident.title, contains)(text, autoescape=True),
               getattr(Incident.description, contains)(text, autoescape=True))


def page_of(query, order, pagination_parameters):
    """One page of ``query``, as one statement in two steps: the page's ids first, read
    from an index in ``order`` (skipping ``first_item`` rows there costs only index
    entries, even on page 1000), then those rows with their reporter and technician."""
    ids = (query.with_only_columns(Incident.id).order_by(*order)
           .offset(pagination_parameters.first_item).limit(pagination_parameters.page_size))
    return with_people(select(Incident).where(Incident.id.in_(ids.scalar_subquery()))
                       .order_by(*order))


@blp.route("")
class Incidents(MethodView):
    decorators = [authenticated]

    @blp.arguments(IncidentQueryArgsSchema, location="query")
    @blp.response(200, IncidentSchema(many=True))
    @blp.paginate(page_size=20, max_page_size=100)
    @blp_errors(401)
    def get(self, args, pagination_parameters):
        """List the incidents you may see, newest first

        Pagination is in the `X-Pagination` header.
        """
        query = filtered(visible_incidents(caller()), args)
        # count(*) over the list's own FROM and WHERE, nothing else: with no condition
        # (an admin's unfiltered list) SQLite answers from its smallest index at once.
        pagination_parameters.item_count = db.session.scalar(
            query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None))
        return db.session.scalars(page_of(query, ORDER[args["sort"]],
                                          pagination_parameters)).unique().all()

    @blp.arguments(IncidentCreateSchema)
    @blp.response(201, IncidentSchema, headers={
        "Location": {"description": "The new incident", "schema": {"type": "string"}},
        **ETAG_HEADER})
    @blp_errors(401, 403, 422)
    def post(self, data):
        """Report an incident

        Admins may report on someone's behalf with `reporter_id`.
        """
        reporter_id = data.pop("reporter_id", None)
        reporter = user_by_id(reporter_id, "reporter_id",  # admins report for others
                              allowed=reporter_id == caller().id or caller().is_admin)
        incident = lifecycle.create(actor=caller(), reporter=reporter, **data)
        db.session.commit()
        headers = {"Location": url_for("incidents.IncidentById", incident_id=incident.id,
                                       _external=True), **etag_headers(incident)}
        return incident, 201, headers


def apply_changes(incident: Incident, data: dict) -> Incident:
    """Translate PUT/PATCH fields into lifecycle calls: update, assign, change status."""
    actor = caller()
    fields = {name: data[name] for name in FIELDS
              if name in data and data[name] != getattr(incident, name)}
    if fields:
        lifecycle.update(incident, actor=actor, **fields)
    if "technician_id" in data and data["technician_id"] != incident.technician_id:
        technician = user_by_id(data["technician_id"], "technician_id",
                                allowed=lifecycle.may_ever(actor, Action.assign))
        lifecycle.assign(incident, actor=actor, technician=technician)
    if "status" in data or "resolution_notes" in data:
        lifecycle.change_status(incident, actor=actor,
                                status=data.get("status", incident.status),
                                resolution_notes=data.get("resolution_notes"))
    db.session.commit()
    return incident


@blp.route("/<int:incident_id>")
class IncidentById(MethodView):
    decorators = [authenticated]

    @blp.response(200, IncidentSchema, headers=ETAG_HEADER)
    @blp_errors(401, 404)
    def get(self, incident_id):
        """Read one incident"""
        incident = visible_incident(incident_id)
        return incident, etag_headers(incident)

    @blp.arguments(IncidentPutSchema)
    @blp.response(200, IncidentSchema, headers=ETAG_HEADER)
    @blp_errors(401, 403, 404, 409, 412, 422)
    def put(self, data, incident_id):
        """Replace an incident's editable fields (and assign, change status, resolve)"""
        incident = visible_incident(incident_id)
        check_if_match(incident)
        apply_changes(incident, data)
        return incident, etag_headers(incident)

    @blp.arguments(IncidentPatchSchema)
    @blp.response(200, IncidentSchema, headers=ETAG_HEADER)
    @blp_errors(401, 403, 404, 409, 412, 422)
    def patch(self, data, incident_id):
        """Change some fields (and assign, change status, resolve)

        `technician_id` assigns; `status` moves the incident through the action that
        leads there (`resolved` needs `resolution_notes`).
        """
        incident = visible_incident(incident_id)
        check_if_match(incident)
        apply_changes(incident, data)
        return incident, etag_headers(incident)

    @blp.response(204)
    @blp_errors(401, 403, 404, 412)
    def delete(self, incident_id):
        """Delete an incident (admins)"""
        incident = visible_incident(incident_id)
        check_if_match(incident)
        lifecycle.delete(incident, actor=caller())
        db.session.commit()


def _action(name: str, schema, call, doc: str, codes=(401, 403, 404, 409, 412, 422)):
    """Register ``POST /incidents/<id>/<name>`` calling the lifecycle function."""

    def post(self, *args, incident_id):
        data = args[0] if args else {}
        incident = visible_incident(incident_id)
        check_if_match(incident)
        call(incident, caller(), data)
        db.session.commit()
        return incident, etag_headers(incident)

    post.__doc__ = doc
    view = blp.response(200, IncidentSchema, headers=ETAG_HEADER)(blp_errors(*codes)(post))
    if schema is not None:
        view = blp.arguments(schema)(view)
    cls = type(f"Incident{name.title()}", (MethodView,), {"post": view,
                                                          "decorators": [authenticated]})
    blp.route(f"/<int:incident_id>/{name}")(cls)


_action("assign", AssignSchema,
        lambda i, actor, d: lifecycle.assign(
            i, actor=actor, technician=user_by_id(
                d["technician_id"], "technician_id",
                allowed=lifecycle.may_ever(actor, Action.assign))),
        "Assign to a technician (admins); null technician_id returns it to the queue")
_action("start", None, lambda i, actor, d: lifecycle.start(i, actor=actor),
        "Start work: assigned → in_progress")
_action("hold", None, lambda i, actor, d: lifecycle.hold(i, actor=actor),
        "Put on hold: in_progress → on_hold")
_action("resume", None, lambda i, actor, d: lifecycle.resume(i, actor=actor),
        "Resume work: on_hold → in_progress")
_action("resolve", ResolveSchema,
        lambda i, actor, d: lifecycle.resolve(i, actor=actor,
                                              resolution_notes=d["resolution_notes"]),
        "Resolve with notes saying how")
_action("reopen", NoteSchema,
        lambda i, actor, d: lifecycle.reopen(i, actor=actor, note=d.get("note")),
        "Reopen a resolved incident (its reporter or an admin)")
_action("close", None, lambda i, actor, d: lifecycle.close(i, actor=actor),
        "Close a resolved incident, confirming the fix (its reporter or an admin)")
