from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from lendbridge.http.schemas import ListArgsSchema, ObjectSchema, StrictSchema, UnixTime
from lendbridge.webhooks.models import DeliveryAttempt, PartnerNotification, WebhookDelivery, WebhookEndpoint
from lendbridge.webhooks.services import MAX_OVERLAP

_EVENTS_DOC = "Event types to send: names from the catalogue, families like `loan.*`, or `*`"


def _event_list(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=60)),
        validate=validate.Length(min=1, max=100),
        metadata={"description": _EVENTS_DOC},
        **kwargs,
    )


class WebhookEndpointCreateSchema(StrictSchema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2048),
        metadata={"description": "https URL (test mode also takes http, and localhost)"},
    )
    enabled_events = _event_list(required=True)
    description = fields.String(validate=validate.Length(max=500), allow_none=True)


class WebhookEndpointUpdateSchema(StrictSchema):
    url = fields.String(validate=validate.Length(min=1, max=2048))
    enabled_events = _event_list()
    description = fields.String(validate=validate.Length(max=500))
    disabled = fields.Boolean(metadata={"description": "true disables the endpoint, false re-enables it"})


class WebhookRotateSecretSchema(StrictSchema):
    expires_in = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=int(MAX_OVERLAP.total_seconds())),
        metadata={"description": "Seconds the old secret keeps signing too (default 86400; 0 drops it now)"},
    )


class WebhookReplaySchema(StrictSchema):
    since = UnixTime(required=True, metadata={"description": "Replay events created at or after this time"})
    until = UnixTime(metadata={"description": "... and at or before this time (default: now)"})


class DeliveryAttemptListArgsSchema(ListArgsSchema):
    event = fields.String(
        validate=validate.Length(min=1, max=60), metadata={"description": "Only this event"}
    )


class WebhookEndpointSchema(ObjectSchema):
    url = fields.String()
    description = fields.String(allow_none=True)
    enabled_events = fields.List(fields.String())
    status = fields.String(metadata={"description": "enabled or disabled"})
    disabled_reason = fields.String(
        allow_none=True,
        metadata={"description": "manual, gone (HTTP 410), failing (5 days of failures), deleted"},
    )
    secret = fields.String(
        allow_none=True,
        metadata={"description": "The signing secret (whsec_…). Present only when created or rotated"},
    )
    previous_secret_expires = UnixTime(
        allow_none=True, metadata={"description": "Until when the previous secret also signs deliveries"}
    )
    deleted = fields.Boolean(metadata={"description": "Present (true) on the answer to DELETE"})


class DeliveryAttemptSchema(ObjectSchema):
    endpoint = fields.String()
    event = fields.String()
    delivery = fields.String()
    attempt = fields.Integer(metadata={"description": "1 for the first attempt of a delivery"})
    status = fields.String(metadata={"description": "in_progress, succeeded or failed"})
    response_status = fields.Integer(allow_none=True)
    latency_ms = fields.Integer(allow_none=True)
    response_excerpt = fields.String(
        allow_none=True, metadata={"description": "First 500 bytes of the answer"}
    )
    error = fields.String(allow_none=True, metadata={"description": "Why there was no HTTP answer"})
    next_retry = UnixTime(allow_none=True, metadata={"description": "When the next attempt is due, if any"})


class WebhookDeliverySchema(ObjectSchema):
    event = fields.String()
    endpoint = fields.String()
    reason = fields.String(metadata={"description": "event, resend or replay"})
    status = fields.String(metadata={"description": "pending, delivered, failed or cancelled"})
    attempt_count = fields.Integer()
    next_attempt = UnixTime(allow_none=True)


class WebhookReplayResultSchema(ma.Schema):
    class Meta:
        ordered = True

    object = fields.Constant("webhook_replay", dump_only=True)
    endpoint = fields.String()
    livemode = fields.Boolean()
    since = UnixTime()
    until = UnixTime(allow_none=True)
    count = fields.Integer(metadata={"description": "Events queued for delivery"})


class PartnerNotificationSchema(ObjectSchema):
    kind = fields.String()
    to = fields.String(allow_none=True)
    subject = fields.String()
    body = fields.String(metadata={"description": "Plain text, Chinese then English"})
    related_object = fields.String(allow_none=True)


def endpoint_body(
    endpoint: WebhookEndpoint, secret: str | None = None, *, deleted: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "webhook_endpoint",
        "id": endpoint.id,
        "created": endpoint.created,
        "livemode": endpoint.livemode,
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": endpoint.enabled_events,
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason,
        "previous_secret_expires": endpoint.previous_secret_expires_at if endpoint.previous_secret else None,
    }
    if secret is not None:
        body["secret"] = secret
    if deleted:
        body["deleted"] = True
    return body


def attempt_body(a: DeliveryAttempt) -> dict[str, Any]:
    return {
        "object": "delivery_attempt",
        "id": a.id,
        "created": a.created,
        "livemode": a.livemode,
        "endpoint": a.endpoint_id,
        "event": a.event_id,
        "delivery": a.delivery_id,
        "attempt": a.attempt,
        "status": a.status,
        "response_status": a.response_status,
        "latency_ms": a.latency_ms,
        "response_excerpt": a.response_excerpt,
        "error": a.error,
        "next_retry": a.next_retry_at,
    }


def delivery_body(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "object": "webhook_delivery",
        "id": d.id,
        "created": d.created,
        "livemode": d.livemode,
        "event": d.event_id,
        "endpoint": d.endpoint_id,
        "reason": d.reason,
        "status": d.status,
        "attempt_count": d.attempt_count,
        "next_attempt": d.next_attempt_at,
    }


def notification_body(n: PartnerNotification) -> dict[str, Any]:
    return {
        "object": "notification",
        "id": n.id,
        "created": n.created,
        "livemode": n.livemode,
        "kind": n.kind,
        "to": n.to,
        "subject": n.subject,
        "body": n.body,
        "related_object": n.related_object,
    }
