"""`/v1/widget_sessions`: created by the partner's server, short-lived, secret shown once."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from lendbridge.tenancy.domain import TenantKind
from lendbridge.widget.models import WidgetSession
from tests.factories.tenancy import auth, make_tenant
from tests.factories.widget import EDUCATION, create_session, make_partner, session_args, use_fake_lending

pytestmark = pytest.mark.integration


def test_a_session_is_created_with_a_client_secret_that_is_stored_only_hashed(any_app: Flask) -> None:
    keys = make_partner(any_app)
    client = any_app.test_client()
    body, secret = create_session(
        client,
        keys.test_key,
        borrower_hint={"name": "李明", "phone": "138 1234 5678"},
        client_reference_id="enr_1",
    )
    assert body["object"] == "widget_session" and body["id"].startswith("ws_")
    assert secret.startswith(body["id"] + "_secret_")
    assert body["status"] == "open" and body["livemode"] is False and body["mode"] == "apply"
    assert body["expires_at"] - body["created"] == 1800
    assert body["scenario"]["merchant_id"] == "school_demo" and body["client_reference_id"] == "enr_1"
    with any_app.extensions["lendbridge"].db.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM widget_sessions")) for v in row)
    assert secret not in dump and secret.split("_secret_")[1] not in dump
    assert "13812345678" not in dump and "李明" not in dump


def test_retrieving_a_session_never_shows_the_secret_again(app: Flask) -> None:
    keys = make_partner(app)
    client = app.test_client()
    body, _ = create_session(client, keys.test_key)
    got = client.get(f"/v1/widget_sessions/{body['id']}", headers=auth(keys.test_key)).get_json()
    assert got["id"] == body["id"] and got["client_secret"] is None and got["status"] == "open"
    listed = client.get("/v1/widget_sessions?limit=5", headers=auth(keys.test_key)).get_json()
    assert [s["id"] for s in listed["data"]] == [body["id"]] and listed["data"][0]["client_secret"] is None


def test_an_idempotent_replay_does_not_reveal_the_secret_again(app: Flask) -> None:
    keys = make_partner(app)
    client = app.test_client()
    headers = {**auth(keys.test_key), "Idempotency-Key": "ws-create-1"}
    first = client.post("/v1/widget_sessions", json=session_args(), headers=headers)
    again = client.post("/v1/widget_sessions", json=session_args(), headers=headers)
    assert first.get_json()["client_secret"] and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == first.get_json()["id"] and again.get_json()["client_secret"] is None


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"amount": 1_000_001}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"scenario": None}, "scenario"),
        ({"scenario": {**EDUCATION, "type": "car"}}, "scenario.type"),
        ({"scenario": {**EDUCATION, "course_fee": 1}}, "scenario.course_fee"),
        ({"scenario": {**EDUCATION, "merchant_id": "another_school"}}, "scenario.merchant_id"),
        ({"currency": "USD"}, "currency"),
        ({"borrower_hint": {"phone": "12345"}}, "borrower_hint.phone"),
        ({"locale": "fr"}, "locale"),
        ({"return_url": "javascript:alert(1)"}, "return_url"),
        ({"expires_in": 60}, "expires_in"),
        ({"mode": "repay"}, "loan_id"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_session_parameters_are_422_naming_the_field(
    app: Flask, change: dict[str, Any], param: str
) -> None:
    keys = make_partner(app)
    body = session_args(**change)
    resp = app.test_client().post("/v1/widget_sessions", json=body, headers=auth(keys.test_key))
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["param"] == param


def test_a_repay_session_needs_a_loan_of_the_partner(app: Flask) -> None:
    keys = make_partner(app)
    fake = use_fake_lending(app)
    client = app.test_client()
    resp = client.post(
        "/v1/widget_sessions", json={"mode": "repay", "loan_id": "loan_missing"}, headers=auth(keys.test_key)
    )
    assert resp.status_code == 422 and resp.get_json()["param"] == "loan_id"
    loan_id = fake.accept_offer(None, fake.submit_application(None, _request()).application_id, _offer(fake))  # type: ignore[arg-type]
    body = client.post(
        "/v1/widget_sessions", json={"mode": "repay", "loan_id": loan_id}, headers=auth(keys.test_key)
    )
    assert (
        body.status_code == 201
        and body.get_json()["loan_id"] == loan_id
        and body.get_json()["amount"] is None
    )


def _request() -> Any:
    from lendbridge.widget.ports import ApplicationRequest

    return ApplicationRequest("brw_x", 1_000_000, EDUCATION, "ws_x")


def _offer(fake: Any) -> str:
    return str(next(iter(fake.applications.values())).offers[0]["id"])


def test_only_a_secret_key_with_the_scope_creates_sessions(app: Flask) -> None:
    keys = make_partner(app)
    client = app.test_client()
    resp = client.post("/v1/widget_sessions", json=session_args(), headers=auth(keys.publishable_key))
    assert resp.status_code == 403 and resp.get_json()["code"] == "scope_insufficient"
    limited = make_partner(app, name="Limited", scopes=["loans:read"])
    resp = client.post("/v1/widget_sessions", json=session_args(), headers=auth(limited.test_key))
    assert resp.status_code == 403
    institution = make_tenant(app, TenantKind.INSTITUTION, "Bank")
    assert (
        client.post(
            "/v1/widget_sessions", json=session_args(), headers=auth(institution.test_key)
        ).status_code
        == 403
    )


def test_another_partners_session_is_not_found(any_app: Flask) -> None:
    a, b = make_partner(any_app, name="A"), make_partner(any_app, name="B")
    client = any_app.test_client()
    body, _ = create_session(client, a.test_key)
    resp = client.get(f"/v1/widget_sessions/{body['id']}", headers=auth(b.test_key))
    assert resp.status_code == 404 and resp.get_json()["code"] == "resource_missing"
    assert client.get(f"/v1/widget_sessions/{body['id']}", headers=auth(a.live_key)).status_code == 404
    assert client.get("/v1/widget_sessions", headers=auth(b.test_key)).get_json()["data"] == []


def test_live_sessions_are_live(app: Flask) -> None:
    keys = make_partner(app)
    body, _ = create_session(app.test_client(), keys.live_key)
    assert body["livemode"] is True
    svc = app.extensions["lendbridge"]
    with svc.db.reader() as session:
        row = session.execute(select(WidgetSession)).scalar_one()
    assert row.livemode is True and row.tenant_id == keys.tenant_id


def test_widget_settings_keep_normalised_origins(any_app: Flask) -> None:
    keys = make_partner(any_app)
    client = any_app.test_client()
    resp = client.post(
        "/v1/widget_settings",
        json={
            "allowed_origins": [
                "https://EduLink.example/",
                "https://*.edulink.example",
                "https://edulink.example",
            ]
        },
        headers=auth(keys.live_key),
    )
    assert resp.status_code == 200
    assert resp.get_json()["allowed_origins"] == ["https://edulink.example", "https://*.edulink.example"]
    assert client.get("/v1/widget_settings", headers=auth(keys.live_key)).get_json()["allowed_origins"] == [
        "https://edulink.example",
        "https://*.edulink.example",
    ]
    bad = client.post(
        "/v1/widget_settings",
        json={"allowed_origins": ["https://ok.example", "edulink"]},
        headers=auth(keys.live_key),
    )
    assert bad.status_code == 422 and bad.get_json()["param"] == "allowed_origins.1"
