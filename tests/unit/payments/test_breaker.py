"""Circuit breaker transitions with an injected clock (no sleeping)."""

from __future__ import annotations

import pytest

from lendbridge.payments.breaker import BreakerConfig, BreakerState, CircuitBreaker


def state(b: CircuitBreaker) -> BreakerState:
    """The breaker's state, read afresh (a plain attribute read would let mypy narrow it)."""
    return b.state


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def breaker(**kw: object) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    cfg = BreakerConfig(**{"failure_threshold": 3, "open_seconds": 5.0, **kw})  # type: ignore[arg-type]
    return CircuitBreaker("ch", cfg, clock), clock


def test_closed_until_the_threshold_of_consecutive_failures() -> None:
    b, _ = breaker()
    b.failure()
    b.failure()
    assert state(b) is BreakerState.CLOSED and b.allow()
    b.failure()
    assert state(b) is BreakerState.OPEN and not b.allow()


def test_a_success_resets_the_run() -> None:
    b, _ = breaker()
    b.failure()
    b.failure()
    b.success()
    b.failure()
    b.failure()
    assert state(b) is BreakerState.CLOSED


def test_open_becomes_half_open_after_the_open_period() -> None:
    b, clock = breaker()
    for _ in range(3):
        b.failure()
    clock.t += 4.9
    assert state(b) is BreakerState.OPEN and b.retry_in() == pytest.approx(0.1)
    clock.t += 0.1
    assert state(b) is BreakerState.HALF_OPEN and b.retry_in() == 0


def test_half_open_lets_one_probe_through_and_a_success_closes() -> None:
    b, clock = breaker()
    for _ in range(3):
        b.failure()
    clock.t += 5
    assert b.allow()
    assert not b.allow()  # one trial at a time
    b.success()
    assert state(b) is BreakerState.CLOSED and b.allow()


def test_a_failed_probe_opens_again_for_a_full_period() -> None:
    b, clock = breaker()
    for _ in range(3):
        b.failure()
    clock.t += 5
    assert b.allow()
    b.failure()
    assert state(b) is BreakerState.OPEN
    clock.t += 4
    assert state(b) is BreakerState.OPEN
    clock.t += 1
    assert state(b) is BreakerState.HALF_OPEN


def test_a_high_failure_rate_opens_without_a_long_run() -> None:
    b, _ = breaker(failure_threshold=100, failure_rate=0.5, window=10, min_calls=10)
    for i in range(10):
        (b.failure if i % 2 else b.success)()
    assert state(b) is BreakerState.OPEN


def test_transitions_are_logged_with_reasons() -> None:
    b, clock = breaker()
    for _ in range(3):
        b.failure()
    clock.t += 5
    b.allow()
    b.success()
    moves = [(t.from_state, t.to_state) for t in b.transitions]
    assert moves == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]
    assert "3 failures" in b.transitions[0].reason


def test_force_open_and_reset() -> None:
    b, _ = breaker()
    b.force_open()
    assert not b.allow()
    b.reset()
    assert state(b) is BreakerState.CLOSED and b.allow()


@pytest.mark.parametrize("bad", [{"failure_threshold": 0}, {"failure_rate": 0}, {"open_seconds": -1}])
def test_config_is_validated(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BreakerConfig(**bad)  # type: ignore[arg-type]
