"""Penalty interest (罚息) on overdue principal, accrued daily at the product's penalty rate.

An instalment's principal unpaid at the end of its due date is overdue from the next day;
each day past due adds `principal * penalty_rate / days_in_year` (ACT/360 by default).
Like scheduled interest, the amount is cumulative and rounded once: a day's penalty is
`accrued(day) - accrued(day - 1)`, so re-running a date is harmless and the days add up
to the total. When a partial payment lowers the overdue principal, the caller starts a
new segment from that date with the lower amount.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from lendbridge.core.money import Fen
from lendbridge.loans.interest import interest_for_days
from lendbridge.loans.terms import DayCount, require_fen, require_rate

# Penalty rates are often quoted as a markup of the contract rate (e.g. +50 %), so they
# may exceed the cap on contract rates; they are still capped by law at product level.
MAX_PENALTY_RATE = Decimal(2)


def penalty_accrued(
    overdue_principal: Fen,
    penalty_rate: Decimal,
    overdue_since: date,
    as_of: date,
    day_count: DayCount = DayCount.ACT_360,
) -> Fen:
    """Penalty on `overdue_principal` for the days from `overdue_since` through `as_of`.

    `overdue_since` is the due date: the first penalty day is the day after it.
    """
    require_fen(overdue_principal, "overdue_principal")
    require_rate(penalty_rate, "penalty_rate", maximum=MAX_PENALTY_RATE)
    return interest_for_days(overdue_principal, penalty_rate, (as_of - overdue_since).days, day_count)


def daily_penalty(
    overdue_principal: Fen,
    penalty_rate: Decimal,
    overdue_since: date,
    day: date,
    day_count: DayCount = DayCount.ACT_360,
) -> Fen:
    """The penalty to post for `day` alone."""
    today = penalty_accrued(overdue_principal, penalty_rate, overdue_since, day, day_count)
    yesterday = penalty_accrued(
        overdue_principal, penalty_rate, overdue_since, day - timedelta(days=1), day_count
    )
    return Fen(today - yesterday)
