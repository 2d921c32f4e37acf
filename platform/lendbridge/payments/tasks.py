"""Payments tasks: execute an instruction, re-check open ones, daily auto-debit and reconciliation."""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app

from lendbridge.clocks import DayContext, daily_job
from lendbridge.core.clock import FrozenClock
from lendbridge.db import SYSTEM
from lendbridge.payments import services
from lendbridge.payments.runtime import PaymentsRuntime, runtime
from lendbridge.tasks import task
from lendbridge.uow import UnitOfWork


def _rt() -> PaymentsRuntime:
    return runtime(current_app._get_current_object())  # type: ignore[attr-defined]


@task("payments.execute")
def execute(payment_id: str, tenant_id: str | None = None, livemode: bool | None = None) -> None:
    services.execute_payment(payment_id, rt=_rt(), tenant_id=tenant_id, livemode=livemode)


@task("payments.resolve", every=5.0)
def resolve() -> None:
    services.resolve_open_payments(_rt())


@task("payments.auto_debit", every=3600.0)
def auto_debit(business_date: str | None = None) -> None:
    rt = _rt()
    with rt.new_uow() as uow:
        day = date.fromisoformat(business_date) if business_date else uow.today()
    services.run_auto_debits(rt.new_uow, day, rt=rt)


@task("payments.reconcile", every=86400.0)
def reconcile(business_date: str | None = None) -> None:
    """Reconcile a date (default yesterday). The scheduled run skips a date already done,
    so restarting a server does not stack reports; an explicit date always runs."""
    rt = _rt()
    with rt.new_uow() as uow:
        day = date.fromisoformat(business_date) if business_date else uow.today() - timedelta(days=1)
        done = services.has_report(uow, day)
    if business_date or not done:
        services.run_reconciliation(rt, day)


@daily_job("payments.auto_debit", order=10)
def auto_debit_for_clock(day: DayContext) -> None:
    """A test clock's day: debit what is due that day (before its close of business)."""
    services.run_auto_debits(
        lambda: UnitOfWork(
            day.db, SYSTEM, clock=FrozenClock(day.now), actor="auto_debit", event_clock=day.wall_clock
        ),
        day.business_date,
        test_clock_id=day.test_clock_id,
        rt=_rt(),
    )
