"""Test clocks: create, advance day by day running every registered daily job, delete."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from lendbridge.audit import service as audit
from lendbridge.clocks import DAILY_JOBS, DayContext, TestClock
from lendbridge.core.clock import (
    Clock,
    FrozenClock,
    SystemClock,
    business_date,
    start_of_business_day,
    to_unix,
)
from lendbridge.core.errors import Conflict, InvalidParameter, PermissionDenied
from lendbridge.core.ids import new_id
from lendbridge.db import Database, TenantContext
from lendbridge.events.outbox import emit
from lendbridge.uow import UnitOfWork

log = logging.getLogger("lendbridge.sandbox")

MAX_ADVANCE = timedelta(days=3 * 366)
# A daily job's "now": the middle of the business day in Asia/Shanghai, so that events and
# accruals carry a time that is unambiguously inside that date.
JOB_HOUR = timedelta(hours=12)


def clock_body(clock: TestClock) -> dict[str, Any]:
    return {
        "object": "test_clock",
        "id": clock.id,
        "created": to_unix(clock.created),
        "livemode": clock.livemode,
        "name": clock.name,
        "frozen_time": to_unix(clock.frozen_time),
        "status": clock.status,
        "deleted": clock.status == "deleted",
    }


def _require_test_mode(uow: UnitOfWork) -> None:
    if uow.ctx.livemode:
        raise PermissionDenied(
            "Test clocks exist only in test mode; use a sk_test_ key", code="test_mode_only"
        )


def create_test_clock(uow: UnitOfWork, frozen_time: datetime, name: str | None) -> TestClock:
    _require_test_mode(uow)
    clock = TestClock(
        id=new_id("clock"), name=name, frozen_time=frozen_time, status="ready", created=uow.now()
    )
    uow.session.add(clock)
    uow.session.flush()
    audit.record(uow.session, "test_clock.created", clock.id, {"frozen_time": to_unix(frozen_time)})
    return clock


def get_test_clock(uow: UnitOfWork, clock_id: str) -> TestClock:
    _require_test_mode(uow)
    return uow.get(TestClock, clock_id)


def start_advance(uow: UnitOfWork, clock_id: str, target: datetime) -> TestClock:
    """Mark the clock advancing; the caller enqueues `run_advance` after commit."""
    _require_test_mode(uow)
    clock = uow.get(TestClock, clock_id, for_update=True)
    if clock.status == "advancing":
        raise Conflict(
            "This test clock is already advancing; wait until its status is ready",
            code="test_clock_advancing",
        )
    if clock.status == "deleted":
        raise Conflict("This test clock was deleted", code="test_clock_deleted")
    if target <= clock.frozen_time:
        raise InvalidParameter(
            "frozen_time must be later than the clock's current frozen_time", param="frozen_time"
        )
    if target - clock.frozen_time > MAX_ADVANCE:
        raise InvalidParameter("a test clock advances at most three years at a time", param="frozen_time")
    clock.status = "advancing"
    audit.record(uow.session, "test_clock.advance", clock.id, {"to": to_unix(target)})
    emit(uow, "test_clock.advancing", clock_body(clock))
    return clock


def run_advance(
    db: Database, tenant_id: str, clock_id: str, target: datetime, wall_clock: Clock | None = None
) -> None:
    """Walk the clock forward one business day at a time, running every daily job for
    this clock's objects, then settle at `target` with status ready."""
    ctx = TenantContext(tenant_id, False)
    recorder = wall_clock or SystemClock()
    try:
        with UnitOfWork(db, ctx, actor="test_clock") as uow:
            start = uow.get(TestClock, clock_id).frozen_time
        day = business_date(start) + timedelta(days=1)
        last = business_date(target)
        while day <= last:
            now = min(start_of_business_day(day) + JOB_HOUR, target)
            # The clock shows the day before its jobs run, so objects reading their clock
            # (clock_for) see the same day the jobs process.
            with UnitOfWork(db, ctx, actor="test_clock") as uow:
                uow.get(TestClock, clock_id, for_update=True).frozen_time = now
                uow.commit()
            for job in DAILY_JOBS:
                job.run(
                    DayContext(
                        db=db,
                        business_date=day,
                        now=now,
                        test_clock_id=clock_id,
                        tenant_id=tenant_id,
                        wall_clock=recorder,
                    )
                )
            day += timedelta(days=1)
        with UnitOfWork(db, ctx, actor="test_clock", clock=FrozenClock(target), event_clock=recorder) as uow:
            clock = uow.get(TestClock, clock_id, for_update=True)
            clock.frozen_time = target
            clock.status = "ready"
            emit(uow, "test_clock.ready", clock_body(clock))
            uow.commit()
    except Exception:
        log.exception("advancing test clock %s failed", clock_id)
        with UnitOfWork(db, ctx, actor="test_clock") as uow:
            clock = uow.get(TestClock, clock_id, for_update=True)
            clock.status = "internal_failure"
            uow.commit()
        raise


def delete_test_clock(uow: UnitOfWork, clock_id: str) -> TestClock:
    clock = get_test_clock(uow, clock_id)
    if clock.status == "advancing":
        raise Conflict("A test clock cannot be deleted while it advances", code="test_clock_advancing")
    clock.status = "deleted"
    audit.record(uow.session, "test_clock.deleted", clock.id, {})
    return clock
