"""`/v1/test_clocks`: freeze time for test objects and advance it."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from lendbridge.clocks import TestClock
from lendbridge.core.clock import from_unix, to_unix
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
