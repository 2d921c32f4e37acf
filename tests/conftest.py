"""Shared fixtures: an app per test on SQLite (from a migrated template) or PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.db import make_engine
from lendbridge.migrate import upgrade
from lendbridge.models import metadata
from tests.services import POSTGRES_URL, require

REPO = Path(__file__).resolve().parents[1]
VECTORS = REPO.parent / "shared" / "vectors"


def load_vectors(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("template") / "lendbridge.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL database of this xdist worker."""
    require("postgresql")
    # One database per test process: concurrent pytest runs on one machine never share one.
    name = f"lendbridge_test_{_worker()}_{os.getpid()}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def truncate_all(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        # Append-only triggers refuse DELETE but not TRUNCATE, which is what tests need.
        conn.execute(text(f"TRUNCATE {tables} CASCADE"))
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    shutil.copy(sqlite_template, tmp_path / "lendbridge.sqlite3")
    return Settings.for_tests(tmp_path)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    application.extensions["lendbridge"].tasks.shutdown()
    application.extensions["lendbridge"].db.engine.dispose()


@pytest.fixture
def pg_app(tmp_path: Path, pg_url: str) -> Iterator[Flask]:
    truncate_all(pg_url)
    application = create_app(Settings.for_tests(tmp_path, database_url=pg_url))
    yield application
    application.extensions["lendbridge"].tasks.shutdown()
    application.extensions["lendbridge"].db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    """The same test on both databases."""
    name = "app" if request.param == "sqlite" else "pg_app"
    application: Flask = request.getfixturevalue(name)
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
