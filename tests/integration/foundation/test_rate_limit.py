"""Per-client rate limits: 429 problem+json with Retry-After, in memory and on Redis."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from flask import Flask

from lendbridge.app import create_app
from lendbridge.config import Settings
from tests.factories.tenancy import auth, make_tenant
from tests.services import REDIS_URL, require


def _app(tmp_path: Path, template: Path, **overrides: object) -> Flask:
    shutil.copy(template, tmp_path / "lendbridge.sqlite3")
    return create_app(Settings.for_tests(tmp_path, rate_limit="5/minute", **overrides))


def _exhaust(app: Flask) -> None:
    partner, other = make_tenant(app), make_tenant(app, name="Other")
    http = app.test_client()
    statuses = [http.get("/v1/account", headers=auth(partner.test_key)).status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    resp = http.get("/v1/account", headers=auth(partner.test_key))
    assert resp.mimetype == "application/problem+json" and resp.get_json()["code"] == "rate_limited"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert resp.headers["X-Request-Id"] == resp.get_json()["request_id"]
    # Limits are per client: another key is unaffected.
    assert http.get("/v1/account", headers=auth(other.test_key)).status_code == 200


def test_rate_limit_in_memory(tmp_path: Path, sqlite_template: Path) -> None:
    _exhaust(_app(tmp_path, sqlite_template))


@pytest.mark.integration
def test_rate_limit_on_redis(tmp_path: Path, sqlite_template: Path) -> None:
    require("redis")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = _app(tmp_path, sqlite_template, redis_url=REDIS_URL, secret_key=str(uuid.uuid4()))
    _exhaust(app)
    assert any(k.startswith(b"LIMITS") for k in redis.Redis.from_url(REDIS_URL).keys("*"))
