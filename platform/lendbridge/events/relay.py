"""The outbox relay: hands committed events to webhook delivery.

It takes undispatched events in id order, a small batch per transaction (`FOR UPDATE SKIP
LOCKED` on PostgreSQL, so several relays share the work without waiting on each other;
SQLite has a single writer), creates one delivery per matching enabled endpoint, marks the
events dispatched and commits; only then are the deliveries queued. Fan-out and
`dispatched_at` commit together, so an event is fanned out exactly once, and an event whose
relay never ran (the process died right after the producer's commit) stays undispatched
until the next run: the periodic relay is the safety net for lost wake-ups.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update

from lendbridge.core.clock import Clock
from lendbridge.db import SYSTEM, Database
from lendbridge.events.models import Event
from lendbridge.uow import UnitOfWork
from lendbridge.webhooks import delivery
from lendbridge.webhooks import services as webhooks
from lendbridge.webhooks.runtime import WebhookRuntime

BATCH = 200


def relay_batch(
    db: Database, clock: Clock, rt: WebhookRuntime, batch: int = BATCH
) -> tuple[int, list[list[str]], str]:
    """Dispatch up to `batch` events. Returns (events dispatched, delivery batches to queue,
    their lease token)."""
    with UnitOfWork(db, SYSTEM, clock=clock) as uow:
        stmt = (
            select(Event.id, Event.tenant_id, Event.livemode, Event.type)
            .where(Event.dispatched_at.is_(None))
            .order_by(Event.id)
            .limit(batch)
        )
        if db.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        events = uow.session.execute(stmt.execution_options(all_tenants=True)).all()
        if not events:
            return 0, [], ""
        token = webhooks.new_lease_token()
        deliveries = delivery.batches(webhooks.fan_out(uow, events, lease=rt.lease, token=token))
        uow.session.execute(
            update(Event)
            .where(Event.id.in_([e.id for e in events]))
            .values(dispatched_at=uow.now())
            .execution_options(synchronize_session=False, all_tenants=True)
        )
        uow.commit()
    return len(events), deliveries, token


def drain(
    db: Database,
    clock: Clock,
    rt: WebhookRuntime,
    enqueue: Callable[[list[str], str], None],
    batch: int = BATCH,
) -> int:
    """Relay batches until none is left; queue each batch's deliveries after its commit
    (`enqueue(delivery ids, lease token)`). Returns the number of events dispatched."""
    total = 0
    while True:
        count, deliveries, token = relay_batch(db, clock, rt, batch)
        for ids in deliveries:
            enqueue(ids, token)
        total += count
        if count < batch:
            return total
