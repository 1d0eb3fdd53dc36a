"""``/api/v1/incidents``: list, create, read, change, delete, and the lifecycle commands.

Every write is a lifecycle call (a report is ``flows.report_incident``, as the portal's
form makes it); PUT and PATCH translate their fields into the same calls the command
endpoints make (update, assign, then a status change), in one transaction.
The command endpoints (``POST /incidents/<id>/<command>``) are made from the lifecycle's
registry, one per command, so a new command appears here, documented, without a line in
this module.
"""
from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from sqlalchemy import func, select

from api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from api.idempotency import idempotent
from api.pagination import PAGINATION_HEADERS, Blueprint, pagination_headers
from api.access import (authenticated, caller, check_if_match, etag_headers, etag_of,
                        list_etag, location, location_header, not_modified, operations,
                        user_by_id, visible_incident, with_people)
from api.schemas import (NEEDS_SCHEMAS, IncidentCreateSchema, IncidentPatchSchema,
                         IncidentPutSchema, IncidentQueryArgsSchema, IncidentSchema,
                         TransitionSchema)
from portal.extensions import db
from portal import flows
from portal.incidents import lifecycle
from portal.incidents.access import Capacity, visible_incidents
from portal.incidents.enums import Action, Status
from portal.incidents.lifecycle import ActionSpec, Needs
from portal.incidents.listing import ORDER, filtered
from portal.incidents.models import Incident

URL_PREFIX = "/incidents"
blp = Blueprint("incidents", __name__, description="Incidents and their lifecycle")
operation = operations(blp)

ETAG_HEADER = {"ETag": {"description": "Version tag; send it back as If-Match",
                        "schema": {"type": "string"}}}
LIST_ETAG_HEADER = {"ETag": {"description": "Tag of this page; send it as If-None-Match "
                                            "to learn whether it changed (304)",
                             "schema": {"type": "string"}}}

#: Who a capacity is, in the words of the documentation.
WHO = {Capacity.admin: "admins", Capacity.technician_on_it: "the technician it is assigned to",
       Capacity.reporter_of_it: "its reporter", Capacity.staff: "admins and technicians",
       Capacity.viewer: "anyone who can see it"}


def operation_id(spec: ActionSpec) -> str:
    """The command's ``operationId``: ``assignIncident``, ``resolveIncident``, ..."""
    return f"{spec.name}Incident"


def command_description(spec: ActionSpec) -> str:
    """The command's rule, read from the registry, as its OpenAPI description."""
    who = ", ".join(WHO[capacity] for capacity in sorted(spec.who))
    statuses = ", ".join(f"`{status.value}`" for status in Status if status in spec.allowed_from)
    leads = (f" It leads to `{spec.leads_to.value}`." if spec.leads_to else "")
    return (f"Who may: {who}. From: {statuses}; from another status it is refused (409)."
            f"{leads} Answers the incident as it is afterwards, with its new `ETag`.")


def command_links() -> dict:
    """OpenAPI ``links`` from a new incident to reading it and to each of its commands."""
    by_id = {"incident_id": "$response.body#/id"}
    links = {"GetIncident": {"operationId": "getIncident", "parameters": by_id,
                             "description": "Read the new incident"}}
    for spec in lifecycle.commands():
        if spec.endpoint:
            links[f"{spec.name.title()}Incident"] = {
                "operationId": operation_id(spec), "parameters": by_id,
                "description": spec.summary}
    return links


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
    decorators = [idempotent, authenticated]

    @blp.arguments(IncidentQueryArgsSchema, location="query")
    @operation("listIncidents", 200, IncidentSchema(many=True), errors=(304, 401, 422),
               headers={**PAGINATION_HEADERS, **LIST_ETAG_HEADER})
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, args, pagination_parameters):
        """List the incidents you may see, newest first

        Filters narrow the list; `sort` orders it. Pagination is in the `X-Pagination`
        header.
        """
        query = filtered(visible_incidents(caller()), args)
        # count(*) over the list's own FROM and WHERE, nothing else: with no condition
        # (an admin's unfiltered list) SQLite answers from its smallest index at once.
        pagination_parameters.item_count = db.session.scalar(
            query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None))
        page = db.session.scalars(page_of(query, ORDER[args["sort"]],
                                          pagination_parameters)).unique().all()
        etag = list_etag(page, pagination_parameters.item_count)
        return not_modified(etag) or (page, {**pagination_headers(pagination_parameters),
                                             "ETag": f'"{etag}"'})

    @blp.arguments(IncidentCreateSchema)
    @operation("createIncident", 201, IncidentSchema, errors=(401, 403, 422),
               headers={**location_header("The new incident"), **ETAG_HEADER},
               responses={201: {"links": command_links()}}, parameters=[IDEMPOTENCY_KEY])
    def post(self, data):
        """Report an incident

        Admins may report on someone's behalf with `reporter_id`. The answer's `Location`
        is the new incident's address.
        """
        incident = flows.report_incident(actor=caller(), **data)
        db.session.commit()
        return incident, 201, {**location("incidents.IncidentById", incident_id=incident.id),
                               **etag_headers(incident)}


