"""When to try again: auto-debit retry dates and the re-query backoff of open payments.

Auto-debit: the first attempt on the due date, then retries `RETRY_OFFSETS` days after
it (+1, +3 by default) when the card had insufficient funds. After the last one the
instalment is left to collections: debiting a card every day trains borrowers to keep it
empty and costs a fee per attempt.

Re-query: an instruction whose outcome is unknown (or still processing at the channel)
is asked about again after `delay(n)` seconds, doubling up to a cap. After `max_checks`
checks without an answer it goes to the operations queue: a human decides, nothing
resends it to another channel on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

RETRY_OFFSETS: tuple[int, ...] = (0, 1, 3)


def auto_debit_date(due_date: date, attempt: int, offsets: tuple[int, ...] = RETRY_OFFSETS) -> date | None:
    """The business date of auto-debit attempt `attempt` (1-based), None past the last."""
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    if attempt > len(offsets):
        return None
    return due_date + timedelta(days=offsets[attempt - 1])


def next_auto_debit(
    due_date: date, failed_attempt: int, offsets: tuple[int, ...] = RETRY_OFFSETS
) -> tuple[int, date] | None:
    """After attempt `failed_attempt` failed for lack of funds: (next attempt, its date) or None."""
    nxt = failed_attempt + 1
    when = auto_debit_date(due_date, nxt, offsets)
    return None if when is None else (nxt, when)


def attempt_due_on(
    due_date: date, business_date: date, offsets: tuple[int, ...] = RETRY_OFFSETS
) -> int | None:
    """Which attempt number falls on `business_date` for an instalment due on `due_date`."""
    delta = (business_date - due_date).days
    return offsets.index(delta) + 1 if delta in offsets else None


@dataclass(frozen=True)
class RequeryPolicy:
    first_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 600.0
    max_checks: int = 10

    def delay(self, checks_done: int) -> float:
        """Seconds to wait before check number `checks_done + 1`."""
        if checks_done < 0:
            raise ValueError("checks_done must not be negative")
        return float(min(self.max_delay, self.first_delay * self.factor**checks_done))

    def exhausted(self, checks_done: int) -> bool:
        return checks_done >= self.max_checks

    def total_wait(self) -> float:
        """How long an unanswered instruction waits before it reaches the operations queue."""
        return sum(self.delay(i) for i in range(self.max_checks))
