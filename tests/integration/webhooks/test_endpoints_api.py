"""Webhook endpoints over HTTP: create (secret once), list, retrieve, update, delete, rotate,
validation, SSRF at creation, scopes, and 404 for other tenants and the other mode."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from lendbridge.tenancy.domain import TenantKind
from lendbridge.webhooks.models import WebhookEndpoint
from lendbridge.webhooks.runtime import runtime
from tests.factories.tenancy import auth, make_tenant
from tests.integration.foundation.test_api_conventions import assert_problem

PUBLIC = "93.184.216.34"


def stub_dns(app: Flask, table: dict[str, list[str]]) -> None:
    def resolver(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("unknown host")
        return table[host]

    runtime(app).resolver = resolver


def post(app: Flask, key: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    return app.test_client().post(path, json=body or {}, headers={**auth(key), **headers})


def test_create_returns_the_secret_once(any_app: Flask) -> None:
    t = make_tenant(any_app)
    client = any_app.test_client()
    resp = post(
        any_app,
        t.test_key,
        "/v1/webhook_endpoints",
        {"url": "http://localhost:9/hooks", "enabled_events": ["loan.*", "repayment.succeeded", "loan.*"]},
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["object"] == "webhook_endpoint" and body["id"].startswith("we_")
    assert body["secret"].startswith("whsec_") and body["status"] == "enabled"
    assert body["enabled_events"] == ["loan.*", "repayment.succeeded"]  # duplicates dropped
    assert body["livemode"] is False and body["disabled_reason"] is None
    got = client.get(f"/v1/webhook_endpoints/{body['id']}", headers=auth(t.test_key)).get_json()
    assert "secret" not in got and got["url"] == "http://localhost:9/hooks"
    listed = client.get("/v1/webhook_endpoints", headers=auth(t.test_key)).get_json()
    assert [e["id"] for e in listed["data"]] == [body["id"]] and "secret" not in listed["data"][0]


def test_secret_is_stored_encrypted(app: Flask) -> None:
    t = make_tenant(app)
    body = post(
        app, t.test_key, "/v1/webhook_endpoints", {"url": "http://localhost:9/", "enabled_events": ["*"]}
    ).get_json()
    with app.extensions["lendbridge"].db.reader() as session:
        row = session.get(WebhookEndpoint, body["id"])
        assert row is not None
        assert body["secret"] not in row.secret and body["secret"].removeprefix("whsec_") not in row.secret


def test_idempotent_replay_of_create_does_not_repeat_the_secret(app: Flask) -> None:
    t = make_tenant(app)
    req = {"url": "http://localhost:9/", "enabled_events": ["*"]}
    first = post(app, t.test_key, "/v1/webhook_endpoints", req, **{"Idempotency-Key": "k1"})
    again = post(app, t.test_key, "/v1/webhook_endpoints", req, **{"Idempotency-Key": "k1"})
    assert first.get_json()["secret"].startswith("whsec_")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"] and again.get_json()["secret"] is None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"enabled_events": ["*"]}, "url"),
        ({"url": "http://localhost:9/"}, "enabled_events"),
        ({"url": "http://localhost:9/", "enabled_events": []}, "enabled_events"),
        ({"url": "http://localhost:9/", "enabled_events": ["loan.exploded"]}, "enabled_events"),
        ({"url": "http://localhost:9/", "enabled_events": ["nothing.*"]}, "enabled_events"),
        ({"url": "ftp://localhost/", "enabled_events": ["*"]}, "url"),
        ({"url": "not a url", "enabled_events": ["*"]}, "url"),
        ({"url": "http://user:pw@localhost:9/", "enabled_events": ["*"]}, "url"),
        ({"url": "http://10.0.0.8/", "enabled_events": ["*"]}, "url"),
        ({"url": "http://169.254.169.254/latest", "enabled_events": ["*"]}, "url"),
        ({"url": "http://[fd00::1]/", "enabled_events": ["*"]}, "url"),
        ({"url": "http://localhost:9/", "enabled_events": ["*"], "colour": "red"}, "colour"),
        ({"url": "http://localhost:9/", "enabled_events": ["*"], "description": "x" * 501}, "description"),
    ],
)
def test_invalid_endpoints_are_422_naming_the_field(app: Flask, body: dict[str, Any], param: str) -> None:
    t = make_tenant(app)
    problem = assert_problem(post(app, t.test_key, "/v1/webhook_endpoints", body), 422, "parameter_invalid")
    assert problem["param"] == param


def test_live_mode_needs_https_to_a_public_address(app: Flask) -> None:
    t = make_tenant(app)
    stub_dns(
        app,
        {"hooks.partner.example": [PUBLIC], "internal.partner.example": ["10.2.3.4"], "localhost": ["::1"]},
    )
    ok = post(
        app,
        t.live_key,
        "/v1/webhook_endpoints",
        {"url": "https://hooks.partner.example/lb", "enabled_events": ["*"]},
    )
    assert ok.status_code == 201 and ok.get_json()["livemode"] is True
    for url, why in [
        ("http://hooks.partner.example/lb", "https"),
        ("https://internal.partner.example/lb", "private"),
        ("https://localhost/lb", "loopback"),
        ("https://127.0.0.1/lb", "loopback"),
        ("https://[::1]/lb", "loopback"),
        ("https://unknown.partner.example/lb", "resolved"),
    ]:
        resp = post(app, t.live_key, "/v1/webhook_endpoints", {"url": url, "enabled_events": ["*"]})
        problem = assert_problem(resp, 422, "parameter_invalid")
        assert problem["param"] == "url" and why in problem["detail"], (url, problem)


def test_changing_the_url_is_checked_like_creating(app: Flask) -> None:
    t = make_tenant(app)
    stub_dns(app, {"hooks.partner.example": [PUBLIC], "rebound.partner.example": ["192.168.0.4"]})
    ep = post(
        app,
        t.live_key,
        "/v1/webhook_endpoints",
        {"url": "https://hooks.partner.example/", "enabled_events": ["*"]},
    ).get_json()
    resp = post(
        app, t.live_key, f"/v1/webhook_endpoints/{ep['id']}", {"url": "https://rebound.partner.example/"}
    )
    assert assert_problem(resp, 422)["param"] == "url"


def test_update_events_description_and_disable_then_enable(any_app: Flask) -> None:
    t = make_tenant(any_app)
    ep = post(
        any_app, t.test_key, "/v1/webhook_endpoints", {"url": "http://localhost:9/", "enabled_events": ["*"]}
    ).get_json()
    path = f"/v1/webhook_endpoints/{ep['id']}"
    changed = post(
        any_app, t.test_key, path, {"enabled_events": ["loan.disbursed"], "description": "EduLink prod"}
    ).get_json()
    assert changed["enabled_events"] == ["loan.disbursed"] and changed["description"] == "EduLink prod"
    off = post(any_app, t.test_key, path, {"disabled": True}).get_json()
    assert off["status"] == "disabled" and off["disabled_reason"] == "manual"
    on = post(any_app, t.test_key, path, {"disabled": False}).get_json()
    assert on["status"] == "enabled" and on["disabled_reason"] is None


def test_delete_hides_the_endpoint(any_app: Flask) -> None:
    t = make_tenant(any_app)
    client = any_app.test_client()
    ep = post(
        any_app, t.test_key, "/v1/webhook_endpoints", {"url": "http://localhost:9/", "enabled_events": ["*"]}
    ).get_json()
    gone = client.delete(f"/v1/webhook_endpoints/{ep['id']}", headers=auth(t.test_key))
    assert gone.status_code == 200 and gone.get_json()["deleted"] is True
    assert_problem(client.get(f"/v1/webhook_endpoints/{ep['id']}", headers=auth(t.test_key)), 404)
    assert_problem(client.delete(f"/v1/webhook_endpoints/{ep['id']}", headers=auth(t.test_key)), 404)
    assert client.get("/v1/webhook_endpoints", headers=auth(t.test_key)).get_json()["data"] == []
    # The attempt history of a deleted endpoint stays readable.
    assert (
        client.get(f"/v1/webhook_endpoints/{ep['id']}/attempts", headers=auth(t.test_key)).status_code == 200
    )


def test_rotate_returns_a_new_secret_and_the_overlap(any_app: Flask) -> None:
    t = make_tenant(any_app)
    ep = post(
        any_app, t.test_key, "/v1/webhook_endpoints", {"url": "http://localhost:9/", "enabled_events": ["*"]}
    ).get_json()
    rotated = post(
        any_app, t.test_key, f"/v1/webhook_endpoints/{ep['id']}/rotate_secret", {"expires_in": 3600}
    )
    body = rotated.get_json()
    assert (
        rotated.status_code == 200 and body["secret"].startswith("whsec_") and body["secret"] != ep["secret"]
    )
    assert body["previous_secret_expires"] - ep["created"] in range(3590, 3700)
    now_only = post(any_app, t.test_key, f"/v1/webhook_endpoints/{ep['id']}/rotate_secret", {"expires_in": 0})
    assert now_only.get_json()["previous_secret_expires"] is None
    too_long = post(
        any_app, t.test_key, f"/v1/webhook_endpoints/{ep['id']}/rotate_secret", {"expires_in": 8 * 86400}
    )
    assert assert_problem(too_long, 422)["param"] == "expires_in"


def test_at_most_sixteen_endpoints_per_mode(app: Flask) -> None:
    t = make_tenant(app)
    for _ in range(16):
        post(
            app, t.test_key, "/v1/webhook_endpoints", {"url": "http://localhost:9/", "enabled_events": ["*"]}
        )
    resp = post(
        app, t.test_key, "/v1/webhook_endpoints", {"url": "http://localhost:9/", "enabled_events": ["*"]}
    )
    assert_problem(resp, 409, "endpoint_limit_reached")


def test_list_is_newest_first_and_paginated(app: Flask) -> None:
    t = make_tenant(app)
    ids = [
        post(
            app, t.test_key, "/v1/webhook_endpoints", {"url": "http://localhost:9/", "enabled_events": ["*"]}
        ).get_json()["id"]
        for _ in range(3)
    ]
    client = app.test_client()
    page = client.get("/v1/webhook_endpoints?limit=2", headers=auth(t.test_key)).get_json()
    assert [e["id"] for e in page["data"]] == ids[::-1][:2] and page["has_more"] is True
    rest = client.get(
        f"/v1/webhook_endpoints?limit=2&starting_after={page['data'][-1]['id']}", headers=auth(t.test_key)
    ).get_json()
    assert [e["id"] for e in rest["data"]] == [ids[0]] and rest["has_more"] is False


def test_scopes_are_enforced(app: Flask) -> None:
    reader = make_tenant(app, scopes=["webhooks:read", "events:read"])
    client = app.test_client()
    assert client.get("/v1/webhook_endpoints", headers=auth(reader.test_key)).status_code == 200
    resp = post(
        app, reader.test_key, "/v1/webhook_endpoints", {"url": "http://localhost:9/", "enabled_events": ["*"]}
    )
    assert_problem(resp, 403, "scope_insufficient")
    nobody = make_tenant(app, scopes=["account:read"])
    assert_problem(client.get("/v1/webhook_endpoints", headers=auth(nobody.test_key)), 403)
    assert_problem(client.get("/v1/events", headers=auth(nobody.test_key)), 403)


def test_institutions_can_register_endpoints_too(app: Flask) -> None:
    bank = make_tenant(app, TenantKind.INSTITUTION, "Bank")
    resp = post(
        app, bank.test_key, "/v1/webhook_endpoints", {"url": "http://localhost:9/", "enabled_events": ["*"]}
    )
    assert resp.status_code == 201


def test_other_tenants_and_the_other_mode_get_404_everywhere(any_app: Flask) -> None:
    owner, other = make_tenant(any_app, name="Owner"), make_tenant(any_app, name="Other")
    ep = post(
        any_app,
        owner.test_key,
        "/v1/webhook_endpoints",
        {"url": "http://localhost:9/", "enabled_events": ["*"]},
    ).get_json()
    client = any_app.test_client()
    base = f"/v1/webhook_endpoints/{ep['id']}"
    for key in (other.test_key, other.live_key, owner.live_key):
        h = auth(key)
        assert_problem(client.get(base, headers=h), 404, "resource_missing")
        assert_problem(client.post(base, json={"description": "x"}, headers=h), 404)
        assert_problem(client.delete(base, headers=h), 404)
        assert_problem(client.post(f"{base}/rotate_secret", json={}, headers=h), 404)
        assert_problem(client.get(f"{base}/attempts", headers=h), 404)
        assert_problem(client.post(f"{base}/replay", json={"since": ep["created"]}, headers=h), 404)
        assert client.get("/v1/webhook_endpoints", headers=h).get_json()["data"] == []
    # The owner still has it, untouched.
    assert client.get(base, headers=auth(owner.test_key)).get_json()["status"] == "enabled"


def test_a_shared_server_refuses_loopback_endpoints_in_test_mode_too(app: Flask) -> None:
    t = make_tenant(app)
    stub_dns(app, {"localhost": ["127.0.0.1"], "hooks.partner.example": [PUBLIC]})
    runtime(app).test_loopback = False  # LENDBRIDGE_WEBHOOK_TEST_LOOPBACK=0
    for url in ("http://localhost:8000/hooks", "http://127.0.0.1:15672/api/users", "http://[::1]/x"):
        resp = post(app, t.test_key, "/v1/webhook_endpoints", {"url": url, "enabled_events": ["*"]})
        problem = assert_problem(resp, 422, "parameter_invalid")
        assert problem["param"] == "url" and "local server" in problem["detail"], (url, problem)
    public = {"url": "http://hooks.partner.example/", "enabled_events": ["*"]}
    ok = post(app, t.test_key, "/v1/webhook_endpoints", public)
    assert ok.status_code == 201
