"""Webhook endpoints (with secret rotation, attempts and replay) and partner notifications."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from lendbridge.core.clock import from_unix
from lendbridge.core.pagination import Page
from lendbridge.http.lifecycle import get_uow, requires
from lendbridge.http.schemas import ListArgsSchema, list_body, list_of, page_request
from lendbridge.webhooks import services as webhooks
from lendbridge.webhooks.runtime import runtime
from lendbridge.webhooks.schemas import (
    DeliveryAttemptListArgsSchema,
    DeliveryAttemptSchema,
    PartnerNotificationSchema,
    WebhookEndpointCreateSchema,
    WebhookEndpointSchema,
    WebhookEndpointUpdateSchema,
    WebhookReplayResultSchema,
    WebhookReplaySchema,
    WebhookRotateSecretSchema,
    attempt_body,
    endpoint_body,
    notification_body,
)

blp = Blueprint(
    "webhook_endpoints",
    __name__,
    url_prefix="/v1",
    description="Webhook endpoints, delivery attempts, notices",
)


def _page(page: Page[Any], body: Any) -> dict[str, Any]:
    return list_body(Page([body(x) for x in page.data], page.has_more), request.path)


@blp.route("/webhook_endpoints")
class Endpoints(MethodView):
    @requires("webhooks:write")
    @blp.arguments(WebhookEndpointCreateSchema)
    @blp.response(201, WebhookEndpointSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Register an endpoint; the answer carries its signing secret, shown only this once"""
        issued = webhooks.create_endpoint(
            get_uow(), runtime(), args["url"], args["enabled_events"], args.get("description")
        )
        return endpoint_body(issued.endpoint, issued.secret)

    @requires("webhooks:read")
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, list_of(WebhookEndpointSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List endpoints, newest first"""
        return _page(webhooks.list_endpoints(get_uow(), page_request(args)), endpoint_body)


@blp.route("/webhook_endpoints/<endpoint_id>")
class EndpointItem(MethodView):
    @requires("webhooks:read")
    @blp.response(200, WebhookEndpointSchema)
    def get(self, endpoint_id: str) -> dict[str, Any]:
        """Retrieve an endpoint (without its secret)"""
        return endpoint_body(webhooks.get_endpoint(get_uow(), endpoint_id))

    @requires("webhooks:write")
    @blp.arguments(WebhookEndpointUpdateSchema)
    @blp.response(200, WebhookEndpointSchema)
    def post(self, args: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
        """Change an endpoint's URL, events or description, or disable / re-enable it"""
        return endpoint_body(webhooks.update_endpoint(get_uow(), runtime(), endpoint_id, **args))

    @requires("webhooks:write")
    @blp.response(200, WebhookEndpointSchema)
    def delete(self, endpoint_id: str) -> dict[str, Any]:
        """Delete an endpoint: nothing more is sent to it"""
        return endpoint_body(webhooks.delete_endpoint(get_uow(), endpoint_id), deleted=True)


@blp.route("/webhook_endpoints/<endpoint_id>/rotate_secret")
class RotateSecret(MethodView):
    @requires("webhooks:write")
    @blp.arguments(WebhookRotateSecretSchema)
    @blp.response(200, WebhookEndpointSchema)
    def post(self, args: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
        """Issue a new signing secret (shown once). Until `expires_in` seconds have passed,
        deliveries carry a signature with the old secret too (space-separated)."""
        issued = webhooks.rotate_secret(get_uow(), runtime(), endpoint_id, args.get("expires_in"))
        return endpoint_body(issued.endpoint, issued.secret)


@blp.route("/webhook_endpoints/<endpoint_id>/attempts")
class Attempts(MethodView):
    @requires("webhooks:read")
    @blp.arguments(DeliveryAttemptListArgsSchema, location="query")
    @blp.response(200, list_of(DeliveryAttemptSchema))
    def get(self, args: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
        """Delivery attempts to this endpoint, newest first: status code, latency, answer excerpt"""
        page = webhooks.list_attempts(get_uow(), endpoint_id, page_request(args), args.get("event"))
        return _page(page, attempt_body)


@blp.route("/webhook_endpoints/<endpoint_id>/replay")
class Replay(MethodView):
    @requires("events:write")
    @blp.arguments(WebhookReplaySchema)
    @blp.response(200, WebhookReplayResultSchema)
    def post(self, args: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
        """Deliver again every event of this endpoint's types created since `since` (30 days at most)"""
        until = from_unix(args["until"]) if args.get("until") is not None else None
        done = webhooks.replay(get_uow(), endpoint_id, from_unix(args["since"]), until)
        return {
            "endpoint": done.endpoint.id,
            "livemode": done.endpoint.livemode,
            "since": done.since,
            "until": done.until,
            "count": done.count,
        }


@blp.route("/notifications")
class Notifications(MethodView):
    @requires("account:read")
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, list_of(PartnerNotificationSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Notices sent to this account (e.g. a webhook endpoint was disabled), newest first"""
        return _page(webhooks.list_notifications(get_uow(), page_request(args)), notification_body)
