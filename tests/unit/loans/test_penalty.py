"""Penalty interest on overdue principal, daily and cumulative."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.loans.penalty import daily_penalty, penalty_accrued
from lendbridge.loans.terms import DayCount

DUE = date(2026, 3, 10)


def test_penalty_starts_the_day_after_the_due_date() -> None:
    assert penalty_accrued(Fen(100_000), Decimal("0.18"), DUE, DUE) == 0
    assert penalty_accrued(Fen(100_000), Decimal("0.18"), DUE, DUE - timedelta(days=3)) == 0
    assert (
        penalty_accrued(Fen(100_000), Decimal("0.18"), DUE, DUE + timedelta(days=1)) == 50
    )  # 100,000 x 0.18 / 360
    assert (
        penalty_accrued(Fen(100_000), Decimal("0.18"), DUE, DUE + timedelta(days=10), DayCount.ACT_365) == 493
    )


def test_penalty_rates_may_exceed_contract_rates_but_not_without_bound() -> None:
    assert penalty_accrued(Fen(100_000), Decimal("1.5"), DUE, DUE + timedelta(days=1)) == 417
    with pytest.raises(InvalidParameter) as raised:
        penalty_accrued(Fen(100_000), Decimal("3"), DUE, DUE)
    assert raised.value.param == "penalty_rate"


@settings(max_examples=60, deadline=None)
@given(
    principal=st.integers(min_value=0, max_value=500_000_000),
    rate=st.decimals(min_value=0, max_value=Decimal("0.36"), places=4),
    days=st.integers(min_value=1, max_value=200),
)
def test_daily_penalties_sum_to_the_accrued_penalty(principal: int, rate: Decimal, days: int) -> None:
    daily = [daily_penalty(Fen(principal), rate, DUE, DUE + timedelta(days=d)) for d in range(1, days + 1)]
    assert sum(daily) == penalty_accrued(Fen(principal), rate, DUE, DUE + timedelta(days=days))
    assert all(amount >= 0 for amount in daily)
