"""Risk background jobs."""

from __future__ import annotations

from flask import current_app

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
