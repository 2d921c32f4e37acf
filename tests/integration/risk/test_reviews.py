"""The review queue: claim, approve or decline with a note, four-eyes, SLA; rule sets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from lendbridge.events.models import Event
from tests.factories.risk import Keys, TestIntegrations, application, ready_borrower
from tests.factories.tenancy import auth


def in_review(app: Flask, keys: Keys, amount: int = 3_000_000) -> dict[str, Any]:
    client = app.test_client()
    borrower, consents = ready_borrower(app, client, keys.partner, kyc="pending")
    resp = client.post(
        "/v1/applications", json=application(borrower, consents, amount=amount), headers=auth(keys.partner)
    )
    data: dict[str, Any] = resp.get_json()
    assert resp.status_code == 201 and data["status"] == "review", data
    assert data["reason_codes"] == ["kyc_not_verified"] and data["offers"] == [] and data["review"]
    return data


def post(app: Flask, key: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    resp = app.test_client().post(url, json=body or {}, headers=auth(key))
    return resp.status_code, resp.get_json()


def set_rules(app: Flask, keys: Keys, document: dict[str, Any]) -> dict[str, Any]:
    status, body = post(
        app,
        keys.admin,
        f"/admin/v1/risk/tenants/{keys.partner_id}/rule_sets",
        {"document": document, "note": "test"},
    )
    assert status == 201, body
    return body


def test_a_reviewer_approves_and_the_offers_open(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    data = in_review(risk_app, keys)
    review = data["review"]
    listed = risk_app.test_client().get("/admin/v1/reviews?status=open", headers=auth(keys.admin)).get_json()
    assert [r["id"] for r in listed["data"]] == [review]
    assert listed["data"][0]["tenant"] == keys.partner_id and listed["data"][0]["overdue"] is False
    status, body = post(risk_app, keys.admin, f"/admin/v1/reviews/{review}/approve", {"note": "ok"})
    assert status == 409 and body["code"] == "review_not_claimed"
    status, body = post(risk_app, keys.admin, f"/admin/v1/reviews/{review}/claim")
    assert status == 200 and body["status"] == "claimed"
    status, body = post(risk_app, keys.second_admin, f"/admin/v1/reviews/{review}/claim")
    assert status == 409 and body["code"] == "review_claimed"
    status, body = post(
        risk_app, keys.admin, f"/admin/v1/reviews/{review}/approve", {"note": "ID seen on video"}
    )
    assert status == 200 and body["status"] == "approved" and body["four_eyes"] is False
    assert body["notes"][-1]["note"] == "ID seen on video"
    app_now = (
        risk_app.test_client().get(f"/v1/applications/{data['id']}", headers=auth(keys.partner)).get_json()
    )
    assert app_now["status"] == "approved" and app_now["offers"]
    assert all(o["status"] == "open" and o["expires_at"] for o in app_now["offers"])
    decision = (
        risk_app.test_client()
        .get(f"/v1/applications/{data['id']}/decision", headers=auth(keys.partner))
        .get_json()
    )
    assert decision["sequence"] == 2 and decision["reason_codes"] == ["review_approved"]
    assert decision["record"]["review"]["note"] == "ID seen on video"
    assert [h["outcome"] for h in decision["history"]] == ["review", "approved"]
    with risk_app.extensions["lendbridge"].db.reader() as session:
        types = list(session.execute(select(Event.type).where(Event.object_id == data["id"])).scalars())
    assert sorted(types) == ["application.created", "application.decided", "application.review_required"]


def test_large_amounts_need_two_different_approvers(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    set_rules(risk_app, keys, {"policy": {"four_eyes_above_amount": 1_000_000}})
    review = in_review(risk_app, keys)["review"]
    post(risk_app, keys.admin, f"/admin/v1/reviews/{review}/claim")
    status, body = post(risk_app, keys.admin, f"/admin/v1/reviews/{review}/approve", {"note": "first"})
    assert status == 200 and body["status"] == "awaiting_second_approval" and body["four_eyes"]
    status, body = post(risk_app, keys.admin, f"/admin/v1/reviews/{review}/approve", {"note": "again"})
    assert status == 409 and body["code"] == "four_eyes_required"
    status, body = post(
        risk_app, keys.second_admin, f"/admin/v1/reviews/{review}/approve", {"note": "second"}
    )
    assert status == 200 and body["status"] == "approved"
    assert body["first_approver"] != body["second_approver"]


def test_a_reviewer_declines_with_a_note(risk_app: Flask, keys: Keys, integ: TestIntegrations) -> None:
    data = in_review(risk_app, keys)
    review = data["review"]
    post(risk_app, keys.admin, f"/admin/v1/reviews/{review}/claim")
    status, body = post(risk_app, keys.admin, f"/admin/v1/reviews/{review}/decline", {"note": "forged ID"})
    assert status == 200 and body["status"] == "declined"
    got = risk_app.test_client().get(f"/v1/applications/{data['id']}", headers=auth(keys.partner)).get_json()
    assert got["status"] == "declined" and got["reason_codes"] == ["review_declined", "kyc_not_verified"]
    status, body = post(risk_app, keys.admin, f"/admin/v1/reviews/{review}/approve", {"note": "oops"})
    assert status == 409 and body["code"] == "review_not_open"
    status, _ = post(
        risk_app, keys.partner, f"/v1/applications/{data['id']}/accept", {"offer_id": "ofr_x1234"}
    )
    assert status == 404


def test_reviews_past_their_sla_are_flagged_overdue(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    set_rules(risk_app, keys, {"policy": {"review_sla_hours": 2}})
    review = in_review(risk_app, keys)["review"]
    client = risk_app.test_client()
    got = client.get(f"/admin/v1/reviews/{review}", headers=auth(keys.admin)).get_json()
    assert got["due_at"] - got["created"] == 2 * 3600 and got["overdue"] is False
    clock = risk_app.extensions["lendbridge"].clock
    clock.set(clock.now() + timedelta(hours=2, seconds=1))
    assert client.get(f"/admin/v1/reviews/{review}", headers=auth(keys.admin)).get_json()["overdue"] is True
    overdue = client.get("/admin/v1/reviews?overdue=true", headers=auth(keys.admin)).get_json()["data"]
    assert [r["id"] for r in overdue] == [review]


def test_rule_sets_are_versioned_and_validated(risk_app: Flask, keys: Keys) -> None:
    client = risk_app.test_client()
    url = f"/admin/v1/risk/tenants/{keys.partner_id}"
    current = client.get(f"{url}/rule_set", headers=auth(keys.admin)).get_json()
    assert current["version"] == 0 and current["document"]["policy"]["offer_ttl_days"] == 7
    first = set_rules(risk_app, keys, {"policy": {"offer_ttl_days": 3}})
    assert first["version"] == 1 and first["document"]["policy"]["offer_ttl_days"] == 3
    status, body = post(
        risk_app,
        keys.admin,
        f"{url}/rule_sets",
        {"document": {"policy": {"offer_ttl_days": 5}}, "base_version": 0},
    )
    assert status == 409 and body["code"] == "rule_set_version_conflict"
    status, body = post(
        risk_app, keys.admin, f"{url}/rule_sets", {"document": {"policy": {"dti_max": "lots"}}}
    )
    assert status == 422 and body["param"] == "policy.dti_max"
    second = set_rules(risk_app, keys, {"policy": {"offer_ttl_days": 5}})
    versions = client.get(f"{url}/rule_sets", headers=auth(keys.admin)).get_json()["data"]
    assert [v["version"] for v in versions] == [2, 1] and second["version"] == 2
    status, _ = post(
        risk_app, keys.admin, "/admin/v1/risk/tenants/ten_missing00000/rule_sets", {"document": {}}
    )
    assert status == 404


def test_a_new_rule_set_applies_to_the_next_decision(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    set_rules(risk_app, keys, {"policy": {"offer_ttl_days": 2, "min_score": 900}})
    client = risk_app.test_client()
    borrower, consents = ready_borrower(risk_app, client, keys.partner)
    data = client.post(
        "/v1/applications", json=application(borrower, consents), headers=auth(keys.partner)
    ).get_json()
    assert data["status"] == "declined" and data["reason_codes"] == ["score_below_min"]
    record = client.get(f"/v1/applications/{data['id']}/decision", headers=auth(keys.partner)).get_json()[
        "record"
    ]
    assert record["rule_set_version"] == 1
