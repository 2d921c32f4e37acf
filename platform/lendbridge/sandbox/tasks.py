from __future__ import annotations

from flask import current_app

from lendbridge.core.clock import from_unix
from lendbridge.sandbox.services import run_advance
from lendbridge.tasks import task


@task("sandbox.advance_test_clock")
def advance_test_clock(tenant_id: str, clock_id: str, target_unix: int) -> None:
    svc = current_app.extensions["lendbridge"]
    run_advance(svc.db, tenant_id, clock_id, from_unix(target_unix), wall_clock=svc.clock)
