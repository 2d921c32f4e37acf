"""The relay task: woken after commits that emitted events, and periodic as a safety net."""

from __future__ import annotations

import logging

from flask import current_app

from lendbridge.events import relay as outbox_relay
from lendbridge.events import retention
from lendbridge.tasks import task
from lendbridge.webhooks.runtime import DELIVER_TASK, RELAY_TASK, runtime

log = logging.getLogger("lendbridge.events")


@task(RELAY_TASK, every=2.0)
def relay() -> None:
    svc = current_app.extensions["lendbridge"]
    rt = runtime()
    try:
        rt.waker.disarm()  # before reading: a commit from now on wakes another run
    except Exception:
        log.warning("could not reset the relay wake-up flag; relaying anyway")
    outbox_relay.drain(svc.db, svc.clock, rt, lambda d, t: svc.tasks.enqueue(DELIVER_TASK, d, t))


@task("events.purge", every=3600.0)
def purge() -> None:
    """Hourly: delete events (and their delivery records) past the retention period."""
    svc = current_app.extensions["lendbridge"]
    deleted = retention.purge(svc.db, svc.clock, svc.settings.event_retention_days)
    if deleted:
        log.info("deleted %d events past the %d-day retention", deleted, svc.settings.event_retention_days)
