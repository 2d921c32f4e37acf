"""Event retention: events and their delivery records are deleted once they are old.

`GET /v1/events` lists 30 days and replay reaches as far; delivery retries end after
about 3 days. An event older than the retention period (`LENDBRIDGE_EVENT_RETENTION_DAYS`,
default 90, at least 31) that was dispatched and has no delivery still pending is deleted
with its deliveries and their attempts. Age is read from the event id, which is made from
the wall clock when the event is recorded, so events of objects on a test clock age like
any other. Work goes in batches, one transaction each: a crash keeps what it had not
deleted yet and the next run carries on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select

from lendbridge.core.clock import Clock
from lendbridge.core.ids import PREFIXES, id_floor
from lendbridge.db import SYSTEM, Database
from lendbridge.events.models import Event
from lendbridge.uow import UnitOfWork
from lendbridge.webhooks.models import DeliveryAttempt, WebhookDelivery
from lendbridge.webhooks.services import PENDING

BATCH = 1000
_EVERYWHERE = {"all_tenants": True, "synchronize_session": False}


def purge(db: Database, clock: Clock, retention_days: int, batch: int = BATCH) -> int:
    """Delete expired events with their delivery records; returns how many events went."""
    cutoff: datetime = clock.now() - timedelta(days=retention_days)
    before = id_floor(PREFIXES["event"], int(cutoff.timestamp() * 1000))
    still_delivering = exists().where(WebhookDelivery.event_id == Event.id, WebhookDelivery.status == PENDING)
    total = 0
    while True:
        with UnitOfWork(db, SYSTEM, clock=clock, actor="retention") as uow:
            ids = list(
                uow.session.execute(
                    select(Event.id)
                    .where(Event.id < before, Event.dispatched_at.is_not(None), ~still_delivering)
                    .order_by(Event.id)
                    .limit(batch)
                    .execution_options(all_tenants=True)
                ).scalars()
            )
            if not ids:
                return total
            deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(ids))
            uow.session.execute(
                delete(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id.in_(deliveries))
                .execution_options(**_EVERYWHERE)
            )
            uow.session.execute(
                delete(WebhookDelivery)
                .where(WebhookDelivery.event_id.in_(ids))
                .execution_options(**_EVERYWHERE)
            )
            uow.session.execute(delete(Event).where(Event.id.in_(ids)).execution_options(**_EVERYWHERE))
            uow.commit()
        total += len(ids)
        if len(ids) < batch:
            return total
