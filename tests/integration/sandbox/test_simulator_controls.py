"""Simulator controls: global faults only where the server allows them; per-object ones
(the caller's own events, reviews, payments) everywhere in test mode."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask

from lendbridge.app import create_app
from lendbridge.config import Settings
from tests.factories.tenancy import auth, make_tenant

GLOBAL_FAULTS = [
    ("/v1/sandbox/channels/unionpay_sim/fail", {"seconds": 5}),
    ("/v1/sandbox/channels/unionpay_sim/heal", {}),
    ("/v1/sandbox/channels/unionpay_sim/ambiguous", {"count": 1}),
    ("/v1/sandbox/channels/unionpay_sim/latency", {"ms": 100}),
    ("/v1/sandbox/cards/balance", {"bank_card": "6222021234567890128", "amount": 0}),
    ("/v1/sandbox/bureau", {"outage": True}),
]


@pytest.fixture
def shared_app(settings: Settings) -> Iterator[Flask]:
    """A server configured as a shared sandbox (LENDBRIDGE_SANDBOX_GLOBAL_CONTROLS=0)."""
    app = create_app(replace(settings, sandbox_global_controls=False))
    yield app
    app.extensions["lendbridge"].tasks.shutdown()
    app.extensions["lendbridge"].db.engine.dispose()


def test_a_shared_sandbox_refuses_faults_every_partner_would_feel(shared_app: Flask) -> None:
    partner = make_tenant(shared_app)
    client = shared_app.test_client()
    for path, body in GLOBAL_FAULTS:
        resp = client.post(path, json=body, headers=auth(partner.test_key))
        problem = resp.get_json()
        assert resp.status_code == 403 and problem["code"] == "simulator_controls_shared", path
        assert "magic values" in problem["detail"]
    # Reading the channels harms nobody; the caller's own objects stay scriptable.
    assert client.get("/v1/sandbox/channels", headers=auth(partner.test_key)).status_code == 200
    own = client.post("/v1/sandbox/events", json={"type": "loan.disbursed"}, headers=auth(partner.test_key))
    assert own.status_code < 300, own.get_json()


def test_a_local_server_takes_every_control(app: Flask) -> None:
    partner = make_tenant(app)
    client = app.test_client()
    for path, body in GLOBAL_FAULTS:
        resp = client.post(path, json=body, headers=auth(partner.test_key))
        assert resp.status_code == 200, (path, resp.get_json())
    client.post("/v1/sandbox/bureau", json={"outage": False}, headers=auth(partner.test_key))
    client.post("/v1/sandbox/channels/unionpay_sim/heal", json={}, headers=auth(partner.test_key))
