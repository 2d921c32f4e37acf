"""OAuth2 client credentials: issue, use, expiry, scope denial."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.core.clock import FrozenClock
from lendbridge.tenancy.domain import TenantKind
from tests.factories.tenancy import auth, make_tenant


def _client(
    app: Flask, operator_key: str, tenant_id: str, scopes: list[str] | None = None
) -> tuple[str, str]:
    body = {"livemode": False} | ({"scopes": scopes} if scopes else {})
    resp = app.test_client().post(
        f"/admin/v1/tenants/{tenant_id}/oauth_clients", json=body, headers=auth(operator_key)
    )
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    return data["client_id"], data["client_secret"]


def test_client_credentials_token_works_like_a_key(any_app: Flask) -> None:
    op = make_tenant(any_app, TenantKind.OPERATOR)
    partner = make_tenant(any_app)
    client_id, secret = _client(any_app, op.test_key, partner.tenant_id)
    http = any_app.test_client()
    resp = http.post("/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    token = resp.get_json()
    assert token["token_type"].lower() == "bearer" and token["expires_in"] > 0
    assert token["access_token"].startswith("at_test_")
    account = http.get("/v1/account", headers=auth(token["access_token"])).get_json()
    assert account["id"] == partner.tenant_id and account["credential"]["type"] == "oauth_client"


def test_client_secret_post_is_accepted(app: Flask) -> None:
    op = make_tenant(app, TenantKind.OPERATOR)
    partner = make_tenant(app)
    client_id, secret = _client(app, op.test_key, partner.tenant_id)
    resp = app.test_client().post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert resp.status_code == 200


def test_wrong_secret_is_refused_as_problem_json(app: Flask) -> None:
    op = make_tenant(app, TenantKind.OPERATOR)
    partner = make_tenant(app)
    client_id, _ = _client(app, op.test_key, partner.tenant_id)
    resp = app.test_client().post(
        "/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "cs_test_wrong")
    )
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["error"] == "invalid_client" and body["request_id"]


def test_unsupported_grant_is_refused(app: Flask) -> None:
    op = make_tenant(app, TenantKind.OPERATOR)
    partner = make_tenant(app)
    client_id, secret = _client(app, op.test_key, partner.tenant_id)
    resp = app.test_client().post(
        "/v1/oauth/token", data={"grant_type": "password"}, auth=(client_id, secret)
    )
    assert resp.status_code == 400 and resp.get_json()["error"] == "unsupported_grant_type"


def test_token_limited_to_requested_scopes_is_denied_elsewhere(app: Flask) -> None:
    op = make_tenant(app, TenantKind.OPERATOR)
    partner = make_tenant(app)
    client_id, secret = _client(app, op.test_key, partner.tenant_id, scopes=["loans:read"])
    http = app.test_client()
    token = http.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", "scope": "loans:read"},
        auth=(client_id, secret),
    ).get_json()
    assert token["scope"] == "loans:read"
    resp = http.get("/v1/account", headers=auth(token["access_token"]))
    assert resp.status_code == 403 and resp.get_json()["code"] == "scope_insufficient"


def test_clients_cannot_be_granted_scopes_beyond_their_kind(app: Flask) -> None:
    op = make_tenant(app, TenantKind.OPERATOR)
    partner = make_tenant(app)
    resp = app.test_client().post(
        f"/admin/v1/tenants/{partner.tenant_id}/oauth_clients",
        json={"scopes": ["admin:keys"]},
        headers=auth(op.test_key),
    )
    assert resp.status_code == 422 and resp.get_json()["param"] == "scopes"


def test_expired_token_is_401_token_expired(tmp_path: Path, sqlite_template: Path) -> None:
    import shutil

    shutil.copy(sqlite_template, tmp_path / "lendbridge.sqlite3")
    clock = FrozenClock(datetime(2026, 11, 1, tzinfo=UTC))
    app = create_app(Settings.for_tests(tmp_path, oauth_token_ttl=60), clock=clock)
    op = make_tenant(app, TenantKind.OPERATOR)
    partner = make_tenant(app)
    client_id, secret = _client(app, op.test_key, partner.tenant_id)
    http = app.test_client()
    token = http.post(
        "/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    ).get_json()["access_token"]
    assert http.get("/v1/account", headers=auth(token)).status_code == 200
    clock.advance(timedelta(seconds=61))
    resp = http.get("/v1/account", headers=auth(token))
    assert resp.status_code == 401 and resp.get_json()["code"] == "token_expired"
