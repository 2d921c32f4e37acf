"""Risk background jobs."""

from __future__ import annotations

from flask import current_app

from lendbridge.clocks import DayContext, daily_job
from lendbridge.core.clock import FrozenClock
from lendbridge.risk import services
from lendbridge.tasks import task
from lendbridge.uow import UnitOfWork


@task("risk.expire_offers", every=300)
def expire_offers() -> int:
    """Expire approved applications whose offers ran out (emits application.expired)."""
    svc = current_app.extensions["lendbridge"]
    with UnitOfWork(svc.db, clock=svc.clock, actor="risk.expire_offers") as uow:
        count = services.expire_offers(uow)
        uow.commit()
    return count


@daily_job("risk.expire_offers", order=30)
def expire_offers_for_clock(day: DayContext) -> None:
    """A test clock's day: expire that clock's offers by the clock's time."""
    with UnitOfWork(
        day.db, clock=FrozenClock(day.now), actor="risk.expire_offers", event_clock=day.wall_clock
    ) as uow:
        services.expire_offers(uow, test_clock_id=day.test_clock_id)
        uow.commit()
