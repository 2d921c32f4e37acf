"""Identity background tasks: liveness checks and business-licence OCR.

Both call outside parties or slow engines, so they run after the request committed and
keep no database transaction open while they wait (see services.run_*).
"""

from __future__ import annotations

from flask import current_app

from lendbridge.identity import services
from lendbridge.tasks import task


@task("identity.liveness_check")
def liveness_check(check_id: str, tenant_id: str, livemode: bool, capture_token: str | None = None) -> str:
    svc = current_app.extensions["lendbridge"]
    provider = current_app.extensions["identity"].liveness(livemode)
    return services.run_liveness_check(
        svc.db, svc.clock, provider, check_id, tenant_id, livemode, capture_token
    )


@task("identity.kyb_ocr")
def kyb_ocr(check_id: str, tenant_id: str, livemode: bool) -> str:
    svc = current_app.extensions["lendbridge"]
    return services.run_licence_ocr(svc.db, svc.clock, check_id, tenant_id, livemode)
