"""A circuit breaker per channel: closed -> open -> half-open -> closed.

    closed     calls flow; failures are counted. `failure_threshold` failures in a row, or
               a failure rate of `failure_rate` over the last `window` calls (at least
               `min_calls` of them), open it.
    open       calls are refused (routing skips the channel, traffic goes to the backup)
               until `open_seconds` have passed; then it is half-open.
    half_open  up to `half_open_trials` calls at a time are let through as probes. A probe
               that succeeds closes it; one that fails opens it again for `open_seconds`.

The clock is injected (`Callable[[], float]`, seconds, monotonic), so tests drive every
transition without sleeping. Only channel faults count as failures (codes.py): a card
with insufficient funds says nothing about the channel's health.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

MonotonicClock = Callable[[], float]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: int = 3
    failure_rate: float = 0.5
    window: int = 20
    min_calls: int = 10
    open_seconds: float = 5.0
    half_open_trials: int = 1

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.window < 1 or self.min_calls < 1 or self.half_open_trials < 1:
            raise ValueError("breaker thresholds must be positive")
        if not 0 < self.failure_rate <= 1 or self.open_seconds < 0:
            raise ValueError("failure_rate in (0, 1], open_seconds >= 0")


@dataclass(frozen=True)
class BreakerTransition:
    at: float
    from_state: BreakerState
    to_state: BreakerState
    reason: str


class CircuitBreaker:
    """Thread-safe; `allow()` before a call, then exactly one of `success()` / `failure()`."""

    def __init__(
        self, name: str, config: BreakerConfig | None = None, clock: MonotonicClock = time.monotonic
    ) -> None:
        self.name = name
        self.config = config or BreakerConfig()
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._consecutive = 0
        self._recent: deque[bool] = deque(maxlen=self.config.window)  # True = failure
        self._trials = 0
        self.transitions: deque[BreakerTransition] = deque(maxlen=100)

    # -- reading -------------------------------------------------------------------------
    @property
    def state(self) -> BreakerState:
        with self._lock:
            self._tick()
            return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        with self._lock:
            self._tick()
            if self._state is not BreakerState.OPEN:
                return 0.0
            return max(0.0, self._opened_at + self.config.open_seconds - self._clock())

    # -- the call protocol ------------------------------------------------------------------
    def allow(self) -> bool:
        """Whether a call may go to the channel now (a half-open probe counts as a trial)."""
        with self._lock:
            self._tick()
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.HALF_OPEN and self._trials < self.config.half_open_trials:
                self._trials += 1
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._tick()
            self._consecutive = 0
            self._recent.append(False)
            if self._state is BreakerState.HALF_OPEN:
                self._trials = max(0, self._trials - 1)
                self._move(BreakerState.CLOSED, "probe succeeded")
                self._recent.clear()

    def failure(self) -> None:
        with self._lock:
            self._tick()
            self._consecutive += 1
            self._recent.append(True)
            if self._state is BreakerState.HALF_OPEN:
                self._trials = max(0, self._trials - 1)
                self._open("probe failed")
            elif self._state is BreakerState.CLOSED and self._should_open():
                self._open(
                    f"{self._consecutive} failures in a row" if self._tripped_by_run() else "failure rate"
                )

    def force_open(self, reason: str = "forced") -> None:
        with self._lock:
            self._open(reason)

    def reset(self) -> None:
        with self._lock:
            self._consecutive, self._trials = 0, 0
            self._recent.clear()
            if self._state is not BreakerState.CLOSED:
                self._move(BreakerState.CLOSED, "reset")

    # -- internals (lock held) -------------------------------------------------------------
    def _tick(self) -> None:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.config.open_seconds:
            self._trials = 0
            self._move(BreakerState.HALF_OPEN, "open period elapsed")

    def _tripped_by_run(self) -> bool:
        return self._consecutive >= self.config.failure_threshold

    def _should_open(self) -> bool:
        if self._tripped_by_run():
            return True
        calls = len(self._recent)
        return calls >= self.config.min_calls and sum(self._recent) / calls >= self.config.failure_rate

    def _open(self, reason: str) -> None:
        self._opened_at = self._clock()
        self._trials = 0
        if self._state is not BreakerState.OPEN:
            self._move(BreakerState.OPEN, reason)

    def _move(self, to: BreakerState, reason: str) -> None:
        self.transitions.append(BreakerTransition(self._clock(), self._state, to, reason))
        self._state = to
