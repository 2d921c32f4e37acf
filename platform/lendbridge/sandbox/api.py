"""`/v1/test_clocks`: freeze time for test objects and advance it."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from lendbridge.clocks import TestClock
from lendbridge.core.clock import from_unix, to_unix
from lendbridge.events.schemas import EventSchema
from lendbridge.http.lifecycle import current_principal, get_uow, requires, services
from lendbridge.http.schemas import (
    ListArgsSchema,
    ObjectSchema,
    StrictSchema,
    UnixTime,
    list_body,
    list_of,
    page_request,
)
from lendbridge.payments.schemas import PaymentSchema
from lendbridge.risk.schemas import ReviewSchema
from lendbridge.sandbox import controls
from lendbridge.sandbox import services as clocks
from lendbridge.sandbox import tasks as _tasks  # noqa: F401  (registers the advance task)

blp = Blueprint("test_clocks", __name__, url_prefix="/v1", description="Sandbox test clocks")


class TestClockCreateSchema(StrictSchema):
    frozen_time = UnixTime(required=True, metadata={"description": "Unix seconds the clock starts at"})
    name = fields.String(validate=validate.Length(max=200), allow_none=True)


class TestClockAdvanceSchema(StrictSchema):
    frozen_time = UnixTime(required=True, metadata={"description": "Unix seconds to advance to"})


class TestClockSchema(ObjectSchema):
    name = fields.String(allow_none=True)
    frozen_time = fields.Integer()
    status = fields.String(metadata={"description": "ready, advancing, internal_failure or deleted"})
    deleted = fields.Boolean()


@blp.route("/test_clocks")
class TestClocks(MethodView):
    @requires("test_clocks:write")
    @blp.arguments(TestClockCreateSchema)
    @blp.response(200, TestClockSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Create a test clock frozen at a time (test mode only)"""
        return clocks.clock_body(
            clocks.create_test_clock(get_uow(), from_unix(args["frozen_time"]), args.get("name"))
        )

    @requires("test_clocks:write")
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, list_of(TestClockSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List test clocks"""
        uow = get_uow()
        clocks._require_test_mode(uow)
        page = uow.page(select(TestClock), TestClock, page_request(args))
        return list_body(
            page.__class__([clocks.clock_body(c) for c in page.data], page.has_more), "/v1/test_clocks"
        )


@blp.route("/test_clocks/<clock_id>")
class TestClockItem(MethodView):
    @requires("test_clocks:write")
    @blp.response(200, TestClockSchema)
    def get(self, clock_id: str) -> dict[str, Any]:
        """Retrieve a test clock"""
        return clocks.clock_body(clocks.get_test_clock(get_uow(), clock_id))

    @requires("test_clocks:write")
    @blp.response(200, TestClockSchema)
    def delete(self, clock_id: str) -> dict[str, Any]:
        """Delete a test clock"""
        return clocks.clock_body(clocks.delete_test_clock(get_uow(), clock_id))


@blp.route("/test_clocks/<clock_id>/advance")
class TestClockAdvance(MethodView):
    @requires("test_clocks:write")
    @blp.arguments(TestClockAdvanceSchema)
    @blp.response(200, TestClockSchema)
    def post(self, args: dict[str, Any], clock_id: str) -> dict[str, Any]:
        """Advance a test clock: status becomes `advancing`, then `ready` once every
        time-driven job (accrual, due dates, auto-debit, overdue, expiry) has run"""
        uow = get_uow()
        target = from_unix(args["frozen_time"])
        clock = clocks.start_advance(uow, clock_id, target)
        tenant_id = current_principal().tenant_id
        runner = services().tasks
        uow.after_commit(
            lambda: runner.enqueue("sandbox.advance_test_clock", tenant_id, clock.id, to_unix(target))
        )
        return clocks.clock_body(clock)


# -- simulator controls ---------------------------------------------------------------------
controls_blp = Blueprint(
    "sandbox", __name__, url_prefix="/v1/sandbox", description="Sandbox simulator controls"
)


class SimulatedChannelSchema(StrictSchema):
    object = fields.Constant("simulated_channel")
    name = fields.String()
    down = fields.Boolean()
    fault = fields.String(allow_none=True, metadata={"description": "The injected fault in force, if any"})
    latency_ms = fields.Float()
    error_rate = fields.Float()
    timeout_rate = fields.Float()
    ambiguous_rate = fields.Float()
    ambiguous_next = fields.Integer()
    records = fields.Integer(metadata={"description": "Instructions the channel has executed"})


class SimulatedCardSchema(StrictSchema):
    object = fields.Constant("simulated_card")
    last4 = fields.String()
    balance = fields.Integer(allow_none=True)


class SimulatedBureauSchema(StrictSchema):
    object = fields.Constant("simulated_bureau")
    latency_ms = fields.List(fields.Float())
    outage = fields.Boolean()
    error_rate = fields.Float()


class ChannelFailSchema(StrictSchema):
    seconds = fields.Float(required=True, validate=validate.Range(min=0.1, max=3600))
    mode = fields.String(load_default="unavailable", validate=validate.OneOf(controls.CHANNEL_FAULTS))


class ChannelAmbiguousSchema(StrictSchema):
    count = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))


class ChannelLatencySchema(StrictSchema):
    ms = fields.Float(required=True, validate=validate.Range(min=0, max=30_000))


class CardBalanceSchema(StrictSchema):
    bank_card = fields.String(required=True, validate=validate.Length(min=12, max=30))
    amount = fields.Integer(required=True, allow_none=True, strict=True, validate=validate.Range(min=0))


class BureauConfigSchema(StrictSchema):
    latency_ms = fields.List(fields.Float(), validate=validate.Length(equal=2))
    outage = fields.Boolean()
    error_rate = fields.Float(validate=validate.Range(min=0, max=1))


class ReviewDecisionSchema(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "decline"]))
    note = fields.String(validate=validate.Length(max=500), allow_none=True)


class TriggerEventSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.Length(max=60))


@controls_blp.route("/channels")
class SandboxChannels(MethodView):
    @requires("sandbox:write")
    @controls_blp.response(200, SimulatedChannelSchema(many=True))
    def get(self) -> Any:
        """The simulated payment channels and their injected faults"""
        return controls.channel_statuses(get_uow())


@controls_blp.route("/channels/<name>/fail")
class SandboxChannelFail(MethodView):
    @requires("sandbox:write")
    @controls_blp.arguments(ChannelFailSchema)
    @controls_blp.response(200, SimulatedChannelSchema)
    def post(self, args: dict[str, Any], name: str) -> Any:
        """Fail a channel for N seconds (unavailable, busy, timeout or down)"""
        return controls.fail_channel(get_uow(), name, args["seconds"], args["mode"])


@controls_blp.route("/channels/<name>/heal")
class SandboxChannelHeal(MethodView):
    @requires("sandbox:write")
    @controls_blp.response(200, SimulatedChannelSchema)
    def post(self, name: str) -> Any:
        """End a channel's injected fault now"""
        return controls.heal_channel(get_uow(), name)


@controls_blp.route("/channels/<name>/ambiguous")
class SandboxChannelAmbiguous(MethodView):
    @requires("sandbox:write")
    @controls_blp.arguments(ChannelAmbiguousSchema)
    @controls_blp.response(200, SimulatedChannelSchema)
    def post(self, args: dict[str, Any], name: str) -> Any:
        """The channel's next N submissions execute but their replies are lost"""
        return controls.ambiguous_next(get_uow(), name, args["count"])


@controls_blp.route("/channels/<name>/latency")
class SandboxChannelLatency(MethodView):
    @requires("sandbox:write")
    @controls_blp.arguments(ChannelLatencySchema)
    @controls_blp.response(200, SimulatedChannelSchema)
    def post(self, args: dict[str, Any], name: str) -> Any:
        """Set a channel's simulated latency"""
        return controls.set_channel_latency(get_uow(), name, args["ms"])


@controls_blp.route("/cards/balance")
class SandboxCardBalance(MethodView):
    @requires("sandbox:write")
    @controls_blp.arguments(CardBalanceSchema)
    @controls_blp.response(200, SimulatedCardSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Give a test card a balance for auto-debits (null: unlimited)"""
        return controls.set_card_balance(get_uow(), args["bank_card"], args["amount"])


@controls_blp.route("/bureau")
class SandboxBureau(MethodView):
    @requires("sandbox:write")
    @controls_blp.arguments(BureauConfigSchema)
    @controls_blp.response(200, SimulatedBureauSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Set the simulated credit bureau's latency, outage and error rate"""
        latency = args.get("latency_ms")
        return controls.configure_bureau(
            get_uow(),
            latency_ms=(latency[0], latency[1]) if latency else None,
            outage=args.get("outage"),
            error_rate=args.get("error_rate"),
        )


@controls_blp.route("/applications/<application_id>/review")
class SandboxReview(MethodView):
    @requires("sandbox:write")
    @controls_blp.arguments(ReviewDecisionSchema)
    @controls_blp.response(200, ReviewSchema)
    def post(self, args: dict[str, Any], application_id: str) -> Any:
        """Approve or decline a test application waiting for manual review"""
        return controls.settle_review(get_uow(), application_id, args["decision"], args.get("note"))


@controls_blp.route("/payments/<payment_id>/settle")
class SandboxSettlePayment(MethodView):
    @requires("sandbox:write")
    @controls_blp.response(200, PaymentSchema)
    def post(self, payment_id: str) -> Any:
        """Ask the channel for a processing or unknown test payment's outcome now"""
        return controls.settle_payment(get_uow(), payment_id)


@controls_blp.route("/events")
class SandboxTriggerEvent(MethodView):
    @requires("sandbox:write")
    @controls_blp.arguments(TriggerEventSchema)
    @controls_blp.response(200, EventSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Emit any event type of the catalogue with a synthetic object (webhook testing)"""
        return controls.trigger_event(get_uow(), args["type"])
