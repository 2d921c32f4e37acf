"""Webhook tasks: one attempt of a batch of deliveries, and the poller that queues due ones."""

from __future__ import annotations

from flask import current_app

from lendbridge.tasks import task
from lendbridge.webhooks import delivery
from lendbridge.webhooks.runtime import DELIVER_TASK, QUEUE_DUE_TASK, runtime


@task(DELIVER_TASK)
def deliver(delivery_ids: list[str], lease_token: str) -> None:
    svc = current_app.extensions["lendbridge"]
    delivery.deliver_batch(svc.db, svc.clock, runtime(), delivery_ids, lease_token)


@task(QUEUE_DUE_TASK, every=1.0)
def queue_due() -> None:
    svc = current_app.extensions["lendbridge"]
    due, token = delivery.queue_due(svc.db, svc.clock, runtime())
    for ids in due:
        svc.tasks.enqueue(DELIVER_TASK, ids, token)
