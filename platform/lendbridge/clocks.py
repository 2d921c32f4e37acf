"""Which clock an object lives by, and the jobs that make time pass.

Live objects and test objects not attached to a test clock use the system clock. A test
object attached to a test clock (sandbox) lives at that clock's frozen time, so accrual,
due dates, overdue, expiry and events run as if that time had passed.

Areas register their time-driven jobs here (close of business, auto-debit, offer expiry,
...). Advancing a test clock runs them day by day for that clock's objects only; each
area's own periodic task runs the same job functions for everything on the system clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.core.clock import Clock, FrozenClock, SystemClock
from lendbridge.db import Base, Database, TenantScoped
from lendbridge.uow import UnitOfWork


class TestClock(TenantScoped, Base):
    """A sandbox clock (test mode only)."""

    __tablename__ = "test_clocks"
    __object_name__ = "test clock"
    __test__ = False  # not a pytest test class

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    frozen_time: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="ready")
    created: Mapped[datetime]


def clock_for(uow: UnitOfWork, test_clock_id: str | None) -> Clock:
    """The clock of an object attached to `test_clock_id` (None: the unit of work's clock)."""
    if test_clock_id is None:
        return uow.clock
    cache: dict[str, Clock] = uow.session.info.setdefault("test_clocks", {})
    if test_clock_id not in cache:
        clock = uow.get(TestClock, test_clock_id)
        cache[test_clock_id] = FrozenClock(clock.frozen_time)
    return cache[test_clock_id]


@dataclass(frozen=True)
class DayContext:
    """What a time-driven job gets: the database, the business date to process, the
    instant to use as 'now', and the test clock it runs for (None: everything else)."""

    db: Database
    business_date: date
    now: datetime
    test_clock_id: str | None
    tenant_id: str | None = None
    wall_clock: Clock = field(default_factory=SystemClock)


DailyJob = Callable[[DayContext], object]


@dataclass(frozen=True)
class RegisteredJob:
    order: int
    name: str
    run: DailyJob


DAILY_JOBS: list[RegisteredJob] = []


def daily_job(name: str, order: int) -> Callable[[DailyJob], DailyJob]:
    """Register a job run once per business date (lower `order` runs first)."""

    def decorate(fn: DailyJob) -> DailyJob:
        if not any(j.name == name for j in DAILY_JOBS):
            DAILY_JOBS.append(RegisteredJob(order, name, fn))
            DAILY_JOBS.sort(key=lambda j: (j.order, j.name))
        return fn

    return decorate
