"""The retry schedule, its jitter, and when an endpoint is given up on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lendbridge.webhooks.retries import (
    DISABLE_AFTER,
    MAX_ATTEMPTS,
    SCHEDULE,
    Outcome,
    classify,
    retry_delay,
    should_disable,
)

NOMINAL = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]


def test_schedule_is_immediately_then_5s_5min_30min_2h_5h_10h_14h_20h_24h() -> None:
    assert [int(d.total_seconds()) for d in SCHEDULE] == [0, *NOMINAL]
    assert MAX_ATTEMPTS == 10


@pytest.mark.parametrize(("attempts_made", "nominal"), list(enumerate(NOMINAL, start=1)))
def test_each_delay_is_the_schedule_plus_minus_ten_percent(attempts_made: int, nominal: int) -> None:
    low = retry_delay(attempts_made, 0.0)
    middle = retry_delay(attempts_made, 0.5)
    high = retry_delay(attempts_made, 0.999999)
    assert low is not None and middle is not None and high is not None
    assert low.total_seconds() == pytest.approx(nominal * 0.9)
    assert middle.total_seconds() == pytest.approx(nominal)
    assert high.total_seconds() == pytest.approx(nominal * 1.1, rel=1e-5)
    assert low < middle < high


def test_no_retry_after_the_tenth_attempt() -> None:
    assert retry_delay(MAX_ATTEMPTS - 1, 0.5) is not None
    assert retry_delay(MAX_ATTEMPTS, 0.5) is None
    assert retry_delay(MAX_ATTEMPTS + 5, 0.5) is None


def test_whole_schedule_spans_about_three_days() -> None:
    total = sum((retry_delay(n, 0.5) or timedelta(0) for n in range(1, MAX_ATTEMPTS)), timedelta(0))
    assert timedelta(days=3) <= total <= timedelta(days=3, hours=6)


@pytest.mark.parametrize(("attempts", "rand"), [(0, 0.5), (-1, 0.5), (1, 1.0), (1, -0.1)])
def test_bad_arguments_are_refused(attempts: int, rand: float) -> None:
    with pytest.raises(ValueError):
        retry_delay(attempts, rand)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.DELIVERED),
        (201, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (299, Outcome.DELIVERED),
        (410, Outcome.GONE),
        (None, Outcome.RETRY),
        (199, Outcome.RETRY),
        (301, Outcome.RETRY),
        (400, Outcome.RETRY),
        (404, Outcome.RETRY),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
    ],
)
def test_only_2xx_delivers_and_only_410_means_gone(status: int | None, outcome: Outcome) -> None:
    assert classify(status) is outcome


def test_endpoint_is_disabled_after_five_days_of_failures_not_before() -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert not should_disable(None, now)
    assert not should_disable(now - DISABLE_AFTER + timedelta(seconds=1), now)
    assert should_disable(now - DISABLE_AFTER, now)
    assert should_disable(now - timedelta(days=9), now)
