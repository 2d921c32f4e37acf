"""Channel health: EWMA of success and latency."""

from __future__ import annotations

import pytest

from lendbridge.payments.health import ChannelHealth


def test_starts_optimistic() -> None:
    s = ChannelHealth(initial_latency_ms=40).snapshot()
    assert s.success_rate == 1.0 and s.latency_ms == 40 and s.calls == 0


def test_failures_pull_the_success_rate_down_and_recover() -> None:
    h = ChannelHealth(alpha=0.5, clock=lambda: 0.0)  # no idle recovery between the calls
    h.record(False, 10)
    h.record(False, 10)
    assert h.snapshot().success_rate == pytest.approx(0.25)
    for _ in range(10):
        h.record(True, 10)
    assert h.snapshot().success_rate > 0.99


def test_latency_is_a_moving_average() -> None:
    h = ChannelHealth(alpha=0.5, initial_latency_ms=0, clock=lambda: 0.0)
    h.record(True, 100)
    h.record(True, 100)
    assert h.snapshot().latency_ms == pytest.approx(75)
    assert h.snapshot().calls == 2


def test_alpha_is_validated() -> None:
    with pytest.raises(ValueError):
        ChannelHealth(alpha=0)


def test_an_idle_channel_recovers_so_it_can_win_traffic_back() -> None:
    t = [0.0]
    h = ChannelHealth(alpha=0.5, initial_latency_ms=20, recovery_seconds=10, clock=lambda: t[0])
    h.record(False, 2000)
    assert h.snapshot().success_rate == pytest.approx(0.5)
    t[0] = 10.0
    s = h.snapshot()
    assert s.success_rate == pytest.approx(1 - 0.5 / 2.718281828, rel=1e-6)
    assert 20 < s.latency_ms < 1010
    t[0] = 1000.0
    assert h.snapshot().success_rate == pytest.approx(1.0) and h.snapshot().latency_ms == pytest.approx(20)


def test_recovery_time_is_validated() -> None:
    with pytest.raises(ValueError):
        ChannelHealth(recovery_seconds=0)
