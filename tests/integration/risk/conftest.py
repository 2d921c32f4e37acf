"""Risk integration fixtures: an app on a frozen clock, on both databases, with the
identity area real and the products/loans ports faked (see tests/factories/risk.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.core.clock import FrozenClock
from tests.factories.risk import (
    Keys,
    TestIntegrations,
    fast_bureau,
    partner_and_operator,
    use_test_integrations,
)

NOON = datetime(2026, 3, 16, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOON)


def _app(
    request: pytest.FixtureRequest, settings: Settings, clock: FrozenClock, **overrides: object
) -> Flask:
    if request.param == "postgresql":
        from tests.conftest import truncate_all

        url = request.getfixturevalue("pg_url")
        truncate_all(url)
        settings = Settings.for_tests(settings.data_dir, database_url=url, **overrides)  # type: ignore[arg-type]
    elif overrides:
        settings = Settings.for_tests(settings.data_dir, **overrides)  # type: ignore[arg-type]
    return create_app(settings, clock=clock)


@pytest.fixture(params=["sqlite", "postgresql"])
def risk_app(request: pytest.FixtureRequest, settings: Settings, clock: FrozenClock) -> Iterator[Flask]:
    app = _app(request, settings, clock)
    fast_bureau(app)
    yield app
    app.extensions["lendbridge"].tasks.shutdown()
    app.extensions["lendbridge"].db.engine.dispose()


@pytest.fixture
def integ(risk_app: Flask) -> TestIntegrations:
    return use_test_integrations(risk_app)


@pytest.fixture
def keys(risk_app: Flask) -> Keys:
    return partner_and_operator(risk_app)
