"""Loan background tasks: the close-of-business schedule.

`loans.cob_tick` runs every few minutes (inline scheduler in the embedded mode, Celery
beat in production) and closes every business date before today that is not closed yet;
it is cheap when there is nothing to do (one indexed read of `cob_runs`).
"""

from __future__ import annotations

from datetime import date

from flask import current_app

from lendbridge.clocks import DayContext, daily_job
from lendbridge.core.clock import FrozenClock, business_date
from lendbridge.db import SYSTEM
from lendbridge.loans import cob
from lendbridge.tasks import task
from lendbridge.uow import UnitOfWork

TICK_SECONDS = 300


@task("loans.cob_tick", every=TICK_SECONDS)
def cob_tick() -> None:
    svc = current_app.extensions["lendbridge"]
    cob.tick(svc.db, business_date(svc.clock.now()))


@task("loans.run_cob")
def run_cob(day: str, test_clock_id: str | None = None) -> None:
    cob.run_cob(current_app.extensions["lendbridge"].db, date.fromisoformat(day), test_clock_id=test_clock_id)


@daily_job("loans.cob", order=20)
def close_business_day(day: DayContext) -> None:
    """A test clock's day: close of business for that clock's loans, at the day's time."""
    cob.run_cob(
        lambda: UnitOfWork(
            day.db, SYSTEM, clock=FrozenClock(day.now), actor="cob", event_clock=day.wall_clock
        ),
        day.business_date,
        test_clock_id=day.test_clock_id,
    )
