"""Which clock an object lives by.

Live objects and test objects not attached to a test clock use the system clock. A test
object attached to a test clock (sandbox) lives at that clock's frozen time, so accrual,
due dates, overdue, expiry and events run as if that time had passed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.core.clock import Clock, FrozenClock
from lendbridge.db import Base, TenantScoped
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
