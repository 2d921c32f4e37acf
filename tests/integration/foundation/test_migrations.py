"""Migrations build the schema from empty on both databases and match the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lendbridge.db import make_engine
from lendbridge.migrate import is_current, upgrade
from lendbridge.models import metadata


def _no_drift(url: str) -> None:
    engine = make_engine(url)
    assert is_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_sqlite_from_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    upgrade(make_engine(url))
    _no_drift(url)


def test_postgresql_from_empty(pg_url: str) -> None:
    # pg_url is a database migrated from empty for this session.
    _no_drift(pg_url)
