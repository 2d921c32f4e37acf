from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from lendbridge.config import Settings


def test_no_variables_gives_the_embedded_default(tmp_path: Path) -> None:
    s = Settings.from_env({"LENDBRIDGE_DATA_DIR": str(tmp_path)})
    assert s.embedded and s.tasks == "inline" and s.redis_url is None
    assert s.database_url == f"sqlite:///{tmp_path / 'lendbridge.sqlite3'}"


def test_variables_give_the_production_shape() -> None:
    s = Settings.from_env(
        {
            "LENDBRIDGE_DATABASE_URL": "postgresql://db/lendbridge",
            "LENDBRIDGE_REDIS_URL": "redis://cache:6379/0",
            "LENDBRIDGE_TASKS": "celery",
            "LENDBRIDGE_APR_CAP": "0.24",
            "LENDBRIDGE_JUDICIAL_APR_CAP": "0.154",
        }
    )
    assert not s.embedded and s.tasks == "celery"
    assert s.effective_apr_cap == Decimal("0.154")


def test_celery_without_redis_is_refused() -> None:
    with pytest.raises(ValueError, match="REDIS"):
        Settings.from_env({"LENDBRIDGE_TASKS": "celery"})


def test_unknown_task_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        Settings.from_env({"LENDBRIDGE_TASKS": "threads"})


def test_event_retention_defaults_to_90_days_and_never_drops_below_the_listed_30() -> None:
    assert Settings.from_env({}).event_retention_days == 90
    assert Settings.from_env({"LENDBRIDGE_EVENT_RETENTION_DAYS": "365"}).event_retention_days == 365
    with pytest.raises(ValueError, match="at least 31"):
        Settings.from_env({"LENDBRIDGE_EVENT_RETENTION_DAYS": "7"})


def test_loopback_webhooks_in_test_mode_only_on_a_local_embedded_server() -> None:
    pg = {"LENDBRIDGE_DATABASE_URL": "postgresql://db/lendbridge"}
    assert Settings.from_env({}).allows_test_loopback_webhooks
    assert not Settings.from_env(pg).allows_test_loopback_webhooks
    assert Settings.from_env({**pg, "LENDBRIDGE_WEBHOOK_TEST_LOOPBACK": "1"}).allows_test_loopback_webhooks
    assert not Settings.from_env({"LENDBRIDGE_WEBHOOK_TEST_LOOPBACK": "off"}).allows_test_loopback_webhooks


def test_global_simulator_faults_only_on_a_local_embedded_server() -> None:
    pg = {"LENDBRIDGE_DATABASE_URL": "postgresql://db/lendbridge"}
    assert Settings.from_env({}).allows_global_simulator_controls
    assert not Settings.from_env(pg).allows_global_simulator_controls
    shared_on = {**pg, "LENDBRIDGE_SANDBOX_GLOBAL_CONTROLS": "on"}
    assert Settings.from_env(shared_on).allows_global_simulator_controls
    assert not Settings.from_env({"LENDBRIDGE_SANDBOX_GLOBAL_CONTROLS": "0"}).allows_global_simulator_controls
