"""Test clocks: create, advance through registered daily jobs, statuses, test mode only."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from flask import Flask

from lendbridge.clocks import DAILY_JOBS, DayContext, RegisteredJob
from lendbridge.tenancy.domain import TenantKind
from tests.factories.tenancy import auth, make_tenant

JAN_1_2026 = 1767225600  # 2026-01-01T00:00:00Z = 08:00 in Shanghai
FEB_1_2026 = 1769904000


def _wait_ready(app: Flask, key: str, clock_id: str) -> dict[str, Any]:
    client = app.test_client()
    for _ in range(200):
        body: dict[str, Any] = client.get(f"/v1/test_clocks/{clock_id}", headers=auth(key)).get_json()
        if body["status"] != "advancing":
            return body
        time.sleep(0.05)
    raise AssertionError("test clock did not finish advancing")


@pytest.fixture
def recorded_days() -> Any:
    seen: list[tuple[date, str | None]] = []

    def job(ctx: DayContext) -> None:
        seen.append((ctx.business_date, ctx.test_clock_id))

    DAILY_JOBS.append(RegisteredJob(999, "test.recorder", job))
    yield seen
    DAILY_JOBS[:] = [j for j in DAILY_JOBS if j.name != "test.recorder"]


def test_create_and_advance_runs_every_business_day_once(any_app: Flask, recorded_days: Any) -> None:
    partner = make_tenant(any_app)
    client = any_app.test_client()
    created = client.post(
        "/v1/test_clocks", json={"frozen_time": JAN_1_2026, "name": "month"}, headers=auth(partner.test_key)
    )
    assert created.status_code == 200, created.get_json()
    clock = created.get_json()
    assert clock["object"] == "test_clock" and clock["id"].startswith("clock_")
    assert clock["frozen_time"] == JAN_1_2026 and clock["status"] == "ready" and clock["livemode"] is False
    resp = client.post(
        f"/v1/test_clocks/{clock['id']}/advance",
        json={"frozen_time": FEB_1_2026},
        headers=auth(partner.test_key),
    )
    assert resp.status_code == 200 and resp.get_json()["status"] in ("advancing", "ready")
    done = _wait_ready(any_app, partner.test_key, clock["id"])
    assert done["status"] == "ready" and done["frozen_time"] == FEB_1_2026
    days = [d for d, c in recorded_days if c == clock["id"]]
    assert days == [date(2026, 1, d) for d in range(2, 32)] + [date(2026, 2, 1)]
    events = client.get("/v1/test_clocks", headers=auth(partner.test_key)).get_json()
    assert [c["id"] for c in events["data"]] == [clock["id"]]


def test_clock_cannot_move_backwards(app: Flask) -> None:
    partner = make_tenant(app)
    client = app.test_client()
    clock = client.post(
        "/v1/test_clocks", json={"frozen_time": FEB_1_2026}, headers=auth(partner.test_key)
    ).get_json()
    resp = client.post(
        f"/v1/test_clocks/{clock['id']}/advance",
        json={"frozen_time": JAN_1_2026},
        headers=auth(partner.test_key),
    )
    assert resp.status_code == 422 and resp.get_json()["param"] == "frozen_time"


def test_test_clocks_are_test_mode_only(app: Flask) -> None:
    partner = make_tenant(app)
    resp = app.test_client().post(
        "/v1/test_clocks", json={"frozen_time": JAN_1_2026}, headers=auth(partner.live_key)
    )
    assert resp.status_code == 403 and resp.get_json()["code"] == "test_mode_only"


def test_another_tenants_clock_is_404(app: Flask) -> None:
    a, b = make_tenant(app, name="A"), make_tenant(app, name="B")
    client = app.test_client()
    clock = client.post(
        "/v1/test_clocks", json={"frozen_time": JAN_1_2026}, headers=auth(a.test_key)
    ).get_json()
    for method, path, body in [
        ("get", f"/v1/test_clocks/{clock['id']}", None),
        ("post", f"/v1/test_clocks/{clock['id']}/advance", {"frozen_time": FEB_1_2026}),
        ("delete", f"/v1/test_clocks/{clock['id']}", None),
    ]:
        resp = getattr(client, method)(path, json=body, headers=auth(b.test_key))
        assert resp.status_code == 404, (method, path)


def test_deleted_clock_cannot_advance(app: Flask) -> None:
    partner = make_tenant(app, TenantKind.PARTNER)
    client = app.test_client()
    clock = client.post(
        "/v1/test_clocks", json={"frozen_time": JAN_1_2026}, headers=auth(partner.test_key)
    ).get_json()
    assert client.delete(f"/v1/test_clocks/{clock['id']}", headers=auth(partner.test_key)).get_json()[
        "deleted"
    ]
    resp = client.post(
        f"/v1/test_clocks/{clock['id']}/advance",
        json={"frozen_time": FEB_1_2026},
        headers=auth(partner.test_key),
    )
    assert resp.status_code == 409
