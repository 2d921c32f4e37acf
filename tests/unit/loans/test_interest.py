"""The one interest function: monthly interest, daily interest and pro-rata accrual."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.core.money import Fen
from lendbridge.loans.interest import (
    accrued_to_date,
    daily_accrual,
    interest_for_days,
    interest_on_balance_days,
    monthly_interest,
    pro_rata,
)
from lendbridge.loans.terms import DayCount


def test_monthly_interest_is_balance_times_annual_over_twelve_rounded_half_up() -> None:
    assert monthly_interest(Fen(1_000_000), Decimal("0.06")) == 5000
    assert monthly_interest(Fen(916_667), Decimal("0.06")) == 4583  # 4583.335
    assert monthly_interest(Fen(100), Decimal("0.06")) == 1  # exactly 0.5 rounds up
    assert monthly_interest(Fen(1_000_000), Decimal("0.0435"), months=3) == 10875


def test_rates_that_do_not_divide_by_twelve_are_not_rounded_early() -> None:
    # 0.05 / 12 is a recurring decimal; multiplying first keeps the tie exact.
    assert monthly_interest(Fen(1_200_000), Decimal("0.05")) == 5000
    assert monthly_interest(Fen(6), Decimal("1")) == 1  # 0.5 exactly


def test_daily_interest_uses_the_day_count() -> None:
    assert interest_for_days(Fen(1_000_000), Decimal("0.18"), 30) == 15000
    assert interest_for_days(Fen(1_000_000), Decimal("0.18"), 30, DayCount.ACT_365) == 14795  # 14794.52
    assert interest_for_days(Fen(1_000_000), Decimal("0.18"), -3) == 0
    assert interest_on_balance_days(1_000_000 * 30, Decimal("0.18")) == 15000


def test_pro_rata_rounds_half_up_and_clamps() -> None:
    assert pro_rata(Fen(5), 1, 2) == 3
    assert pro_rata(Fen(100), -1, 30) == 0
    assert pro_rata(Fen(100), 31, 30) == 100
    with pytest.raises(ValueError, match="positive"):
        pro_rata(Fen(100), 1, 0)


def test_accrual_is_zero_at_period_start_and_complete_on_the_due_date() -> None:
    start, due = date(2026, 1, 15), date(2026, 2, 15)
    assert accrued_to_date(Fen(5000), start, due, start) == 0
    assert accrued_to_date(Fen(5000), start, due, start - timedelta(days=5)) == 0
    assert accrued_to_date(Fen(5000), start, due, date(2026, 1, 31)) == 2581  # 5000 x 16/31
    assert accrued_to_date(Fen(5000), start, due, due) == 5000
    assert accrued_to_date(Fen(5000), start, due, due + timedelta(days=9)) == 5000


@settings(max_examples=100, deadline=None)
@given(
    interest=st.integers(min_value=0, max_value=10_000_000),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 1, 1)),
    days=st.integers(min_value=1, max_value=400),
)
def test_daily_accruals_of_a_period_sum_to_its_interest(interest: int, start: date, days: int) -> None:
    due = start + timedelta(days=days)
    accruals = [
        daily_accrual(Fen(interest), start, due, start + timedelta(days=d)) for d in range(1, days + 1)
    ]

    assert sum(accruals) == interest
    assert all(a >= 0 for a in accruals)
    # Restartable: recomputing a day gives the same posting; days outside the period post nothing.
    assert daily_accrual(Fen(interest), start, due, due) == accruals[-1]
    assert daily_accrual(Fen(interest), start, due, start) == 0
    assert daily_accrual(Fen(interest), start, due, due + timedelta(days=1)) == 0
