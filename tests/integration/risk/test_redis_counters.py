"""Anti-fraud counters on a real Redis: atomic sliding windows shared by every server."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.core.clock import FrozenClock
from lendbridge.risk.counters import RedisCounterStore
from lendbridge.risk.runtime import runtime
from tests.factories.risk import (
    Keys,
    application,
    partner_and_operator,
    ready_borrower,
    use_test_integrations,
)
from tests.factories.tenancy import auth
from tests.services import REDIS_URL, require

from .conftest import NOON


@pytest.fixture
def store() -> Iterator[RedisCounterStore]:
    require("redis")
    s = RedisCounterStore.from_url(REDIS_URL)
    s.prefix = f"test:risk:{uuid.uuid4().hex}:"
    yield s
    for key in s.client.scan_iter(s.prefix + "*"):
        s.client.delete(key)


def test_redis_counts_distinct_members_in_a_sliding_window(store: RedisCounterStore) -> None:
    assert store.add_and_count("dev", "a", 1000.0, 60) == 1
    assert store.add_and_count("dev", "a", 1001.0, 60) == 1
    assert store.add_and_count("dev", "b", 1002.0, 60) == 2
    assert store.add_and_count("dev", "c", 1061.0, 60) == 2  # "a" (last seen 1001) fell out
    ttl = store.client.ttl(store.prefix + "dev")
    assert 0 < ttl <= 60


def test_concurrent_increments_are_atomic(store: RedisCounterStore) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        count = store.add_and_count("ip", f"m{n}", 5000.0 + n / 1000, 3600)
        with lock:
            results.append(count)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(1, 41))


@pytest.fixture
def two_servers(settings: Settings) -> Iterator[tuple[Flask, Flask]]:
    require("redis")
    clock = FrozenClock(NOON)
    shared = Settings.for_tests(settings.data_dir, redis_url=REDIS_URL)
    apps = (create_app(shared, clock=clock), create_app(shared, clock=clock))
    for a in apps:
        assert isinstance(runtime(a).counters, RedisCounterStore)
        runtime(a).backend.latency_ms = (0.0, 1.0)
    yield apps
    for a in apps:
        a.extensions["lendbridge"].tasks.shutdown()
        a.extensions["lendbridge"].db.engine.dispose()


def test_two_servers_share_the_device_counter(two_servers: tuple[Flask, Flask]) -> None:
    first, second = two_servers
    integ = use_test_integrations(first)
    runtime(second).integrations = integ
    keys: Keys = partner_and_operator(first)
    device: dict[str, Any] = {"fingerprint": f"shared-{uuid.uuid4().hex}", "ip": "192.0.2.10"}
    outcomes = []
    for n in range(4):
        server = (first, second)[n % 2]
        borrower, consents = ready_borrower(server, server.test_client(), keys.partner)
        body = application(borrower, consents, device=device)
        outcomes.append(
            server.test_client()
            .post("/v1/applications", json=body, headers=auth(keys.partner))
            .get_json()["reason_codes"]
        )
    assert outcomes[2] == ["fraud_device_shared"] and outcomes[3] == ["fraud_device_shared"]
