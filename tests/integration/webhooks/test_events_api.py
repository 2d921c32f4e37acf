"""The events API: list (30 days, filters, cursors), retrieve, resend; 404 across tenants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from lendbridge.core.clock import FrozenClock
from lendbridge.core.clock import to_unix as unix
from tests.factories.tenancy import auth, make_tenant
from tests.factories.webhooks import create_endpoint, emit, relay
from tests.integration.foundation.test_api_conventions import assert_problem


def _ids(app: Flask, key: str, query: str = "") -> list[str]:
    resp = app.test_client().get(f"/v1/events{query}", headers=auth(key))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [e["id"] for e in resp.get_json()["data"]]


def test_list_and_retrieve_events_as_envelopes(any_app: Flask) -> None:
    t = make_tenant(any_app)
    first = emit(
        any_app, t.tenant_id, "loan.disbursed", {"object": "loan", "id": "loan_1", "amount": 1_000_00}
    )
    second = emit(any_app, t.tenant_id, "repayment.succeeded", {"object": "repayment", "id": "rpy_1"})
    assert _ids(any_app, t.test_key) == [second, first]
    got = any_app.test_client().get(f"/v1/events/{first}", headers=auth(t.test_key)).get_json()
    assert got["object"] == "event" and got["type"] == "loan.disbursed" and got["livemode"] is False
    assert got["data"] == {"object": {"object": "loan", "id": "loan_1", "amount": 100000}}
    assert isinstance(got["created"], int) and got["api_version"]


def test_type_filter_takes_exact_names_and_families(app: Flask) -> None:
    t = make_tenant(app)
    disbursed = emit(app, t.tenant_id, "loan.disbursed")
    paid = emit(app, t.tenant_id, "loan.paid_off")
    drawn = emit(app, t.tenant_id, "credit_line.drawn")
    repaid = emit(app, t.tenant_id, "credit_line.repaid")
    assert _ids(app, t.test_key, "?type=loan.disbursed") == [disbursed]
    assert _ids(app, t.test_key, "?type=loan.*") == [paid, disbursed]
    assert _ids(app, t.test_key, "?type=credit_line.*") == [repaid, drawn]
    assert _ids(app, t.test_key, "?type=*") == [repaid, drawn, paid, disbursed]
    problem = assert_problem(
        app.test_client().get("/v1/events?type=loan.nope", headers=auth(t.test_key)), 422
    )
    assert problem["param"] == "type"


def test_created_filters_and_the_30_day_window(settings: object) -> None:
    from lendbridge.app import create_app

    clock = FrozenClock(datetime(2026, 11, 1, 12, tzinfo=UTC))
    app = create_app(settings, clock=clock)  # type: ignore[arg-type]
    t = make_tenant(app)
    old = emit(app, t.tenant_id)
    clock.advance(timedelta(days=10))
    middle = emit(app, t.tenant_id)
    clock.advance(timedelta(days=10))
    recent = emit(app, t.tenant_id)
    t_middle = unix(clock.now() - timedelta(days=10))
    assert _ids(app, t.test_key) == [recent, middle, old]
    assert _ids(app, t.test_key, f"?created[gte]={t_middle}") == [recent, middle]
    assert _ids(app, t.test_key, f"?created[gt]={t_middle}") == [recent]
    assert _ids(app, t.test_key, f"?created[lte]={t_middle}") == [middle, old]
    assert _ids(app, t.test_key, f"?created[lt]={t_middle}") == [old]
    problem = assert_problem(
        app.test_client().get("/v1/events?created[gte]=soon", headers=auth(t.test_key)), 422
    )
    assert problem["param"] == "created[gte]"
    clock.advance(timedelta(days=11))  # `old` is now 31 days old
    assert _ids(app, t.test_key) == [recent, middle]
    assert_problem(app.test_client().get(f"/v1/events/{old}", headers=auth(t.test_key)), 404)
    app.extensions["lendbridge"].tasks.shutdown()
    app.extensions["lendbridge"].db.engine.dispose()


def test_list_is_cursor_paginated(app: Flask) -> None:
    t = make_tenant(app)
    ids = [emit(app, t.tenant_id) for _ in range(5)][::-1]
    page = app.test_client().get("/v1/events?limit=2", headers=auth(t.test_key)).get_json()
    assert [e["id"] for e in page["data"]] == ids[:2] and page["has_more"]
    assert _ids(app, t.test_key, f"?limit=2&starting_after={ids[1]}") == ids[2:4]
    assert _ids(app, t.test_key, f"?limit=2&ending_before={ids[2]}") == ids[:2]


def test_events_are_per_tenant_and_mode(any_app: Flask) -> None:
    a, b = make_tenant(any_app, name="A"), make_tenant(any_app, name="B")
    test_event = emit(any_app, a.tenant_id)
    live_event = emit(any_app, a.tenant_id, livemode=True)
    assert _ids(any_app, a.test_key) == [test_event]
    assert _ids(any_app, a.live_key) == [live_event]
    assert _ids(any_app, b.test_key) == [] and _ids(any_app, b.live_key) == []
    client = any_app.test_client()
    for key, event in ((b.test_key, test_event), (b.live_key, live_event), (a.live_key, test_event)):
        assert_problem(client.get(f"/v1/events/{event}", headers=auth(key)), 404, "resource_missing")
        assert_problem(client.post(f"/v1/events/{event}/resend", json={}, headers=auth(key)), 404)


def test_resend_creates_deliveries_for_matching_enabled_endpoints(any_app: Flask) -> None:
    t = make_tenant(any_app)
    loans = create_endpoint(any_app, t.test_key, "http://localhost:9/a", ["loan.*"])
    everything = create_endpoint(any_app, t.test_key, "http://localhost:9/b", ["*"])
    create_endpoint(any_app, t.test_key, "http://localhost:9/c", ["repayment.succeeded"])
    off = create_endpoint(any_app, t.test_key, "http://localhost:9/d", ["*"])
    client = any_app.test_client()
    client.post(f"/v1/webhook_endpoints/{off['id']}", json={"disabled": True}, headers=auth(t.test_key))
    event = emit(any_app, t.tenant_id, "loan.disbursed")
    relay(any_app)
    resp = client.post(f"/v1/events/{event}/resend", json={}, headers=auth(t.test_key))
    assert resp.status_code == 200
    deliveries = resp.get_json()["data"]
    assert {d["endpoint"] for d in deliveries} == {loans["id"], everything["id"]}
    assert all(
        d["reason"] == "resend" and d["event"] == event and d["status"] == "pending" for d in deliveries
    )
    one = client.post(f"/v1/events/{event}/resend", json={"endpoint": loans["id"]}, headers=auth(t.test_key))
    assert [d["endpoint"] for d in one.get_json()["data"]] == [loans["id"]]
    disabled = client.post(
        f"/v1/events/{event}/resend", json={"endpoint": off["id"]}, headers=auth(t.test_key)
    )
    assert_problem(disabled, 409, "endpoint_disabled")


def test_resend_to_another_tenants_endpoint_is_404(app: Flask) -> None:
    a, b = make_tenant(app, name="A"), make_tenant(app, name="B")
    theirs = create_endpoint(app, b.test_key, "http://localhost:9/", ["*"])
    event = emit(app, a.tenant_id)
    resp = app.test_client().post(
        f"/v1/events/{event}/resend", json={"endpoint": theirs["id"]}, headers=auth(a.test_key)
    )
    assert_problem(resp, 404, "resource_missing")


def test_resend_needs_events_write(app: Flask) -> None:
    t = make_tenant(app, scopes=["events:read"])
    event = emit(app, t.tenant_id)
    assert_problem(
        app.test_client().post(f"/v1/events/{event}/resend", json={}, headers=auth(t.test_key)),
        403,
        "scope_insufficient",
    )
