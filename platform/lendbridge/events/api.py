"""The events API: list and retrieve events of the last 30 days, resend one."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from lendbridge.core.pagination import Page
from lendbridge.events import services as events
from lendbridge.events.outbox import envelope
from lendbridge.events.schemas import EventListArgsSchema, EventResendSchema, EventSchema
from lendbridge.http.lifecycle import get_uow, requires
from lendbridge.http.schemas import list_body, list_of, page_request
from lendbridge.webhooks.schemas import WebhookDeliverySchema, delivery_body

blp = Blueprint("events", __name__, url_prefix="/v1", description="Events (30 days) and their redelivery")


@blp.route("/events")
class Events(MethodView):
    @requires("events:read")
    @blp.arguments(EventListArgsSchema, location="query")
    @blp.response(200, list_of(EventSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List events of the last 30 days, newest first"""
        page = events.list_events(get_uow(), page_request(args), **events.filters(args))
        return list_body(Page([envelope(e) for e in page.data], page.has_more), request.path)


@blp.route("/events/<event_id>")
class EventItem(MethodView):
    @requires("events:read")
    @blp.response(200, EventSchema)
    def get(self, event_id: str) -> dict[str, Any]:
        """Retrieve an event (kept for 30 days)"""
        return envelope(events.get_event(get_uow(), event_id))


@blp.route("/events/<event_id>/resend")
class EventResend(MethodView):
    @requires("events:write")
    @blp.arguments(EventResendSchema)
    @blp.response(200, list_of(WebhookDeliverySchema))
    def post(self, args: dict[str, Any], event_id: str) -> dict[str, Any]:
        """Deliver an event again, to one endpoint or to every enabled endpoint it matches.

        The message keeps its `webhook-id` (the event id), so receivers can deduplicate it.
        """
        deliveries = events.resend(get_uow(), event_id, args.get("endpoint"))
        data = [delivery_body(d) for d in deliveries]
        return {"object": "list", "data": data, "has_more": False, "url": request.path}
