"""The transactional outbox and its relay: no event without its change and no change without
its event; every committed event fanned out exactly once, even with lost wake-ups and
concurrent relays."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from lendbridge.clocks import TestClock
from lendbridge.db import TenantContext
from lendbridge.events import outbox
from lendbridge.events.models import Event
from lendbridge.uow import UnitOfWork
from lendbridge.webhooks.models import WebhookDelivery
from tests.factories.tenancy import auth, make_tenant
from tests.factories.webhooks import create_endpoint, emit, relay


def _count(app: Flask, model: type, *where: Any) -> int:
    with app.extensions["lendbridge"].db.reader() as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def _change_with_event(app: Flask, tenant_id: str, *, fail: bool) -> str:
    """A state change (a test clock row) and its event in one unit of work."""
    svc = app.extensions["lendbridge"]
    with UnitOfWork(svc.db, TenantContext(tenant_id, False), clock=svc.clock) as uow:
        clock = TestClock(id="clock_outbox1", frozen_time=uow.now(), created=uow.now(), status="ready")
        uow.session.add(clock)
        uow.session.flush()
        event = outbox.emit(uow, "test_clock.ready", {"object": "test_clock", "id": clock.id})
        uow.session.flush()
        if fail:
            raise RuntimeError("the use case failed after emitting")
        uow.commit()
        return event.id


def test_rolled_back_change_leaves_no_event_and_no_delivery(any_app: Flask) -> None:
    t = make_tenant(any_app)
    create_endpoint(any_app, t.test_key, "http://localhost:9/", ["*"])
    with pytest.raises(RuntimeError):
        _change_with_event(any_app, t.tenant_id, fail=True)
    assert relay(any_app) == []
    assert _count(any_app, Event) == 0 and _count(any_app, TestClock) == 0
    assert _count(any_app, WebhookDelivery) == 0


def test_committed_change_has_its_event_and_its_delivery(any_app: Flask) -> None:
    t = make_tenant(any_app)
    ep = create_endpoint(any_app, t.test_key, "http://localhost:9/", ["*"])
    event_id = _change_with_event(any_app, t.tenant_id, fail=False)
    assert _count(any_app, TestClock) == 1 and _count(any_app, Event, Event.id == event_id) == 1
    queued = relay(any_app)
    assert len(queued) == 1
    with any_app.extensions["lendbridge"].db.reader() as session:
        d = session.get(WebhookDelivery, queued[0][0])
        assert d is not None and (d.event_id, d.endpoint_id, d.reason) == (event_id, ep["id"], "event")
        assert d.lease_token == queued[0][1] and d.leased_until is not None
        assert session.get(Event, event_id).dispatched_at is not None


def test_event_only_of_a_failed_request_is_not_written(app: Flask) -> None:
    """An API request that errors after emitting rolls the event back with everything else."""
    t = make_tenant(app)
    resp = app.test_client().post(
        "/v1/webhook_endpoints", json={"url": "ftp://x/", "enabled_events": ["*"]}, headers=auth(t.test_key)
    )
    assert resp.status_code == 422
    assert _count(app, Event) == 0


def test_relay_fans_out_to_matching_enabled_endpoints_of_the_same_tenant_and_mode(any_app: Flask) -> None:
    a, b = make_tenant(any_app, name="A"), make_tenant(any_app, name="B")
    loans = create_endpoint(any_app, a.test_key, "http://localhost:9/1", ["loan.*"])
    star = create_endpoint(any_app, a.test_key, "http://localhost:9/2", ["*"])
    create_endpoint(any_app, a.test_key, "http://localhost:9/3", ["repayment.failed"])
    off = create_endpoint(any_app, a.test_key, "http://localhost:9/4", ["*"])
    gone = create_endpoint(any_app, a.test_key, "http://localhost:9/5", ["*"])
    client = any_app.test_client()
    client.post(f"/v1/webhook_endpoints/{off['id']}", json={"disabled": True}, headers=auth(a.test_key))
    client.delete(f"/v1/webhook_endpoints/{gone['id']}", headers=auth(a.test_key))
    create_endpoint(any_app, b.test_key, "http://localhost:9/b", ["*"])
    event = emit(any_app, a.tenant_id, "loan.disbursed")
    emit(any_app, a.tenant_id, "loan.disbursed", livemode=True)  # no live endpoint: no delivery
    relay(any_app)
    with any_app.extensions["lendbridge"].db.reader() as session:
        rows = session.execute(select(WebhookDelivery.endpoint_id, WebhookDelivery.event_id)).all()
    assert sorted(rows) == sorted([(loans["id"], event), (star["id"], event)])
    assert _count(any_app, Event, Event.dispatched_at.is_(None)) == 0


def test_lost_wake_up_is_covered_by_the_periodic_relay(app: Flask) -> None:
    """The producer committed but its process died before waking the relay: the periodic
    relay task finds the undispatched event."""
    t = make_tenant(app)
    create_endpoint(app, t.test_key, "http://localhost:9/", ["*"])
    event = emit(app, t.tenant_id, wake=False)
    assert _count(app, Event, Event.dispatched_at.is_(None)) == 1
    runner = app.extensions["lendbridge"].tasks
    runner.run_now("events.relay")
    assert _count(app, Event, Event.dispatched_at.is_(None)) == 0
    assert _count(app, WebhookDelivery, WebhookDelivery.event_id == event) == 1


def test_relay_is_idempotent(app: Flask) -> None:
    t = make_tenant(app)
    create_endpoint(app, t.test_key, "http://localhost:9/", ["*"])
    emit(app, t.tenant_id)
    assert len(relay(app)) == 1
    assert relay(app) == []
    assert _count(app, WebhookDelivery) == 1


def test_relay_works_in_batches_in_id_order(app: Flask) -> None:
    from lendbridge.events.relay import relay_batch
    from lendbridge.webhooks.runtime import runtime

    t = make_tenant(app)
    create_endpoint(app, t.test_key, "http://localhost:9/", ["*"])
    ids = [emit(app, t.tenant_id) for _ in range(5)]
    svc = app.extensions["lendbridge"]
    count, deliveries, _ = relay_batch(svc.db, svc.clock, runtime(app), batch=3)
    assert count == 3
    with svc.db.reader() as session:
        done = set(session.execute(select(Event.id).where(Event.dispatched_at.is_not(None))).scalars())
    assert done == set(ids[:3]) and [len(b) for b in deliveries] == [3]


def test_concurrent_relays_fan_out_each_event_exactly_once(pg_app: Flask) -> None:
    """Four relays at once on PostgreSQL (SKIP LOCKED): every event gets one delivery per endpoint."""
    from lendbridge.events.relay import drain
    from lendbridge.webhooks.runtime import runtime

    t = make_tenant(pg_app)
    create_endpoint(pg_app, t.test_key, "http://localhost:9/1", ["*"])
    create_endpoint(pg_app, t.test_key, "http://localhost:9/2", ["*"])
    events = [emit(pg_app, t.tenant_id) for _ in range(120)]
    svc = pg_app.extensions["lendbridge"]
    queued: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            drain(svc.db, svc.clock, runtime(pg_app), lambda ids, _t: _append(ids), batch=7)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def _append(ids: list[str]) -> None:
        with lock:
            queued.extend(ids)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(queued) == len(set(queued)) == 2 * len(events)
    with svc.db.reader() as session:
        pairs = session.execute(select(WebhookDelivery.event_id, WebhookDelivery.endpoint_id)).all()
    assert len(pairs) == len(set(pairs)) == 2 * len(events)
    assert {p[0] for p in pairs} == set(events)


def test_emitting_inside_a_request_context_wakes_the_relay(app: Flask) -> None:
    """The on-commit wake-up queues a relay run (inline runner) without any periodic job."""
    t = make_tenant(app)
    create_endpoint(app, t.test_key, "http://localhost:9/", ["*"])
    event = emit(app, t.tenant_id, wake=True)
    import time

    deadline = time.monotonic() + 10
    while (
        time.monotonic() < deadline and _count(app, WebhookDelivery, WebhookDelivery.event_id == event) == 0
    ):
        time.sleep(0.02)
    assert _count(app, WebhookDelivery, WebhookDelivery.event_id == event) == 1
