"""Real services for tests: PostgreSQL and Redis on localhost.

With CI=true a missing service fails the test run; locally the tests that need it skip
with a message naming the service.
"""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest

POSTGRES_URL = os.environ.get("LENDBRIDGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LENDBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(service: str) -> None:
    """Fail (CI) or skip (local) when `service` ('postgresql' or 'redis') is not running."""
    host, port = ("127.0.0.1", 5432) if service == "postgresql" else ("127.0.0.1", 6379)
    if _reachable(host, port):
        return
    unavailable(f"{service} is not reachable on {host}:{port}", f"start {service} to run this test")


def unavailable(message: str, remedy: str) -> NoReturn:
    """Something a test needs is missing: fail under CI=true, skip (saying why) locally."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(f"{message}; {remedy}")
