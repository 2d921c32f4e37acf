"""The one clock every time-dependent piece of code reads.

Timestamps are timezone-aware UTC; business dates are calendar dates in Asia/Shanghai.
Test clocks (sandbox) implement the same protocol, so accrual, due dates and expiry run
against frozen or advanced time without special cases.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


def business_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an instant."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: timestamps must be timezone-aware")
    return instant.astimezone(BUSINESS_TZ).date()


def start_of_business_day(day: date) -> datetime:
    """00:00 Asia/Shanghai of `day`, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=BUSINESS_TZ).astimezone(UTC)


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (unit tests, test clocks)."""

    def __init__(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("naive datetime: timestamps must be timezone-aware")
        self._instant = instant.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._instant

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("naive datetime: timestamps must be timezone-aware")
        with self._lock:
            self._instant = instant.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._instant += delta


def to_unix(instant: datetime) -> int:
    """Whole seconds since the epoch; the API's `created` fields use this."""
    return int(instant.timestamp())


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
