"""``/api/v1/webhooks``: admins register endpoints, rotate their secrets, send test
events, read the delivery log and send a delivery again. Every change goes through
``portal.webhooks.service``, as the portal's pages do; personal tokens need the admin scope
(``users:admin``).
"""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from api.access import (authenticated, caller, checked_first, found, location,
                        location_header, operations)
from api.pagination import PAGINATION_HEADERS, Blueprint, one_page
from api.schemas import Revealed, ServerSent, StrictBoolean, UTCDateTime
from portal.extensions import db
from portal.outbox import OutboxStatus
from portal.webhooks import service
from portal.webhooks.events import EVENT_TYPES, TEST
from portal.webhooks.models import (DESCRIPTION_MAX, URL_MAX, WebhookDelivery,
                                    WebhookEndpoint)

URL_PREFIX = "/webhooks"
blp = Blueprint("webhooks", __name__, description="Webhooks: incident events pushed to "
                                                  "other systems (admins)")
operation = operations(blp)

EVENT_TYPE = fields.String(validate=validate.OneOf(EVENT_TYPES),
                           metadata={"enum": list(EVENT_TYPES)})
SECRET = fields.String(dump_only=True, metadata={
    "description": "The signing secret (`whsec_…`), shown this once: give it to the "
                   "receiver, which verifies `webhook-signature` with it"})
#: Admins only, refused before the body is read.
admins_only = checked_first(service.ensure_admin)


class WebhookEndpointSchema(ServerSent, Schema):
    """A registered endpoint (never its secret)."""

    openapi_example = {"id": 2, "url": "https://hooks.example.com/incidents",
                       "description": "Chat room", "events": ["incident.created",
                                                              "incident.resolved"],
                       "active": True, "internal": False,
                       "created_at": "2026-12-02T09:00:00Z", "failing_since": None,
                       "disabled_at": None, "disabled_reason": None,
                       "secret_rotated_until": None}

    id = fields.Integer(dump_only=True)
    url = fields.String(dump_only=True)
    description = fields.String(dump_only=True)
    events = fields.List(EVENT_TYPE, dump_only=True)
    active = fields.Boolean(dump_only=True)
    internal = fields.Boolean(dump_only=True, metadata={
        "description": "Also internal comments (and internal attachments in counts)"})
    created_at = UTCDateTime(dump_only=True)
    failing_since = UTCDateTime(dump_only=True, allow_none=True, metadata={
        "description": "Since when every delivery failed; a day of it switches it off"})
    disabled_at = UTCDateTime(dump_only=True, allow_none=True)
    disabled_reason = fields.String(dump_only=True, allow_none=True)
    secret_rotated_until = UTCDateTime(
        attribute="previous_secret_until", dump_only=True, allow_none=True,
        metadata={"description": "Until then deliveries are signed with the previous "
                                 "secret too"})


class NewSecretSchema(WebhookEndpointSchema):
    """An endpoint just made, or its secret just rotated: the only answers with a secret."""

    openapi_example = {**WebhookEndpointSchema.openapi_example,
                       "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}

    secret = SECRET


class WebhookCreateSchema(Schema):
    """A new endpoint: where, and which events."""

    openapi_example = {"url": "https://hooks.example.com/incidents",
                       "events": ["incident.created", "incident.resolved"],
                       "description": "Chat room"}

    url = fields.String(required=True, validate=validate.Length(min=1, max=URL_MAX),
                        metadata={"format": "uri"})
    events = fields.List(EVENT_TYPE, required=True,
                         validate=validate.Length(min=1, max=len(EVENT_TYPES)))
    description = fields.String(load_default="",
                                validate=validate.Length(max=DESCRIPTION_MAX))
    active = StrictBoolean(load_default=True)
    internal = StrictBoolean(load_default=False)


class WebhookPatchSchema(Schema):
    """Any of the endpoint's settings; switching it on again clears why it was off."""

    openapi_example = {"active": True}

    url = fields.String(validate=validate.Length(min=1, max=URL_MAX),
                        metadata={"format": "uri"})
    events = fields.List(EVENT_TYPE, validate=validate.Length(min=1, max=len(EVENT_TYPES)))
    description = fields.String(validate=validate.Length(max=DESCRIPTION_MAX))
    active = StrictBoolean()
    internal = StrictBoolean()


class DeliverySchema(ServerSent, Schema):
    """One event for one endpoint, and how sending it went."""

    openapi_example = {"id": 31, "event_type": "incident.resolved",
                       "event_id": "evt_4f1c2e0b9d8a4e6f8a1b2c3d4e5f6a7b",
                       "webhook_id": "msg_7e2d1c0b9a8f4e3d2c1b0a9f8e7d6c5b",
                       "incident_id": 42, "status": "sent", "attempts": 1,
                       "created_at": "2026-12-02T10:00:00Z",
                       "attempted_at": "2026-12-02T10:00:01Z",
                       "next_attempt_at": "2026-12-02T10:00:00Z",
                       "response_status": 200, "response_body": "ok", "duration_ms": 84,
                       "last_error": None}

    id = fields.Integer(dump_only=True)
    event_type = fields.String(dump_only=True, metadata={"enum": [*EVENT_TYPES, TEST]})
    event_id = fields.String(dump_only=True, metadata={
        "description": "The same in every endpoint's copy of the event"})
    webhook_id = fields.String(dump_only=True, metadata={
        "description": "The `webhook-id` header: the same on every attempt"})
    incident_id = fields.Integer(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True, metadata={
        "enum": [status.value for status in OutboxStatus]})
    attempts = fields.Integer(dump_only=True)
    created_at = UTCDateTime(dump_only=True)
    attempted_at = UTCDateTime(dump_only=True, allow_none=True)
    next_attempt_at = UTCDateTime(dump_only=True)
    response_status = fields.Integer(dump_only=True, allow_none=True)
    response_body = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "The first KB of the receiver's answer"})
    duration_ms = fields.Integer(dump_only=True, allow_none=True)
    last_error = fields.String(dump_only=True, allow_none=True)


