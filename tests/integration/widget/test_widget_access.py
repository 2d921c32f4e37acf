"""Who may call `/widget/v1`: the publishable key plus the session secret, from an allowed
origin; CORS only there; the widget script served for any page."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.core.clock import FrozenClock
from lendbridge.tenancy.domain import TenantKind
from tests.factories.tenancy import auth, make_tenant
from tests.factories.widget import create_session, make_partner, use_fake_lending, widget_headers

pytestmark = pytest.mark.integration
ORIGIN = "https://edulink.example"


def test_the_widget_reads_its_session_with_the_publishable_key_and_secret(any_app: Flask) -> None:
    keys = make_partner(any_app)
    client = any_app.test_client()
    body, secret = create_session(
        client, keys.test_key, borrower_hint={"name": "李明", "phone": "13812345678"}
    )
    resp = client.get("/widget/v1/session", headers=widget_headers(keys.publishable_key, secret, ORIGIN))
    view = resp.get_json()
    assert resp.status_code == 200 and view["id"] == body["id"] and view["stage"] == "start"
    assert view["borrower_hint"] == {"name": "李明", "phone": "13812345678"}
    assert view["partner_name"] == "Acme" and view["amount"] == 1_000_000
    assert {c["kind"] for c in view["consents"] if c["required"]} == {
        "credit_bureau_query",
        "data_processing",
    }
    assert all(c["text"]["zh-CN"] and c["text"]["en"] for c in view["consents"])
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("which", ["test_key", "live_key"])
def test_a_secret_key_is_refused_by_the_widget_api(app: Flask, which: str) -> None:
    keys = make_partner(app)
    client = app.test_client()
    _, secret = create_session(client, keys.test_key)
    resp = client.get("/widget/v1/session", headers=widget_headers(getattr(keys, which), secret))
    assert resp.status_code == 403 and resp.get_json()["code"] == "scope_insufficient"


def test_the_publishable_key_reaches_nothing_else(app: Flask) -> None:
    keys = make_partner(app)
    client = app.test_client()
    for path in ("/v1/account", "/v1/widget_sessions", "/v1/borrowers"):
        assert client.get(path, headers=auth(keys.publishable_key)).status_code == 403, path


@pytest.mark.parametrize(
    ("secret_of", "code"),
    [
        (lambda s: None, "widget_session_required"),
        (lambda s: s[:-2] + ("zz" if not s.endswith("zz") else "yy"), "widget_session_invalid"),
        (lambda s: "ws_01AAAAAAAAAAAAAAAAAAAAAAAA_secret_" + "x" * 32, "widget_session_invalid"),
        (lambda s: "not-a-secret", "widget_session_invalid"),
    ],
)
def test_a_missing_or_wrong_session_secret_is_401(app: Flask, secret_of: object, code: str) -> None:
    keys = make_partner(app)
    client = app.test_client()
    _, secret = create_session(client, keys.test_key)
    given = secret_of(secret)  # type: ignore[operator]
    headers = {"Authorization": f"Bearer {keys.publishable_key}"}
    if given is not None:
        headers["LendBridge-Widget-Session"] = given
    resp = client.get("/widget/v1/session", headers=headers)
    assert resp.status_code == 401 and resp.get_json()["code"] == code


def test_a_session_works_only_with_its_own_partners_key(any_app: Flask) -> None:
    a, b = make_partner(any_app, name="A"), make_partner(any_app, name="B")
    client = any_app.test_client()
    _, secret = create_session(client, a.test_key)
    resp = client.get("/widget/v1/session", headers=widget_headers(b.publishable_key, secret))
    assert resp.status_code == 401 and resp.get_json()["code"] == "widget_session_invalid"


def test_a_test_mode_key_cannot_open_a_live_session(app: Flask) -> None:
    keys = make_partner(app)
    client = app.test_client()
    _, secret = create_session(client, keys.live_key)
    resp = client.get("/widget/v1/session", headers=widget_headers(keys.publishable_key, secret))
    assert resp.status_code == 401


def test_an_expired_session_is_refused_and_shows_expired_to_the_partner(
    tmp_path: Path, sqlite_template: Path
) -> None:
    import shutil

    shutil.copy(sqlite_template, tmp_path / "lendbridge.sqlite3")
    clock = FrozenClock(datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    app = create_app(Settings.for_tests(tmp_path), clock=clock)
    try:
        keys = make_partner(app)
        client = app.test_client()
        body, secret = create_session(client, keys.test_key, expires_in=300)
        headers = widget_headers(keys.publishable_key, secret)
        assert client.get("/widget/v1/session", headers=headers).status_code == 200
        clock.advance(timedelta(seconds=300))
        resp = client.get("/widget/v1/session", headers=headers)
        assert resp.status_code == 401 and resp.get_json()["code"] == "widget_session_expired"
        got = client.get(f"/v1/widget_sessions/{body['id']}", headers=auth(keys.test_key)).get_json()
        assert got["status"] == "expired"
    finally:
        app.extensions["lendbridge"].tasks.shutdown()
        app.extensions["lendbridge"].db.engine.dispose()


def test_widget_endpoints_answer_cors_preflights_and_echo_the_origin(app: Flask) -> None:
    keys = make_partner(app)
    client = app.test_client()
    _, secret = create_session(client, keys.test_key)
    pre = client.options(
        "/widget/v1/otp",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, lendbridge-widget-session",
        },
    )
    assert pre.status_code == 200 and pre.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    allowed = {h.strip().lower() for h in pre.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "lendbridge-widget-session"} <= allowed
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    resp = client.get(
        "/widget/v1/session", headers=widget_headers(keys.publishable_key, secret, "http://localhost:3000")
    )
    assert (
        resp.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        and "Origin" in resp.headers["Vary"]
    )
    assert "X-Request-Id" in resp.headers["Access-Control-Expose-Headers"]
    assert resp.headers.get("Access-Control-Allow-Credentials") is None


def test_the_secret_key_api_never_answers_cross_origin(app: Flask) -> None:
    keys = make_partner(app)
    client = app.test_client()
    for path in ("/v1/account", "/v1/widget_sessions"):
        pre = client.options(path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
        got = client.get(path, headers={**auth(keys.test_key), "Origin": ORIGIN})
        assert (
            "Access-Control-Allow-Origin" not in pre.headers
            and "Access-Control-Allow-Origin" not in got.headers
        )


def test_live_mode_allows_only_the_partners_origins(app: Flask) -> None:
    keys = make_partner(app)
    client = app.test_client()
    live_pk = client.post(
        f"/admin/v1/tenants/{keys.tenant_id}/keys",
        json={"kind": "publishable", "livemode": True},
        headers=auth(make_tenant(app, TenantKind.OPERATOR, "Ops").test_key),
    ).get_json()["secret"]
    client.post("/v1/widget_settings", json={"allowed_origins": [ORIGIN]}, headers=auth(keys.live_key))
    _, secret = create_session(client, keys.live_key)
    ok = client.get("/widget/v1/session", headers=widget_headers(live_pk, secret, ORIGIN))
    assert ok.status_code == 200
    denied = client.get("/widget/v1/session", headers=widget_headers(live_pk, secret, "https://evil.example"))
    assert denied.status_code == 403 and denied.get_json()["code"] == "origin_not_allowed"
    assert "borrower_hint" not in denied.get_data(as_text=True)


def test_widget_errors_are_problem_json_with_the_field(app: Flask) -> None:
    keys = make_partner(app)
    use_fake_lending(app)
    client = app.test_client()
    _, secret = create_session(client, keys.test_key)
    resp = client.post(
        "/widget/v1/otp", json={"phone": "1381234"}, headers=widget_headers(keys.publishable_key, secret)
    )
    body = resp.get_json()
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert (
        body["param"] == "phone" and body["code"] == "phone_length" and body["request_id"].startswith("req_")
    )
    resp = client.post(
        "/widget/v1/otp",
        json={"phone": "13812345678", "mobile": "1"},
        headers=widget_headers(keys.publishable_key, secret),
    )
    assert resp.status_code == 422 and resp.get_json()["param"] == "mobile"


def test_the_widget_script_is_served_cacheable_compressed_and_to_any_page(app: Flask) -> None:
    client = app.test_client()
    source = (Path(__file__).resolve().parents[3] / "widgets" / "lendbridge-checkout.js").read_bytes()
    plain = client.get("/widget/v1/lendbridge-checkout.js")
    assert plain.status_code == 200 and plain.data == source
    assert plain.headers["Content-Type"].startswith("text/javascript")
    assert plain.headers["Cache-Control"].startswith("public, max-age=")
    assert plain.headers["X-Content-Type-Options"] == "nosniff"
    assert plain.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    zipped = client.get("/widget/v1/lendbridge-checkout.js", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == source
    again = client.get("/widget/v1/lendbridge-checkout.js", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and not again.data
