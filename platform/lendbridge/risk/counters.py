"""Sliding-window distinct counters for anti-fraud rules (the CounterStore port).

Redis in production: one sorted set per key (member -> last seen), and one MULTI/EXEC
pipeline per call (ZREMRANGEBYSCORE, ZADD, ZCARD, EXPIRE), so each call is atomic and
concurrent applications on several servers count each other. In embedded mode the same
semantics live in memory behind a lock.

Counters are written before the decision commits; a request that then fails leaves its
member counted. That errs on the side of caution and a retry of the same application
does not count twice (members are borrower or application ids).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any


class MemoryCounterStore:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def add_and_count(self, key: str, member: str, at: float, window_seconds: float) -> int:
        with self._lock:
            members = self._data.setdefault(key, {})
            members[member] = max(at, members.get(member, at))
            floor = at - window_seconds
            for m in [m for m, t in members.items() if t <= floor]:
                del members[m]
            return len(members)

    def add_and_count_many(self, items: Sequence[tuple[str, str, float]], at: float) -> list[int]:
        return [self.add_and_count(key, member, at, window) for key, member, window in items]


class RedisCounterStore:
    def __init__(self, client: Any, prefix: str = "lendbridge:risk:") -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str) -> RedisCounterStore:
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5))

    def add_and_count(self, key: str, member: str, at: float, window_seconds: float) -> int:
        return self.add_and_count_many([(key, member, window_seconds)], at)[0]

    def add_and_count_many(self, items: Sequence[tuple[str, str, float]], at: float) -> list[int]:
        # One MULTI/EXEC for all keys: atomic as a whole, one network round trip.
        pipe = self.client.pipeline(transaction=True)
        for key, member, window in items:
            full = self.prefix + key
            pipe.zremrangebyscore(full, "-inf", at - window)
            pipe.zadd(full, {member: at}, gt=True)
            pipe.zadd(full, {member: at}, nx=True)
            pipe.zcard(full)
            pipe.expire(full, max(1, math.ceil(window)))
        result = pipe.execute()
        return [int(result[5 * n + 3]) for n in range(len(items))]
