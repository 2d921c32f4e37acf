"""Event retention: old events go with their deliveries and attempts; nothing still in
flight (undispatched, or a delivery still retrying) and nothing recent is touched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from lendbridge.core.clock import FrozenClock
from lendbridge.events import retention
from lendbridge.events.models import Event
from lendbridge.webhooks.models import DeliveryAttempt, WebhookDelivery
from tests.factories.tenancy import auth, make_tenant
from tests.factories.webhooks import Receiver, create_endpoint, emit, step


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def _rows(app: Flask) -> tuple[set[str], dict[str, str], set[str]]:
    """(event ids, delivery id -> event id, event ids that have attempts)."""
    with app.extensions["lendbridge"].db.reader() as session:
        events = set(session.execute(select(Event.id)).scalars())
        deliveries = {d: e for d, e in session.execute(select(WebhookDelivery.id, WebhookDelivery.event_id))}
        attempted = set(session.execute(select(DeliveryAttempt.event_id)).scalars())
    return events, deliveries, attempted


def test_purge_deletes_only_finished_events_past_retention(any_app: Flask, receiver: Receiver) -> None:
    listening, broken, silent = (
        make_tenant(any_app, name="L"),
        make_tenant(any_app, name="B"),
        make_tenant(any_app),
    )
    receiver.secrets = [create_endpoint(any_app, listening.test_key, receiver.url())["secret"]]
    create_endpoint(any_app, broken.test_key, "http://127.0.0.1:9/hooks")  # refuses: retried for days
    delivered = emit(any_app, listening.tenant_id)
    retrying = emit(any_app, broken.tenant_id)
    unheard = emit(any_app, silent.tenant_id)  # no endpoint: dispatched, no delivery
    step(any_app)
    undispatched = emit(any_app, listening.tenant_id)  # the relay has not seen it yet
    events, deliveries, attempted = _rows(any_app)
    assert {delivered, retrying} <= attempted and set(deliveries.values()) == {delivered, retrying}
    assert unheard in events

    db, now = any_app.extensions["lendbridge"].db, datetime.now(UTC)
    assert retention.purge(db, FrozenClock(now + timedelta(days=89)), 90) == 0
    assert _rows(any_app)[0] == events

    assert retention.purge(db, FrozenClock(now + timedelta(days=91)), 90, batch=1) == 2
    left, left_deliveries, left_attempted = _rows(any_app)
    assert left == {retrying, undispatched} and unheard not in left
    assert set(left_deliveries.values()) == {retrying} and left_attempted == {retrying}
    resp = any_app.test_client().get(f"/v1/events/{delivered}", headers=auth(listening.test_key))
    assert resp.status_code == 404
    assert retention.purge(db, FrozenClock(now + timedelta(days=91)), 90) == 0  # a rerun finds nothing
