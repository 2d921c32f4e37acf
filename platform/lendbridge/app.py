"""The application factory. Importing this module builds nothing."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from typing import Any, cast

from flask import Blueprint, Flask, Response, request
from flask_limiter import Limiter

from lendbridge.config import Settings
from lendbridge.core.clock import Clock, SystemClock
from lendbridge.db import Database, make_database
from lendbridge.http import lifecycle, problems
from lendbridge.http.api import LendBridgeApi, spec_kwargs
from lendbridge.http.problems import problem
from lendbridge.http.schemas import UnixTime
from lendbridge.tasks import CeleryRunner, InlineRunner, TaskRunner
from lendbridge.tenancy.services import Authenticator

API_VERSION = "2026-11-01"
JSON_TYPES = ("application/json", "application/problem+json")


@dataclass
class Services:
    """Everything a request or task needs, built once per app."""

    settings: Settings
    db: Database
    clock: Clock
    authenticator: Authenticator
    tasks: TaskRunner
    limiter: Limiter


def _load_or_create_secret(settings: Settings, name: str) -> str:
    """Embedded mode keeps generated secrets in the data dir (mode 0600)."""
    path = settings.data_dir / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value


def _client_key() -> str:
    header = request.headers.get("Authorization", "")
    if header:
        import hashlib

        return "cred:" + hashlib.sha256(header.encode()).hexdigest()[:24]
    return "ip:" + (request.remote_addr or "unknown")


def _require_json_body() -> Response | None:
    if request.method not in ("POST", "PUT", "PATCH") or request.path.startswith("/v1/oauth/"):
        return None
    if not request.content_length and not request.headers.get("Transfer-Encoding"):
        return None
    if request.mimetype not in JSON_TYPES:
        return problem(
            415,
            "unsupported_media_type",
            "Unsupported media type",
            "Send the request body as application/json",
        )
    return None


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    settings = settings or Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=settings.log_level)

    app = Flask("lendbridge")
    app.config.update(
        SECRET_KEY=settings.secret_key or _load_or_create_secret(settings, "secret.key"),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="LendBridge API",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/v1",
        OPENAPI_JSON_PATH="openapi.json",
        TESTING=settings.testing,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    db = make_database(settings.database_url)
    lifecycle.init_app(app)  # before the limiter: the request id exists when a 429 is rendered
    app.before_request(_require_json_body)
    limiter = Limiter(
        key_func=_client_key,
        app=app,
        default_limits=[settings.rate_limit],
        storage_uri=settings.redis_url if settings.redis_url else "memory://",
        strategy="fixed-window",
        # One storage round trip per request; Retry-After is computed only on a 429.
        headers_enabled=False,
    )
    tasks: TaskRunner = (
        CeleryRunner(app, settings.redis_url)
        if settings.tasks == "celery" and settings.redis_url
        else InlineRunner(app)
    )
    app.extensions["lendbridge"] = Services(
        settings=settings,
        db=db,
        clock=clock or SystemClock(),
        authenticator=Authenticator(db, settings.api_key_cache_ttl),
        tasks=tasks,
        limiter=limiter,
    )

    api = LendBridgeApi(app, spec_kwargs=spec_kwargs())
    api.register_field(UnixTime, "integer", "int64")
    _register_areas(app, api, limiter)
    if isinstance(tasks, CeleryRunner):
        tasks.register_tasks()
    problems.register(app)
    return app


def _register_areas(app: Flask, api: Any, limiter: Limiter) -> None:
    from lendbridge.http import docs
    from lendbridge.identity import api as identity_api
    from lendbridge.loans import api as loans_api
    from lendbridge.payments import api as payments_api
    from lendbridge.risk import api as risk_api
    from lendbridge.sandbox import api as sandbox_api
    from lendbridge.tenancy import api as tenancy_api
    from lendbridge.tenancy import oauth
    from lendbridge.webhooks.runtime import init_app as init_webhooks
    from lendbridge.widget import api as widget_api

    api.register_blueprint(tenancy_api.account_blp)
    api.register_blueprint(tenancy_api.admin_blp)
    api.register_blueprint(sandbox_api.blp)
    api.register_blueprint(sandbox_api.controls_blp)
    identity_api.init_app(app, api)  # borrowers, consents, KYC; personal-data keys
    init_webhooks(app, api)  # events and webhooks blueprints, relay wake-ups
    risk_api.register(app, api)  # applications, decisions, offers; review queue and risk rules
    payments_api.register(app, api)  # disbursement, mandates, custody accounts, reconciliation
    loans_api.register(api)  # products, loans, credit lines, ledger trial balance; COB schedule
    widget_api.register(app, api, limiter)  # widget sessions, /widget/v1 (CORS), the widget script
    oauth.init_app(app, app.extensions["lendbridge"].settings.oauth_token_ttl)
    docs.init_app(app)
    # Reference pages are static and public: no rate limit.
    limiter.exempt(docs.blueprint)
    limiter.exempt(cast(Blueprint, app.blueprints["api-docs"]))


def services(app: Flask) -> Services:
    svc: Services = app.extensions["lendbridge"]
    return svc
