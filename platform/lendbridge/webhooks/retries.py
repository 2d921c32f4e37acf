"""When to try a webhook delivery again, and when to give up on an endpoint (pure).

The schedule is the delay before each attempt: the first goes out at once, the second
5 seconds after the first failed, then 5 minutes, ... up to 24 hours; ten attempts span
about three days. Delays carry +/-10 % jitter so that a receiver that comes back after
an outage is not hit by every queued retry in the same second.

An endpoint that has failed every attempt for five days straight is disabled (and the
partner notified); a 410 Gone answer disables it at once: the receiver said it is gone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

SCHEDULE: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(SCHEDULE)
JITTER = 0.1
DISABLE_AFTER = timedelta(days=5)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    GONE = "gone"
    RETRY = "retry"


def classify(status: int | None) -> Outcome:
    """2xx is delivered, 410 means the endpoint is gone, anything else (or no answer) retries."""
    if status is not None and 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 410:
        return Outcome.GONE
    return Outcome.RETRY


def retry_delay(attempts_made: int, rand: float) -> timedelta | None:
    """The wait before the next attempt after `attempts_made` failed ones; None when exhausted.

    `rand` is a uniform number in [0, 1) that picks the jitter (pass `random.random()`).
    """
    if attempts_made < 1:
        raise ValueError("attempts_made counts attempts already made: at least 1")
    if not 0 <= rand < 1:
        raise ValueError("rand must be in [0, 1)")
    if attempts_made >= MAX_ATTEMPTS:
        return None
    base = SCHEDULE[attempts_made]
    return base * (1 - JITTER + 2 * JITTER * rand)


def should_disable(failing_since: datetime | None, now: datetime) -> bool:
    """Whether an endpoint failing without a success since `failing_since` is to be disabled."""
    return failing_since is not None and now - failing_since >= DISABLE_AFTER