def _endpoint(webhook_id: int) -> WebhookEndpoint:
    return found(WebhookEndpoint, webhook_id, "webhook endpoint")


@blp.route("")
class Webhooks(MethodView):
    decorators = [admins_only, authenticated]

    @operation("listWebhooks", 200, WebhookEndpointSchema(many=True), errors=(401, 403, 422),
               headers=PAGINATION_HEADERS)
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, pagination_parameters):
        """List webhook endpoints (admins)

        Oldest first; pagination is in the `X-Pagination` header.
        """
        return one_page(select(WebhookEndpoint), pagination_parameters, WebhookEndpoint.id)

    @blp.arguments(WebhookCreateSchema)
    @operation("createWebhook", 201, NewSecretSchema, errors=(401, 403, 422),
               headers=location_header("The endpoint"))
    def post(self, data):
        """Register a webhook endpoint (admins)

        The answer's `secret` is shown this once. Deliveries are signed by the Standard
        Webhooks specification; the URL may not be a loopback, link-local, metadata or
        (unless `WEBHOOK_ALLOW_PRIVATE=1`) private address.
        """
        endpoint, secret = service.create(caller(), **data)
        db.session.commit()
        return Revealed(endpoint, secret=secret), 201, location("webhooks.WebhookById",
                                                                webhook_id=endpoint.id)


@blp.route("/<int:webhook_id>")
class WebhookById(MethodView):
    decorators = [admins_only, authenticated]

    @operation("getWebhook", 200, WebhookEndpointSchema, errors=(401, 403, 404))
    def get(self, webhook_id):
        """Read a webhook endpoint (admins)

        Its settings and whether it was switched off for failing (never its secret).
        """
        return _endpoint(webhook_id)

    @blp.arguments(WebhookPatchSchema)
    @operation("updateWebhook", 200, WebhookEndpointSchema, errors=(401, 403, 404, 422))
    def patch(self, data, webhook_id):
        """Change a webhook endpoint (admins)

        Send `active: true` to switch on an endpoint that was switched off for failing:
        its waiting deliveries then go.
        """
        endpoint = service.update(caller(), _endpoint(webhook_id), **data)
        db.session.commit()
        return endpoint

    @operation("deleteWebhook", 204, errors=(401, 403, 404))
    def delete(self, webhook_id):
        """Remove a webhook endpoint (admins)

        Its delivery log goes with it; nothing more is sent to it.
        """
        service.delete(caller(), _endpoint(webhook_id))
        db.session.commit()
        return None


@blp.route("/<int:webhook_id>/rotate-secret")
class RotateSecret(MethodView):
    decorators = [admins_only, authenticated]

    @operation("rotateWebhookSecret", 200, NewSecretSchema, errors=(401, 403, 404))
    def post(self, webhook_id):
        """Make a new signing secret (admins)

        The answer's `secret` is shown this once. For 24 hours deliveries carry two
        signatures, one under each secret, so the receiver can switch without losing any.
        """
        endpoint = _endpoint(webhook_id)
        secret = service.rotate_secret(caller(), endpoint)
        db.session.commit()
        return Revealed(endpoint, secret=secret)


@blp.route("/<int:webhook_id>/test")
class SendTest(MethodView):
    decorators = [admins_only, authenticated]

    @operation("sendWebhookTest", 202, DeliverySchema, errors=(401, 403, 404, 422))
    def post(self, webhook_id):
        """Send a test event (admins)

        Queues a `webhook.test` event, delivered like the real ones; read the delivery
        log for how it went.
        """
        delivery = service.send_test(caller(), _endpoint(webhook_id))
        db.session.commit()
        return delivery


class DeliveryQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in OutboxStatus]),
                           metadata={"description": "Only deliveries in this state"})


@blp.route("/<int:webhook_id>/deliveries")
class Deliveries(MethodView):
    decorators = [admins_only, authenticated]

    @blp.arguments(DeliveryQuerySchema, location="query")
    @operation("listWebhookDeliveries", 200, DeliverySchema(many=True),
               errors=(401, 403, 404, 422), headers=PAGINATION_HEADERS)
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, query, pagination_parameters, webhook_id):
        """The delivery log of an endpoint (admins)

        Newest first: each event, its attempts, the receiver's status code, the first KB
        of its answer and how long it took.
        """
        endpoint = _endpoint(webhook_id)
        rows = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        if "status" in query:
            rows = rows.where(WebhookDelivery.status == query["status"])
        return one_page(rows, pagination_parameters, WebhookDelivery.id.desc())


@blp.route("/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
class Redeliver(MethodView):
    decorators = [admins_only, authenticated]

    @operation("redeliverWebhook", 202, DeliverySchema, errors=(401, 403, 404, 422))
    def post(self, webhook_id, delivery_id):
        """Send a delivery again (admins)

        The same body and `webhook-id` (a receiver that had it drops the copy), with a
        fresh day of retries.
        """
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.endpoint_id != _endpoint(webhook_id).id:
            abort(404, message=f"delivery {delivery_id} not found")
        service.redeliver(caller(), delivery)
        db.session.commit()
        return delivery
