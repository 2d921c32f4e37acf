"""Settings from `LENDBRIDGE_*` environment variables, one line per variable.

Nothing set gives the embedded default: a SQLite file under the data dir, in-memory rate
limits and caches, tasks run inline. Setting LENDBRIDGE_DATABASE_URL / LENDBRIDGE_REDIS_URL /
LENDBRIDGE_TASKS=celery gives the production shape: PostgreSQL via psycopg 3, Redis, Celery.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Literal

TaskMode = Literal["inline", "celery"]
MIN_EVENT_RETENTION_DAYS = 31


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None = None
    tasks: TaskMode = "inline"
    secret_key: str | None = field(default=None, repr=False)
    master_key: str | None = field(default=None, repr=False)
    master_key_file: Path | None = None
    rate_limit: str = "100/second"
    apr_cap: Decimal = Decimal("0.24")
    judicial_apr_cap: Decimal | None = None
    sm2_private_key: str | None = field(default=None, repr=False)  # signs loan agreements
    oauth_token_ttl: int = 3600
    api_key_cache_ttl: float = 2.0
    max_body_bytes: int = 8 * 1024 * 1024
    run_scheduler: bool = True
    testing: bool = False
    log_level: str = "INFO"
    public_url: str | None = None
    event_retention_days: int = 90
    webhook_test_loopback: bool | None = None  # None: only in the embedded mode
    sandbox_global_controls: bool | None = None  # None: only in the embedded mode

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def allows_test_loopback_webhooks(self) -> bool:
        """Test-mode webhooks to localhost: right on a developer's machine (the embedded
        mode), wrong on a shared sandbox server, where any partner's test key could make the
        server POST to services listening on its own loopback interface."""
        if self.webhook_test_loopback is not None:
            return self.webhook_test_loopback
        return self.embedded

    @property
    def allows_global_simulator_controls(self) -> bool:
        """Faults every test-mode tenant of the server would feel (a channel outage, the
        bureau's latency, a shared test card's balance): right on a developer's own server,
        wrong on a shared sandbox, where one partner's outage would break everyone's tests."""
        if self.sandbox_global_controls is not None:
            return self.sandbox_global_controls
        return self.embedded

    @property
    def effective_apr_cap(self) -> Decimal:
        """The lowest cap in force: the platform cap or the judicial cap when set."""
        if self.judicial_apr_cap is not None:
            return min(self.apr_cap, self.judicial_apr_cap)
        return self.apr_cap

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("LENDBRIDGE_DATA_DIR", "var")).resolve()
        s = cls(
            data_dir=data_dir,
            database_url=env.get("LENDBRIDGE_DATABASE_URL") or f"sqlite:///{data_dir / 'lendbridge.sqlite3'}",
        )
        changes: dict[str, object] = {}
        _maybe(changes, env, "LENDBRIDGE_REDIS_URL", "redis_url")
        _maybe(changes, env, "LENDBRIDGE_TASKS", "tasks")
        _maybe(changes, env, "LENDBRIDGE_SECRET_KEY", "secret_key")
        _maybe(changes, env, "LENDBRIDGE_MASTER_KEY", "master_key")
        _maybe(changes, env, "LENDBRIDGE_MASTER_KEY_FILE", "master_key_file", Path)
        _maybe(changes, env, "LENDBRIDGE_RATE_LIMIT", "rate_limit")
        _maybe(changes, env, "LENDBRIDGE_APR_CAP", "apr_cap", Decimal)
        _maybe(changes, env, "LENDBRIDGE_JUDICIAL_APR_CAP", "judicial_apr_cap", Decimal)
        _maybe(changes, env, "LENDBRIDGE_SM2_PRIVATE_KEY", "sm2_private_key")
        _maybe(changes, env, "LENDBRIDGE_OAUTH_TOKEN_TTL", "oauth_token_ttl", int)
        _maybe(changes, env, "LENDBRIDGE_API_KEY_CACHE_TTL", "api_key_cache_ttl", float)
        _maybe(changes, env, "LENDBRIDGE_LOG_LEVEL", "log_level")
        _maybe(changes, env, "LENDBRIDGE_PUBLIC_URL", "public_url")
        _maybe(changes, env, "LENDBRIDGE_EVENT_RETENTION_DAYS", "event_retention_days", int)
        if "LENDBRIDGE_SCHEDULER" in env:
            changes["run_scheduler"] = _switch(env["LENDBRIDGE_SCHEDULER"])
        if env.get("LENDBRIDGE_SANDBOX_GLOBAL_CONTROLS"):
            changes["sandbox_global_controls"] = _switch(env["LENDBRIDGE_SANDBOX_GLOBAL_CONTROLS"])
        if env.get("LENDBRIDGE_WEBHOOK_TEST_LOOPBACK"):
            changes["webhook_test_loopback"] = _switch(env["LENDBRIDGE_WEBHOOK_TEST_LOOPBACK"])
        s = replace(s, **changes)  # type: ignore[arg-type]
        if s.tasks not in ("inline", "celery"):
            raise ValueError("LENDBRIDGE_TASKS must be 'inline' or 'celery'")
        if s.event_retention_days < MIN_EVENT_RETENTION_DAYS:
            raise ValueError(
                f"LENDBRIDGE_EVENT_RETENTION_DAYS must be at least {MIN_EVENT_RETENTION_DAYS}: "
                "events are listed and replayable for 30 days"
            )
        if s.tasks == "celery" and not s.redis_url:
            raise ValueError("LENDBRIDGE_TASKS=celery needs LENDBRIDGE_REDIS_URL for the broker")
        return s

    @classmethod
    def for_tests(cls, data_dir: Path, **overrides: object) -> Settings:
        """Embedded settings for one test: own data dir, no background scheduler."""
        base = cls(
            data_dir=data_dir,
            database_url=f"sqlite:///{data_dir / 'lendbridge.sqlite3'}",
            run_scheduler=False,
            testing=True,
            secret_key="test-secret",  # noqa: S106 - tests only
            api_key_cache_ttl=0.0,
            webhook_test_loopback=True,  # tests receive webhooks on 127.0.0.1, on SQLite and PostgreSQL
            sandbox_global_controls=True,  # each test has its own server's simulators
        )
        return replace(base, **overrides)  # type: ignore[arg-type]


def _switch(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "off", "no")


def _maybe(
    changes: dict[str, object], env: Mapping[str, str], var: str, name: str, convert: type = str
) -> None:
    value = env.get(var)
    if value:
        changes[name] = convert(value)
