"""Bureau failures, cache and circuit; fraud rings, odd-hours bulk, blacklist; on both
databases, with the bureau simulator in process."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from lendbridge.risk.runtime import runtime
from tests.factories.risk import Keys, TestIntegrations, application, magic_id, ready_borrower
from tests.factories.tenancy import auth


def apply(app: Flask, keys: Keys, **overrides: Any) -> dict[str, Any]:
    person_fields = overrides.pop("person", {})
    borrower, consents = ready_borrower(app, app.test_client(), keys.partner, **person_fields)
    resp = app.test_client().post(
        "/v1/applications", json=application(borrower, consents, **overrides), headers=auth(keys.partner)
    )
    assert resp.status_code == 201, resp.get_json()
    data: dict[str, Any] = resp.get_json()
    return data


def record(app: Flask, keys: Keys, application_id: str) -> dict[str, Any]:
    resp = app.test_client().get(f"/v1/applications/{application_id}/decision", headers=auth(keys.partner))
    data: dict[str, Any] = resp.get_json()["record"]
    return data


def rules(app: Flask, keys: Keys, document: dict[str, Any]) -> None:
    resp = app.test_client().post(
        f"/admin/v1/risk/tenants/{keys.partner_id}/rule_sets",
        json={"document": document},
        headers=auth(keys.admin),
    )
    assert resp.status_code == 201, resp.get_json()


def test_a_hanging_bureau_gives_review_within_the_budget(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    runtime(risk_app).backend.hang_seconds = 2.0
    started = time.perf_counter()
    data = apply(risk_app, keys, person={"id_number": magic_id("999")})
    assert time.perf_counter() - started < 1.5
    assert data["status"] == "review" and data["reason_codes"] == ["bureau_unavailable"]
    assert record(risk_app, keys, data["id"])["bureau"] == {
        "status": "unavailable",
        "cause": "timeout",
        "policy": "review",
    }


def test_bureau_down_declines_when_the_tenant_says_so(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    rules(risk_app, keys, {"policy": {"bureau_unavailable": "decline"}})
    data = apply(risk_app, keys, person={"id_number": magic_id("998")})
    assert data["status"] == "declined" and data["reason_codes"] == ["bureau_unavailable"]


def test_the_circuit_opens_and_decisions_stop_waiting(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    sim = runtime(risk_app).backend
    sim.outage = True
    causes = [record(risk_app, keys, apply(risk_app, keys)["id"])["bureau"]["cause"] for _ in range(6)]
    assert causes[:4] == ["error"] * 4 and causes[4:] == ["circuit_open"] * 2
    assert sim.queries == 5
    assert runtime(risk_app).bureau.circuit_state == "open"


def test_a_report_is_reused_for_the_same_person_within_the_cache_window(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    client = risk_app.test_client()
    borrower, consents = ready_borrower(risk_app, client, keys.partner)
    sim = runtime(risk_app).backend
    before = sim.queries
    ids = []
    for _ in range(2):
        resp = client.post(
            "/v1/applications", json=application(borrower, consents), headers=auth(keys.partner)
        )
        ids.append(resp.get_json()["id"])
    first, second = (record(risk_app, keys, i)["bureau"] for i in ids)
    assert first["status"] == "fetched" and second == {"status": "cached", "report_id": first["report_id"]}
    assert sim.queries - before == 1


def test_a_delinquent_file_is_declined(risk_app: Flask, keys: Keys, integ: TestIntegrations) -> None:
    data = apply(risk_app, keys, person={"id_number": magic_id("997")})
    assert data["status"] == "declined" and data["reason_codes"] == ["bureau_delinquency"]


def test_without_consent_there_is_no_bureau_query(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    sim = runtime(risk_app).backend
    before = sim.queries
    client = risk_app.test_client()
    borrower, _ = ready_borrower(risk_app, client, keys.partner, consents=())
    data = client.post("/v1/applications", json=application(borrower), headers=auth(keys.partner)).get_json()
    assert data["status"] == "declined" and data["reason_codes"] == ["consent_missing"]
    assert sim.queries == before


def test_an_application_joining_a_reported_fraud_ring_is_declined(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    device = {
        "fingerprint": "ring-device-0001",
        "ip": "198.51.100.7",
        "lbs_city": "310100",
        "wifi_bssid": "A4:5E:60:11:22:33",
    }
    fraud = apply(risk_app, keys, device=device)
    resp = risk_app.test_client().post(
        "/admin/v1/risk/fraud_reports",
        json={"application": fraud["id"], "reason": "synthetic identity"},
        headers=auth(keys.admin),
    )
    assert resp.status_code == 201 and resp.get_json()["component_known_fraud"] == 1
    # A newcomer shares only a contact phone with someone who shared the ring's Wi-Fi...
    bridge = apply(
        risk_app,
        keys,
        device={**device, "fingerprint": "other-device-02", "ip": "198.51.100.9"},
        contacts=["13700000042"],
    )
    # (the report also blacklisted the ring's Wi-Fi network)
    assert bridge["status"] == "declined" and bridge["reason_codes"] == ["fraud_blacklist", "fraud_ring"]
    newcomer = apply(
        risk_app,
        keys,
        device={"fingerprint": "clean-device-003", "ip": "192.0.2.5", "lbs_city": "310100"},
        contacts=["13700000042"],
    )
    hits = record(risk_app, keys, bridge["id"])["fraud"]["hits"]
    assert [(h["rule"], h["action"]) for h in hits] == [
        ("blacklist", "decline"),
        ("graph_known_fraud", "decline"),
    ]
    assert newcomer["status"] == "declined" and newcomer["reason_codes"] == ["fraud_ring"]
    graph = record(risk_app, keys, newcomer["id"])["fraud"]["graph"]
    assert [(link["attribute"], link["known_fraud"]) for link in graph["linked_by"]] == [("phone", True)]
    assert graph["applications"] == 3


def test_the_fraud_graph_survives_a_restart(risk_app: Flask, keys: Keys, integ: TestIntegrations) -> None:
    from lendbridge.app import create_app

    device = {"fingerprint": "restart-device-1", "ip": "198.51.100.50"}
    apply(risk_app, keys, device=device)
    again = create_app(
        risk_app.extensions["lendbridge"].settings, clock=risk_app.extensions["lendbridge"].clock
    )
    runtime(again).integrations = integ
    runtime(again).backend.latency_ms = (0.0, 1.0)
    later = apply(again, keys, device={**device, "ip": "198.51.100.51"})
    graph = record(again, keys, later["id"])["fraud"]["graph"]
    assert graph["applications"] == 2 and graph["linked_by"][0]["attribute"] == "device"
    again.extensions["lendbridge"].db.engine.dispose()


def test_bulk_applications_from_one_network_at_night_are_declined(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    rules(
        risk_app,
        keys,
        {
            "rules": [
                {
                    "name": "odd_hours_bulk",
                    "dimension": "ip24_night",
                    "members": "borrowers",
                    "window_hours": 3,
                    "threshold": 3,
                    "action": "decline",
                    "code": "fraud_odd_hours_bulk",
                }
            ]
        },
    )
    clock = risk_app.extensions["lendbridge"].clock
    clock.set(datetime(2026, 3, 16, 19, 5, tzinfo=UTC))  # 03:05 in Shanghai
    results = [
        apply(risk_app, keys, device={"fingerprint": f"night-device-{n:04d}", "ip": f"203.0.113.{n + 10}"})
        for n in range(3)
    ]
    assert [r["status"] for r in results] == ["approved", "approved", "declined"]
    assert results[2]["reason_codes"] == ["fraud_odd_hours_bulk"]
    hit = record(risk_app, keys, results[2]["id"])["fraud"]["hits"][0]
    assert (hit["rule"], hit["count"], hit["threshold"]) == ("odd_hours_bulk", 3, 3)


def test_a_blacklisted_device_is_declined(risk_app: Flask, keys: Keys, integ: TestIntegrations) -> None:
    resp = risk_app.test_client().post(
        "/admin/v1/risk/blacklist",
        json={
            "tenant": keys.partner_id,
            "kind": "device",
            "value": "stolen-phone-777",
            "reason": "police report",
        },
        headers=auth(keys.admin),
    )
    assert resp.status_code == 201 and "stolen-phone-777" not in resp.get_data(as_text=True)
    data = apply(risk_app, keys, device={"fingerprint": "stolen-phone-777", "ip": "192.0.2.77"})
    assert data["status"] == "declined" and data["reason_codes"] == ["fraud_blacklist"]
