"""Loan background tasks: the close-of-business schedule.

`loans.cob_tick` runs every few minutes (inline scheduler in the embedded mode, Celery
beat in production) and closes every business date before today that is not closed yet;
it is cheap when there is nothing to do (one indexed read of `cob_runs`).
"""

from __future__ import annotations

from datetime import date

from flask import current_app

from lendbridge.core.clock import business_date
from lendbridge.loans import cob
from lendbridge.tasks import task

TICK_SECONDS = 300


@task("loans.cob_tick", every=TICK_SECONDS)
def cob_tick() -> None:
    svc = current_app.extensions["lendbridge"]
    cob.tick(svc.db, business_date(svc.clock.now()))


@task("loans.run_cob")
def run_cob(day: str, test_clock_id: str | None = None) -> None:
    cob.run_cob(current_app.extensions["lendbridge"].db, date.fromisoformat(day), test_clock_id=test_clock_id)
