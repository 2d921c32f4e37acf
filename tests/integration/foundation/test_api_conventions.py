"""Conventions every endpoint shares: auth, problem+json, request ids, OpenAPI, docs."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lendbridge.tenancy.domain import TenantKind
from tests.factories.tenancy import auth, make_tenant

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "param", "request_id"}


def assert_problem(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body: dict[str, Any] = resp.get_json(force=True)
    assert PROBLEM_FIELDS <= set(body)
    assert body["status"] == status
    assert body["request_id"] == resp.headers["X-Request-Id"]
    if code:
        assert body["code"] == code
    return body


def test_account_says_who_the_caller_is(any_app: Flask) -> None:
    partner = make_tenant(any_app, TenantKind.PARTNER, "EduLink")
    client = any_app.test_client()
    body = client.get("/v1/account", headers=auth(partner.test_key)).get_json()
    assert body["object"] == "account" and body["id"] == partner.tenant_id
    assert body["kind"] == "partner" and body["livemode"] is False
    assert "loans:read" in body["scopes"] and "pii:read" not in body["scopes"]
    live = client.get("/v1/account", headers=auth(partner.live_key)).get_json()
    assert live["livemode"] is True


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "authentication_required"),
        ({"Authorization": "Basic abc"}, "authentication_required"),
        ({"Authorization": "Bearer sk_test_" + "x" * 32}, "api_key_invalid"),
        ({"Authorization": "Bearer nonsense"}, "api_key_invalid"),
    ],
)
def test_missing_or_bad_credentials_are_401(client: FlaskClient, headers: dict[str, str], code: str) -> None:
    assert_problem(client.get("/v1/account", headers=headers), 401, code)


def test_revoked_key_stops_working_and_other_keys_keep_working(app: Flask) -> None:
    operator = make_tenant(app, TenantKind.OPERATOR, "Ops")
    partner = make_tenant(app, TenantKind.PARTNER, "P")
    client = app.test_client()
    keys = client.get(
        f"/admin/v1/tenants/{partner.tenant_id}/keys", headers=auth(operator.test_key)
    ).get_json()
    test_key_id = next(k["id"] for k in keys["data"] if k["kind"] == "secret" and not k["livemode"])
    assert all(k["secret"] is None for k in keys["data"])
    resp = client.post(
        f"/admin/v1/tenants/{partner.tenant_id}/keys/{test_key_id}/revoke", headers=auth(operator.test_key)
    )
    assert resp.status_code == 200 and resp.get_json()["revoked"] is not None
    assert_problem(client.get("/v1/account", headers=auth(partner.test_key)), 401, "api_key_revoked")
    assert client.get("/v1/account", headers=auth(partner.live_key)).status_code == 200


def test_every_response_has_a_request_id(client: FlaskClient) -> None:
    ids = {client.get("/v1/openapi.json").headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3 and all(i.startswith("req_") for i in ids)


def test_unknown_url_is_404_problem(app: Flask) -> None:
    partner = make_tenant(app)
    assert_problem(
        app.test_client().get("/v1/no_such_thing", headers=auth(partner.test_key)), 404, "resource_missing"
    )


def test_wrong_method_is_405_problem(app: Flask) -> None:
    partner = make_tenant(app)
    resp = app.test_client().delete("/v1/account", headers=auth(partner.test_key))
    assert_problem(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["Allow"]


def test_malformed_json_is_400_problem(app: Flask) -> None:
    operator = make_tenant(app, TenantKind.OPERATOR)
    resp = app.test_client().post(
        "/admin/v1/partners",
        data=b"{not json",
        content_type="application/json",
        headers=auth(operator.test_key),
    )
    assert_problem(resp, 400, "invalid_json")


def test_non_json_body_is_415_problem(app: Flask) -> None:
    operator = make_tenant(app, TenantKind.OPERATOR)
    resp = app.test_client().post(
        "/admin/v1/partners", data="name=x", content_type="text/plain", headers=auth(operator.test_key)
    )
    assert_problem(resp, 415, "unsupported_media_type")


def test_database_outage_is_503_problem_not_500(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    partner = make_tenant(app)

    def gone(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr(Session, "execute", gone)
    resp = app.test_client().get("/v1/account", headers=auth(partner.test_key))
    body = assert_problem(resp, 503, "database_unavailable")
    assert resp.headers["LendBridge-Should-Retry"] == "true"
    assert "server closed" not in body["detail"]
    monkeypatch.undo()
    assert app.test_client().get("/v1/account", headers=auth(partner.test_key)).status_code == 200


def test_oversized_body_is_413_problem(app: Flask) -> None:
    operator = make_tenant(app, TenantKind.OPERATOR)
    big = b'{"name": "' + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10) + b'"}'
    resp = app.test_client().post(
        "/admin/v1/partners", data=big, content_type="application/json", headers=auth(operator.test_key)
    )
    assert_problem(resp, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": ""}, "name"),
        ({}, "name"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": 12}, "name"),
    ],
)
def test_invalid_fields_are_422_naming_the_param(app: Flask, body: dict[str, Any], param: str) -> None:
    operator = make_tenant(app, TenantKind.OPERATOR)
    resp = app.test_client().post("/admin/v1/partners", json=body, headers=auth(operator.test_key))
    assert assert_problem(resp, 422, "parameter_invalid")["param"] == param


def test_partner_key_cannot_use_the_admin_api(app: Flask) -> None:
    partner = make_tenant(app)
    resp = app.test_client().post("/admin/v1/partners", json={"name": "x"}, headers=auth(partner.test_key))
    assert_problem(resp, 403, "scope_insufficient")


def test_openapi_document_describes_the_api(client: FlaskClient) -> None:
    spec = client.get("/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/v1/account" in spec["paths"] and "/admin/v1/partners" in spec["paths"]
    op = spec["paths"]["/v1/account"]["get"]
    assert op["security"] == [{"bearerAuth": []}]
    assert op["x-required-scope"] == "account:read"
    assert "ProblemSchema" in spec["components"]["schemas"] or "Problem" in str(spec["components"])


def test_reference_page_works_offline(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assert "/v1/account" in page and "<script src=" not in page and "cdn" not in page.lower()


def test_cross_tenant_admin_objects_are_404(app: Flask) -> None:
    operator = make_tenant(app, TenantKind.OPERATOR)
    a, b = make_tenant(app, name="A"), make_tenant(app, name="B")
    client = app.test_client()
    keys_b = client.get(f"/admin/v1/tenants/{b.tenant_id}/keys", headers=auth(operator.test_key)).get_json()
    resp = client.post(
        f"/admin/v1/tenants/{a.tenant_id}/keys/{keys_b['data'][0]['id']}/revoke",
        headers=auth(operator.test_key),
    )
    assert_problem(resp, 404, "resource_missing")
    assert_problem(client.get(f"/admin/v1/institutions/{a.tenant_id}", headers=auth(operator.test_key)), 404)
