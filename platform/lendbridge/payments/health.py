"""Live health of a channel: success rate and latency as exponentially weighted averages.

EWMA because it needs no window storage, reacts within a few calls, and forgets old
incidents smoothly. A fresh channel starts optimistic (success 1.0, latency = its
declared typical latency) so that it gets traffic and thereby real figures.

Idle recovery: routing sends traffic away from a channel whose figures are bad, so that
channel would get no calls that could improve them and would never win traffic back.
Its figures therefore drift back toward the optimistic start while it is idle, with time
constant `recovery_seconds` (after that long, two thirds of the damage is forgotten). The
clock is injected, like the breaker's.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HealthSnapshot:
    success_rate: float
    latency_ms: float
    calls: int


class ChannelHealth:
    def __init__(
        self,
        *,
        alpha: float = 0.1,
        initial_latency_ms: float = 50.0,
        recovery_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < alpha <= 1:
            raise ValueError("alpha must be in (0, 1]")
        if recovery_seconds <= 0:
            raise ValueError("recovery_seconds must be positive")
        self.alpha = alpha
        self.recovery_seconds = recovery_seconds
        self._baseline_latency = float(initial_latency_ms)
        self._clock = clock
        self._success = 1.0
        self._latency = float(initial_latency_ms)
        self._calls = 0
        self._at = clock()
        self._lock = threading.Lock()

    def _decayed(self, now: float) -> tuple[float, float]:
        keep = math.exp(-max(0.0, now - self._at) / self.recovery_seconds)
        success = 1.0 - (1.0 - self._success) * keep
        latency = self._baseline_latency + (self._latency - self._baseline_latency) * keep
        return success, latency

    def record(self, ok: bool, latency_ms: float) -> None:
        """One call: `ok` False for channel faults (timeouts, unreachable, system errors)."""
        a = self.alpha
        with self._lock:
            now = self._clock()
            success, latency = self._decayed(now)
            self._calls += 1
            self._success = (1 - a) * success + a * (1.0 if ok else 0.0)
            self._latency = (1 - a) * latency + a * max(0.0, latency_ms)
            self._at = now

    def snapshot(self) -> HealthSnapshot:
        with self._lock:
            success, latency = self._decayed(self._clock())
            return HealthSnapshot(success, latency, self._calls)