def apply_changes(incident: Incident, data: dict) -> Incident:
    """Translate PUT/PATCH fields into lifecycle calls: update, assign, change status.

    Fields that equal their current values change nothing: the lifecycle ignores them."""
    actor = caller()
    fields = {name: data[name] for name in lifecycle.UPDATABLE_FIELDS if name in data}
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

    @operation("getIncident", 200, IncidentSchema, errors=(304, 401, 404), headers=ETAG_HEADER)
    def get(self, incident_id):
        """Read one incident

        An incident you may not see answers 404, as one that does not exist. With
        `If-None-Match` naming its current `ETag`, the answer is 304 without a body.
        """
        incident = visible_incident(incident_id)
        return not_modified(etag_of(incident)) or (incident, etag_headers(incident))

    @blp.arguments(IncidentPutSchema)
    @operation("replaceIncident", 200, IncidentSchema, errors=(401, 403, 404, 409, 412, 422),
               headers=ETAG_HEADER)
    def put(self, data, incident_id):
        """Replace an incident's editable fields (and assign, change status, resolve)

        Every field is required; each change goes through the lifecycle as `PATCH`'s do.
        """
        incident = visible_incident(incident_id)
        check_if_match(incident)
        apply_changes(incident, data)
        return incident, etag_headers(incident)

    @blp.arguments(IncidentPatchSchema)
    @operation("updateIncident", 200, IncidentSchema, errors=(401, 403, 404, 409, 412, 422),
               headers=ETAG_HEADER)
    def patch(self, data, incident_id):
        """Change some fields (and assign, change status, resolve)

        `technician_id` assigns; `status` moves the incident through the action that
        leads there (`resolved` needs `resolution_notes`).
        """
        incident = visible_incident(incident_id)
        check_if_match(incident)
        apply_changes(incident, data)
        return incident, etag_headers(incident)

    @operation("deleteIncident", 204, errors=(401, 403, 404, 409, 412))
    def delete(self, incident_id):
        """Delete an incident (admins)

        The incident, its history and its comments are gone for good.
        """
        incident = visible_incident(incident_id)
        check_if_match(incident)
        lifecycle.delete(incident, actor=caller())
        db.session.commit()


@blp.route("/<int:incident_id>/transitions")
class IncidentTransitions(MethodView):
    decorators = [authenticated]

    @operation("listIncidentTransitions", 200, TransitionSchema(many=True), errors=(401, 404))
    def get(self, incident_id):
        """The commands you may run on the incident now

        Read from the same rules that will judge the command: those your capacity
        towards the incident allows from its current status, in the registry's order.
        """
        incident = visible_incident(incident_id)
        allowed = lifecycle.allowed_actions(caller(), incident)
        return [transition(spec, incident) for spec in lifecycle.commands()
                if spec.endpoint and spec.action in allowed]


def transition(spec: ActionSpec, incident: Incident) -> dict:
    """How to run ``spec`` on ``incident``: what it is, where it leads, what it takes."""
    schema = NEEDS_SCHEMAS[spec.needs]
    return {"name": spec.name, "label": spec.label, "summary": spec.summary,
            "leads_to": spec.leads_to, "method": "POST",
            "href": url_for(f"incidents.Incident{spec.name.title()}",
                            incident_id=incident.id, _external=True),
            "body": list(schema().fields) if schema else []}


def _value_for(spec: ActionSpec, data: dict):
    """What the command needs, read from its request body."""
    if spec.needs is Needs.technician:
        # Whether the caller may take it at all is checked before the named user is
        # looked up: the answer must not tell who exists.
        return user_by_id(data["technician_id"], "technician_id",
                          allowed=lifecycle.may_ever(caller(), spec.action))
    return data.get(spec.needs.value)


def required_fields(schema) -> list[str]:
    return [name for name, field in schema().fields.items() if field.required]


def command_view(spec: ActionSpec) -> type[MethodView]:
    """The ``MethodView`` of ``POST /incidents/<id>/<spec.name>``, documented from ``spec``."""
    schema = NEEDS_SCHEMAS[spec.needs]

    def post(self, *args, incident_id):
        incident = visible_incident(incident_id)
        check_if_match(incident)
        spec.run(incident, actor=caller(), value=_value_for(spec, args[0] if args else {}))
        db.session.commit()
        return incident, etag_headers(incident)

    post.__doc__ = f"{spec.summary}\n\n{command_description(spec)}"
    view = operation(operation_id(spec), 200, IncidentSchema,
                     errors=(401, 403, 404, 409, 412, 422), headers=ETAG_HEADER,
                     parameters=[IDEMPOTENCY_KEY])(post)
    if schema is not None:
        # A body whose fields are all optional (a note) may be left out.
        view = blp.arguments(schema, required=bool(required_fields(schema)))(view)
    return type(f"Incident{spec.name.title()}", (MethodView,),
                {"post": view, "decorators": [idempotent, authenticated]})


for _spec in lifecycle.commands():
    if _spec.endpoint:
        blp.route(f"/<int:incident_id>/{_spec.name}")(command_view(_spec))
