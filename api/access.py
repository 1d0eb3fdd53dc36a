"""What every endpoint needs: the caller, their visible incidents, ETags and If-Match,
and a write made again when it lost a race."""
from __future__ import annotations

import functools
import hashlib

from flask import Response, request, url_for
from flask_security import auth_required, current_user
from flask_smorest import abort
from sqlalchemy.orm import joinedload, undefer

from portal.auth.accounts import ensure_may_manage
from portal.auth.models import User
from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.access import visible_incidents
from portal.incidents.models import Incident
from portal.incidents.races import again_if_raced

#: Token (Bearer or Authentication-Token) or the portal's session; unauthenticated → 401.
authenticated = auth_required("token", "session")


def caller() -> User:
    return current_user._get_current_object()


def checked_first(check):
    """A view decorator that runs ``check(caller())`` (which raises to refuse, 403) before
    the body is read: the answer to someone who may not use an endpoint must not depend on
    what they sent. Goes after ``authenticated`` in a view's ``decorators`` (the later one
    runs first)."""
    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            check(caller())
            return view(*args, **kwargs)
        return guarded
    return decorate


#: Admins only, for account management.
account_managers_only = checked_first(ensure_may_manage)


#: Loader options are immutable: made once here, not for every request.
PEOPLE_AND_COUNTS = (joinedload(Incident.reporter), joinedload(Incident.technician),
                     undefer(Incident.attachments_all_count),
                     undefer(Incident.attachments_public_count))


def with_people(query):
    """Load reporter, technician and the attachment counts in the same statement (no
    query per row)."""
    return query.options(*PEOPLE_AND_COUNTS)


def visible_incident(incident_id: int) -> Incident:
    """The incident, if the caller may see it; 404 otherwise (it does not exist for them)."""
    incident = db.session.scalar(with_people(
        visible_incidents(caller()).where(Incident.id == incident_id)))
    if incident is None:
        abort(404, message=f"incident {incident_id} not found")
    return incident


def found(model, row_id: int, what: str):
    """The ``model`` row ``row_id``; a 404 naming ``what`` when there is none."""
    row = db.session.get(model, row_id)
    if row is None:
        abort(404, message=f"{what} {row_id} not found")
    return row


def user_by_id(user_id: int | None, field: str, *, allowed: bool = True) -> User | None:
    """The user with ``user_id`` (None stays None); 422 naming ``field`` when absent.

    ``allowed``: whether the caller may name a user in ``field`` at all. When not, the
    refusal (403) comes before the look-up, so it does not tell which ids exist.
    """
    if user_id is None:
        return None
    if not allowed:
        raise lifecycle.NotAllowed(f"{field}: your role may not name a user here",
                                   field=field)
    user = db.session.get(User, user_id)
    if user is None:
        abort(422, message=f"{field}: there is no user {user_id}",
              errors={"json": {field: [f"there is no user {user_id}"]}})
    return user


def etag_of(incident: Incident) -> str:
    """``<id>-<version>-<SLA state>``: the SLA clock stores a new state (warning, breached)
    without a new version (see ``portal.sla.escalation``), and a read must not answer 304
    over it. A write's ``If-Match`` is checked against the version alone."""
    return f"{incident.id}-{incident.version}-{incident.sla_state.value}"


def etag_headers(incident: Incident) -> dict[str, str]:
    return {"ETag": f'"{etag_of(incident)}"'}


def list_etag(incidents, total: int) -> str:
    """A list page's tag: the tags of the incidents on it (``etag_of``), and how many
    there are in all."""
    state = ",".join(etag_of(incident) for incident in incidents)
    return hashlib.sha256(f"{total}:{state}".encode()).hexdigest()[:32]


def not_modified(etag: str) -> Response | None:
    """Honour ``If-None-Match``: 304 (no body) when the client holds ``etag`` already."""
    if request.if_none_match and request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    return None


def retried_when_raced(view):
    """Run an API view again when its write lost an optimistic race, unless the request
    named the version it read (``If-Match``: then the loss is its 412; ``If-Match: *``
    names none); see ``portal.incidents.races``. Every API view has it, innermost
    (``api.pagination``'s ``Blueprint``), so a retry parses the request again and keeps
    its idempotency key."""
    @functools.wraps(view)
    def retried(*args, **kwargs):
        if request.if_match and not request.if_match.star_tag:
            return view(*args, **kwargs)
        return again_if_raced(lambda: view(*args, **kwargs))
    return retried


def check_if_match(incident: Incident) -> None:
    """Honour ``If-Match``: a stale tag is refused (412); no header, no check. Only the
    version counts: the clock moving the SLA state on changes no one's edit."""
    if not request.if_match or request.if_match.star_tag:
        return
    named = []
    for tag in request.if_match.as_set():
        number, _, rest = tag.partition("-")
        version = rest.partition("-")[0]
        if number == str(incident.id) and version.isdigit():
            named.append(int(version))
    if incident.version in named:
        return
    if named:
        lifecycle.check_version(incident, named[0])  # the refusal names both versions
    raise lifecycle.StaleIncident(
        f"If-Match does not name {incident.number}'s current version "
        f'(ETag "{etag_of(incident)}"): read it again')


#: The response components (``api.document`` declares the ones that carry headers).
_RESPONSE_NAMES = {304: "NOT_MODIFIED", 400: "BadRequest", 401: "Unauthorized", 403: "FORBIDDEN",
                   404: "NOT_FOUND", 409: "CONFLICT", 412: "PRECONDITION_FAILED",
                   422: "UNPROCESSABLE_ENTITY", 429: "TooManyRequests"}


def error_responses(blueprint):
    """A decorator factory documenting the error responses an endpoint can give."""
    def documented(*codes):
        def decorate(view):
            for code in codes:
                view = blueprint.alt_response(code, response=_RESPONSE_NAMES[code])(view)
            return view
        return decorate
    return documented


def operations(blueprint):
    """A decorator factory declaring an endpoint's answers in one place: its
    ``operationId``, its success (``status``, ``schema``, ``headers``, ``content_type``,
    ``description``), the error statuses it can give, and any further OpenAPI ``doc``."""
    documented_errors = error_responses(blueprint)

    def operation(operation_id: str, status: int, schema=None, *, errors: tuple[int, ...],
                  headers=None, content_type=None, description=None, **doc):
        def decorate(view):
            view = blueprint.doc(operationId=operation_id, **doc)(view)
            view = documented_errors(*errors)(view)
            return blueprint.response(status, schema, headers=headers,
                                      content_type=content_type,
                                      description=description)(view)
        return decorate
    return operation


def location_header(what: str) -> dict:
    """The documentation of a ``201``'s ``Location`` header: where ``what`` now lives."""
    return {"Location": {"description": what, "schema": {"type": "string"}}}


def location(endpoint: str, **values) -> dict[str, str]:
    """The ``Location`` header naming what ``endpoint`` serves at ``values``."""
    return {"Location": url_for(endpoint, **values, _external=True)}
